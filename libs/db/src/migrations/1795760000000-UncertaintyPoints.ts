import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The priority points a task's draft uncertainty added, kept apart so a new draft replaces them instead of
 * adding to them, and a manager's priority (set outright) clears them. Existing tasks get the points their
 * uncertainty stands for when nobody has set their priority since.
 */
export class UncertaintyPoints1795760000000 implements MigrationInterface {
  name = 'UncertaintyPoints1795760000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tasks" ADD "uncertainty_points" integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(
      `UPDATE "tasks" t SET "uncertainty_points" = round(t."uncertainty" * 100)::int
        WHERE t."uncertainty" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "audit_events" a WHERE a."action" = 'task.priority' AND a."object_id" = t."id"::text)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tasks" DROP COLUMN "uncertainty_points"`);
  }
}
