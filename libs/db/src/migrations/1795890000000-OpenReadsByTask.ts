import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A task's open slots, by task. When a task starts or stops taking work, the trigger of migration OfferedReads sets
 * `offered` on its open slots (`WHERE task_id = … AND state = 'open'`). In the generic plan PL/pgSQL keeps for it,
 * with the table loaded since its last ANALYZE (a project split in bulk, a new deployment), the planner ANDed the
 * task's index with `task_reads_annotator_active` (every leased or open slot of the deployment): each submission that
 * moved its task built a bitmap of all of them (50,000 open slots: 1.3 ms of the submission's 2.2 ms, most of the
 * routing benchmark's database time). This index answers the trigger's condition exactly; it gains entries only for
 * rows that are open (a slot opening, an open slot's `offered` changing), so a claim or a submission writes none.
 */
export class OpenReadsByTask1795890000000 implements MigrationInterface {
  name = 'OpenReadsByTask1795890000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "task_reads_open_by_task" ON "task_reads" ("task_id") WHERE "state" = 'open'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."task_reads_open_by_task"');
  }
}
