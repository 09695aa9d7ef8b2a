import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Routing by age: the part of each read's priority that waiting earned (RoutingService.agePriorities adds it and
 * keeps it up to date), kept apart so the job can recompute it without touching what managers, the pre-label
 * uncertainty, rework and adjudication put there.
 */
export class AgePriority1795750000000 implements MigrationInterface {
  name = 'AgePriority1795750000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "task_reads" ADD "age_boost" integer NOT NULL DEFAULT '0'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE "task_reads" SET "priority" = "priority" - "age_boost"`);
    await queryRunner.query(`ALTER TABLE "task_reads" DROP COLUMN "age_boost"`);
  }
}
