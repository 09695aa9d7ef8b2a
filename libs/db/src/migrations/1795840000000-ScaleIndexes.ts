import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for queries whose cost grew with the project (measured at 100,000 tasks, 408,000 instances and 520,000
 * audit events):
 * - the ingest job's check of which received files are still needed looked each content key up in instances and
 *   ingest_items without an index: a scan of each per key, 1.2 s per job of 8 files;
 * - the claim index is split by pool, annotation slots and review/adjudication slots: a reviewer asking while no
 *   review waited walked every open annotation slot (110 ms with 85,000);
 * - the lease expiry sweep (every 15 s) scanned every read ever made to find the leased ones;
 * - a task's history looked its audit lines up by `details ->> 'taskId'`: a scan of the whole audit log;
 * - the privacy review queue (polled by the ingest tab) scanned every image of the project for the flagged few;
 * - a QIDO study list sorted every study of the project to answer a page (studies in answer order now);
 * - an annotator's inbox fetched and sorted every read they ever made.
 */
export class ScaleIndexes1795840000000 implements MigrationInterface {
  name = 'ScaleIndexes1795840000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "instances_blob_key" ON "instances" ("blob_key")`);
    await queryRunner.query(`CREATE INDEX "ingest_items_raw_blob_key" ON "ingest_items" ("raw_blob_key")`);
    await queryRunner.query('DROP INDEX "public"."task_reads_claim"');
    await queryRunner.query(
      `CREATE INDEX "task_reads_claim" ON "task_reads" ("project_id", "priority" DESC, "task_created_at", "slot") WHERE "state" = 'open' AND "assigned_to" IS NULL AND "kind" = 'annotation'`,
    );
    await queryRunner.query(
      `CREATE INDEX "task_reads_claim_review" ON "task_reads" ("project_id", "priority" DESC, "task_created_at", "slot") WHERE "state" = 'open' AND "assigned_to" IS NULL AND "kind" <> 'annotation'`,
    );
    await queryRunner.query(`CREATE INDEX "task_reads_leased" ON "task_reads" ("lease_expires_at") WHERE "state" = 'leased'`);
    await queryRunner.query(`CREATE INDEX "audit_events_task" ON "audit_events" (("details" ->> 'taskId')) WHERE ("details" ->> 'taskId') IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "instances_flagged" ON "instances" ("project_id", "created_at", "id") WHERE "flags" <> '{}'`);
    await queryRunner.query(`CREATE INDEX "studies_qido" ON "studies" ("project_id", "study_date", "study_instance_uid")`);
    await queryRunner.query(`CREATE INDEX "task_reads_annotator" ON "task_reads" ("annotator_id", "project_id", "submitted_at" DESC NULLS LAST)`);
    await queryRunner.query(`CREATE INDEX "task_reads_annotator_active" ON "task_reads" ("annotator_id") WHERE "state" IN ('leased', 'open')`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."task_reads_annotator_active"');
    await queryRunner.query('DROP INDEX "public"."task_reads_annotator"');
    await queryRunner.query('DROP INDEX "public"."studies_qido"');
    await queryRunner.query('DROP INDEX "public"."instances_flagged"');
    await queryRunner.query('DROP INDEX "public"."audit_events_task"');
    await queryRunner.query('DROP INDEX "public"."task_reads_leased"');
    await queryRunner.query('DROP INDEX "public"."task_reads_claim_review"');
    await queryRunner.query('DROP INDEX "public"."task_reads_claim"');
    await queryRunner.query(`CREATE INDEX "task_reads_claim" ON "task_reads" ("project_id", "priority" DESC, "task_created_at", "slot") WHERE "state" = 'open' AND "assigned_to" IS NULL`);
    await queryRunner.query('DROP INDEX "public"."ingest_items_raw_blob_key"');
    await queryRunner.query('DROP INDEX "public"."instances_blob_key"');
  }
}
