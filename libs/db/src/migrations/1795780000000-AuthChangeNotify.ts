import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tells every coordinator when what a credential resolves to may have changed, so their credential caches
 * (PrincipalCache) forget it: any change to users, project memberships or projects, and a token's revocation,
 * expiry or deletion (not its last-used time, written once a minute while it is used). The notification goes out
 * when the change commits, whoever makes it (the API, a script, psql).
 */
export class AuthChangeNotify1795780000000 implements MigrationInterface {
  name = 'AuthChangeNotify1795780000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE OR REPLACE FUNCTION contour_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
       BEGIN
         PERFORM pg_notify('contour_auth', TG_TABLE_NAME);
         RETURN NULL;
       END
       $fn$`,
    );
    for (const table of ['users', 'project_members', 'projects']) {
      await queryRunner.query(`CREATE TRIGGER "${table}_auth_changed" AFTER INSERT OR UPDATE OR DELETE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION contour_auth_changed()`);
      await queryRunner.query(`CREATE TRIGGER "${table}_auth_truncated" AFTER TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION contour_auth_changed()`);
    }
    await queryRunner.query(
      `CREATE TRIGGER "api_tokens_auth_changed" AFTER UPDATE OF "revoked_at", "expires_at", "token_hash", "user_id" OR DELETE ON "api_tokens" FOR EACH STATEMENT EXECUTE FUNCTION contour_auth_changed()`,
    );
    await queryRunner.query(`CREATE TRIGGER "api_tokens_auth_truncated" AFTER TRUNCATE ON "api_tokens" FOR EACH STATEMENT EXECUTE FUNCTION contour_auth_changed()`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['users', 'project_members', 'projects', 'api_tokens']) {
      await queryRunner.query(`DROP TRIGGER IF EXISTS "${table}_auth_changed" ON "${table}"`);
      await queryRunner.query(`DROP TRIGGER IF EXISTS "${table}_auth_truncated" ON "${table}"`);
    }
    await queryRunner.query(`DROP FUNCTION IF EXISTS contour_auth_changed()`);
  }
}
