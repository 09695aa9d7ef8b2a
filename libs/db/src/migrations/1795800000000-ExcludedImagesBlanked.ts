import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An image a manager excluded after a privacy review no longer keeps the rest of its series out of annotation: the
 * series' geometry lists it (`excluded`) and its volume has the image's slices blanked. Existing series with
 * excluded images get the list (and their cached NIfTI, which shows the image, is dropped); unfinished tasks are
 * held again by the new test (an image of their series waiting for a decision, or their own image excluded), with
 * each project's hold setting as heldFlags() in libs/deid has it. Such a study's new tasks are made at its next
 * split (a new image, a decision, or a change of the project's hold setting).
 */
export class ExcludedImagesBlanked1795800000000 implements MigrationInterface {
  name = 'ExcludedImagesBlanked1795800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const excluded = (alias: string) => `COALESCE(${alias}."attributes" #>> '{privacyReview,decision}', '') = 'exclude'`;
    await queryRunner.query(
      `UPDATE "series" se
          SET "geometry" = se."geometry" || jsonb_build_object('excluded', (SELECT jsonb_agg(x."id"::text ORDER BY x."id"::text) FROM "instances" x WHERE x."series_id" = se."id" AND ${excluded('x')})),
              "volume_blob_key" = CASE WHEN se."source" = 'dicom' THEN NULL ELSE se."volume_blob_key" END
        WHERE se."geometry" IS NOT NULL AND EXISTS (SELECT 1 FROM "instances" x WHERE x."series_id" = se."id" AND ${excluded('x')})`,
    );
    await queryRunner.query(
      `UPDATE "tasks" t
          SET "privacy_held" = EXISTS (
                SELECT 1 FROM "instances" i
                 WHERE i."series_id" = ANY(t."series_ids") AND i."attributes" -> 'privacyReview' IS NULL
                   AND COALESCE(i."flags" && (CASE COALESCE(p."settings" #>> '{deid,burnedInHold}', 'declared')
                         WHEN 'all' THEN ARRAY['burned-in-annotation', 'review-burned-in']
                         WHEN 'none' THEN ARRAY[]::text[]
                         ELSE ARRAY['burned-in-annotation'] END), false))
              OR EXISTS (SELECT 1 FROM "instances" i WHERE i."id" = t."instance_id" AND ${excluded('i')})
         FROM "projects" p
        WHERE p."id" = t."project_id" AND t."state" NOT IN ('approved', 'cancelled') AND t."privacy_held"`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE "series" SET "geometry" = "geometry" - 'excluded' WHERE "geometry" ? 'excluded'`);
  }
}
