import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Only the slots of tasks that take work are in the claim indexes. The slots of a task still being pre-labelled (or
 * held for a privacy review) were open and unassigned like any other, so a claim walked them and looked each one's
 * task up to skip it: with 35,000 tasks waiting for their draft, an annotator's "next" took 420 ms when no other work
 * was left, and every "next" walked them when they were older than the ready tasks.
 *
 * `task_reads.offered` mirrors, for open reads, whether the read's task takes work (contour_task_offered: a leasable
 * state, not held), kept by the database itself: a read that is inserted or becomes open copies it from its task
 * (under a share lock of the task row, so a task changing at the same time is either seen changed or waits for the
 * read), and a task whose state or hold changes sets it on its open reads (reads in other states are not claimed by
 * the pool, and get it again when they open). A read whose task cannot be seen yet (inserted in the same statement)
 * counts as offered: the claim still checks the task itself, so a read wrongly offered costs a look, never a wrong
 * lease, while one wrongly withheld would be lost.
 */
export class OfferedReads1795850000000 implements MigrationInterface {
  name = 'OfferedReads1795850000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // The states routing leases reads of (LEASABLE_STATES in libs/tasks/src/routing.service.ts; a test keeps them equal).
    await queryRunner.query(`CREATE FUNCTION contour_task_offered(p_state text, p_held boolean) RETURNS boolean LANGUAGE sql IMMUTABLE AS
      $$ SELECT p_state IN ('ready', 'in_annotation', 'rework', 'review', 'adjudication') AND NOT p_held $$`);
    await queryRunner.query(`ALTER TABLE "task_reads" ADD "offered" boolean NOT NULL DEFAULT true`);
    // The open reads of tasks that take no work (the others get it when they open).
    await queryRunner.query(`UPDATE task_reads r SET offered = false FROM tasks t WHERE t.id = r.task_id AND r.state = 'open' AND NOT contour_task_offered(t.state, t.privacy_held)`);
    await queryRunner.query(`CREATE FUNCTION contour_task_reads_offered() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.offered := COALESCE((SELECT contour_task_offered(t.state, t.privacy_held) FROM tasks t WHERE t.id = NEW.task_id FOR SHARE), true);
        RETURN NEW;
      END $$`);
    await queryRunner.query(`CREATE TRIGGER task_reads_offered BEFORE INSERT ON task_reads FOR EACH ROW EXECUTE FUNCTION contour_task_reads_offered()`);
    await queryRunner.query(`CREATE TRIGGER task_reads_reopened BEFORE UPDATE OF state ON task_reads FOR EACH ROW
      WHEN (NEW.state = 'open' AND OLD.state <> 'open') EXECUTE FUNCTION contour_task_reads_offered()`);
    // Only the task's open reads: they are the ones the claim indexes hold, and the task's other reads may be locked by
    // a transaction that waits for this task (a read's submission locks it before the task).
    await queryRunner.query(`CREATE FUNCTION contour_tasks_offered_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE task_reads SET offered = contour_task_offered(NEW.state, NEW.privacy_held) WHERE task_id = NEW.id AND state = 'open' AND offered <> contour_task_offered(NEW.state, NEW.privacy_held);
        RETURN NULL;
      END $$`);
    await queryRunner.query(`CREATE TRIGGER tasks_offered AFTER UPDATE OF state, privacy_held ON tasks FOR EACH ROW
      WHEN (contour_task_offered(OLD.state, OLD.privacy_held) IS DISTINCT FROM contour_task_offered(NEW.state, NEW.privacy_held)) EXECUTE FUNCTION contour_tasks_offered_on_update()`);
    await queryRunner.query('DROP INDEX "public"."task_reads_claim"');
    await queryRunner.query('DROP INDEX "public"."task_reads_claim_review"');
    await queryRunner.query(
      `CREATE INDEX "task_reads_claim" ON "task_reads" ("project_id", "priority" DESC, "task_created_at", "slot") WHERE "state" = 'open' AND "assigned_to" IS NULL AND "offered" AND "kind" = 'annotation'`,
    );
    await queryRunner.query(
      `CREATE INDEX "task_reads_claim_review" ON "task_reads" ("project_id", "priority" DESC, "task_created_at", "slot") WHERE "state" = 'open' AND "assigned_to" IS NULL AND "offered" AND "kind" <> 'annotation'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."task_reads_claim_review"');
    await queryRunner.query('DROP INDEX "public"."task_reads_claim"');
    await queryRunner.query(
      `CREATE INDEX "task_reads_claim" ON "task_reads" ("project_id", "priority" DESC, "task_created_at", "slot") WHERE "state" = 'open' AND "assigned_to" IS NULL AND "kind" = 'annotation'`,
    );
    await queryRunner.query(
      `CREATE INDEX "task_reads_claim_review" ON "task_reads" ("project_id", "priority" DESC, "task_created_at", "slot") WHERE "state" = 'open' AND "assigned_to" IS NULL AND "kind" <> 'annotation'`,
    );
    await queryRunner.query('DROP TRIGGER tasks_offered ON tasks');
    await queryRunner.query('DROP FUNCTION contour_tasks_offered_on_update()');
    await queryRunner.query('DROP TRIGGER task_reads_reopened ON task_reads');
    await queryRunner.query('DROP TRIGGER task_reads_offered ON task_reads');
    await queryRunner.query('DROP FUNCTION contour_task_reads_offered()');
    await queryRunner.query(`ALTER TABLE "task_reads" DROP COLUMN "offered"`);
    await queryRunner.query('DROP FUNCTION contour_task_offered(text, boolean)');
  }
}
