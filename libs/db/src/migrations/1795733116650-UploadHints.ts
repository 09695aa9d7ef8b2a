import { MigrationInterface, QueryRunner } from 'typeorm';

export class UploadHints1795733116650 implements MigrationInterface {
  name = 'UploadHints1795733116650';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"ingest_batches\" ADD \"hints\" jsonb NOT NULL DEFAULT '{}'");
    await queryRunner.query("ALTER TABLE \"dicomweb_sources\" ALTER COLUMN \"auth\" SET DEFAULT '{\"type\":\"none\"}'");
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"dicomweb_sources\" ALTER COLUMN \"auth\" SET DEFAULT '{\"type\": \"none\"}'");
    await queryRunner.query("ALTER TABLE \"ingest_batches\" DROP COLUMN \"hints\"");
  }
}
