import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A project's reviews by their decision: the statistics count a project's reviews and join its rejected rounds, and
 * the only index on reviews was the task's, so both read every review of the deployment.
 */
export class ReviewsByProject1795920000000 implements MigrationInterface {
  name = 'ReviewsByProject1795920000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE INDEX \"reviews_project\" ON \"reviews\"  (\"project_id\", \"decision\") ");
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("DROP INDEX \"public\".\"reviews_project\"");
  }
}
