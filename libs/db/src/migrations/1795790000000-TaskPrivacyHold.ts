import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tasks made before one of their images was held for a privacy review are held too (tasks.privacy_held): not
 * offered, assigned or submitted to until the image is cleared. Existing unfinished tasks are marked from their
 * project's hold setting as it stands (the flags each setting holds, as heldFlags() in libs/deid had them when this
 * was written), and the submission function refuses a held task (its caller explains why).
 */
export class TaskPrivacyHold1795790000000 implements MigrationInterface {
  name = 'TaskPrivacyHold1795790000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tasks" ADD "privacy_held" boolean NOT NULL DEFAULT false`);
    await queryRunner.query(
      `UPDATE "tasks" t SET "privacy_held" = true
         FROM "projects" p
        WHERE p."id" = t."project_id" AND t."state" NOT IN ('approved', 'cancelled')
          AND EXISTS (
            SELECT 1 FROM "instances" i
             WHERE i."series_id" = ANY(t."series_ids")
               AND COALESCE(i."attributes" #>> '{privacyReview,decision}', '') <> 'clear'
               AND (COALESCE(i."attributes" #>> '{privacyReview,decision}', '') = 'exclude'
                    OR COALESCE(i."flags" && (CASE COALESCE(p."settings" #>> '{deid,burnedInHold}', 'declared')
                         WHEN 'all' THEN ARRAY['burned-in-annotation', 'review-burned-in']
                         WHEN 'none' THEN ARRAY[]::text[]
                         ELSE ARRAY['burned-in-annotation'] END), false)))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tasks" DROP COLUMN "privacy_held"`);
  }
}
