import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Routing's claim query walks open, unassigned read slots in routing order with LIMIT 1 FOR UPDATE SKIP LOCKED.
 * The old index led with `kind` and stored priority ascending, so PostgreSQL sorted every open slot of the
 * project on each request (about 60 ms with 20,000 open reads); this one matches the ORDER BY exactly.
 * Push-assigned slots get their own small index.
 */
export class ClaimIndex1795740000000 implements MigrationInterface {
  name = 'ClaimIndex1795740000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."task_reads_open_queue"');
    await queryRunner.query(
      `CREATE INDEX "task_reads_claim" ON "task_reads" ("project_id", "priority" DESC, "task_created_at", "slot") WHERE "state" = 'open' AND "assigned_to" IS NULL`,
    );
    await queryRunner.query(`CREATE INDEX "task_reads_assigned" ON "task_reads" ("assigned_to") WHERE "state" = 'open' AND "assigned_to" IS NOT NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."task_reads_assigned"');
    await queryRunner.query('DROP INDEX "public"."task_reads_claim"');
    await queryRunner.query(`CREATE INDEX "task_reads_open_queue" ON "task_reads" ("project_id", "kind", "priority", "task_created_at", "slot") WHERE "state" = 'open'`);
  }
}
