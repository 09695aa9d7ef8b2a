import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * New projects hold every image that may carry burned-in text (ultrasound, secondary capture and derived images that
 * do not say, besides those declaring it) for a manager's look: `deid.burnedInHold` defaults to 'all'. Projects made
 * before keep the hold they had by default ('declared'), written out, so their work is not suddenly withdrawn.
 */
export class HoldAllByDefault1795830000000 implements MigrationInterface {
  name = 'HoldAllByDefault1795830000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE "projects" SET "settings" = "settings" || jsonb_build_object('deid', COALESCE("settings" -> 'deid', '{}'::jsonb) || '{"burnedInHold": "declared"}'::jsonb)
        WHERE "settings" #> '{deid,burnedInHold}' IS NULL`,
    );
  }

  public async down(): Promise<void> {
    // The written-out setting means what the old default meant: nothing to undo.
  }
}
