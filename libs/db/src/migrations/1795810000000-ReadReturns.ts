import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reads that come back to the pool: an annotator's open reads whose lease lapsed are found by their previous holder
 * (RoutingService's claim offers them back first), and a read given back remembers who declined it.
 */
export class ReadReturns1795810000000 implements MigrationInterface {
  name = 'ReadReturns1795810000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "task_reads_lapsed" ON "task_reads" ("previous_annotator_id") WHERE "state" = 'open' AND "previous_annotator_id" IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE "task_reads" ADD "declined_by" uuid array NOT NULL DEFAULT '{}'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "task_reads" DROP COLUMN "declined_by"`);
    await queryRunner.query('DROP INDEX "public"."task_reads_lapsed"');
  }
}
