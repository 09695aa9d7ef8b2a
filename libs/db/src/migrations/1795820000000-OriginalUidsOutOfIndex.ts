import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Original identifiers belong in the re-identification key only: the per-instance geometry records kept at ingest
 * were named by the original SOP Instance UID (now the de-identified one), and items received by C-STORE or pulled
 * from a PACS were named after original UIDs (now by their place in the delivery; old ones by their item id). The
 * audit trail is append-only: its earlier `ingest.item.received` lines keep the names they were written with.
 */
export class OriginalUidsOutOfIndex1795820000000 implements MigrationInterface {
  name = 'OriginalUidsOutOfIndex1795820000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE "instances" SET "attributes" = jsonb_set("attributes", '{geometry,id}', to_jsonb("sop_instance_uid"))
        WHERE jsonb_typeof("attributes" -> 'geometry') = 'object' AND "attributes" -> 'geometry' ? 'id' AND "attributes" #>> '{geometry,id}' IS DISTINCT FROM "sop_instance_uid"`,
    );
    await queryRunner.query(
      `UPDATE "ingest_items" i SET "file_name" = 'image-' || left(i."id"::text, 8) || '.dcm'
         FROM "ingest_batches" b
        WHERE b."id" = i."batch_id" AND b."source" IN ('c-store', 'dicomweb-pull') AND i."file_name" ~ '^[0-9.]+(-[0-9]+)?\\.dcm$'`,
    );
  }

  public async down(): Promise<void> {
    // The original names are not kept anywhere else: nothing to restore.
  }
}
