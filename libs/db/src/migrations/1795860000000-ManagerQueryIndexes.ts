import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for the manager's and admin's pages whose cost grew with the project (measured at 100,000 tasks, 353,000
 * label versions and 520,000 audit events):
 * - a project's audit trail is paged by id within the project (in place of the project's index): a page's ids are
 *   read from the index alone, where the whole log was walked by id (400 ms for a busy new project's first page
 *   beside an old big one) or every line of the project read and sorted;
 * - the task list is walked in its own order (priority, age, then id, which makes the order total so that pages
 *   neither repeat nor skip a task); its state is in the index so a filtered list needs no table row to skip one;
 *   deep pages and cursors read the index, not every task of the project sorted;
 * - the export's blinding check starts from the caller's reads and read versions (it looked at every task still
 *   collecting reads: 0.6-1.8 s, JIT compilation included): their assignments and lapsed leases are indexed for open
 *   reads (routing's task_reads_assigned and task_reads_lapsed), and now for the others too, in indexes of their own
 *   that routing's lookups of open reads cannot use; and the reads (and drafts) they wrote.
 */
export class ManagerQueryIndexes1795860000000 implements MigrationInterface {
  name = 'ManagerQueryIndexes1795860000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."IDX_9eb59cac2a43d0523af0e736ee"');
    await queryRunner.query(`CREATE INDEX "audit_events_project" ON "audit_events" ("project_id", "id")`);
    await queryRunner.query(`CREATE INDEX "tasks_list" ON "tasks" ("project_id", "priority" DESC, "created_at", "id") INCLUDE ("state")`);
    await queryRunner.query(`CREATE INDEX "task_reads_assigned_not_open" ON "task_reads" ("assigned_to") WHERE "state" <> 'open' AND "assigned_to" IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "task_reads_lapsed_not_open" ON "task_reads" ("previous_annotator_id") WHERE "state" <> 'open' AND "previous_annotator_id" IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "label_versions_read_author" ON "label_versions" ("author_id", "task_id") WHERE "kind" IN ('read', 'read-draft')`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."label_versions_read_author"');
    await queryRunner.query('DROP INDEX "public"."task_reads_lapsed_not_open"');
    await queryRunner.query('DROP INDEX "public"."task_reads_assigned_not_open"');
    await queryRunner.query('DROP INDEX "public"."tasks_list"');
    await queryRunner.query('DROP INDEX "public"."audit_events_project"');
    await queryRunner.query(`CREATE INDEX "IDX_9eb59cac2a43d0523af0e736ee" ON "audit_events" ("project_id") `);
  }
}
