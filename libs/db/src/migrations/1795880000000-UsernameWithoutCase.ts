import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One account per username whatever its case: "Alice" and "alice" were two accounts, so an admin could create a second
 * account that reads like someone else's. A deployment that already has such a pair is told which, to rename one of
 * each (PATCH cannot rename, so by SQL) before upgrading, rather than having the index fail on a duplicate key.
 */
export class UsernameWithoutCase1795880000000 implements MigrationInterface {
  name = 'UsernameWithoutCase1795880000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const clashes: { names: string[] }[] = await queryRunner.query(`SELECT array_agg(username ORDER BY username) AS names FROM users GROUP BY lower(username) HAVING count(*) > 1`);
    if (clashes.length) {
      throw new Error(`Usernames must differ in more than case, and these do not: ${clashes.map((c) => c.names.join(' / ')).join('; ')}. Rename one of each (UPDATE users SET username = … WHERE id = …) and start Contour again`);
    }
    await queryRunner.query(`CREATE UNIQUE INDEX "users_username_lower" ON "users" (lower("username"))`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."users_username_lower"`);
  }
}
