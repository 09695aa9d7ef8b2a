import { MigrationInterface, QueryRunner } from 'typeorm';

export class Models1795732974130 implements MigrationInterface {
  name = 'Models1795732974130';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"models\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"name\" text NOT NULL, \"version\" text NOT NULL, \"manifest\" jsonb NOT NULL, \"checksum\" text NOT NULL, \"size_bytes\" bigint NOT NULL, \"builtin\" boolean NOT NULL DEFAULT false, \"created_by\" uuid, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_572934fa1bf4e130c665ec2c06b\" UNIQUE (\"name\", \"version\"), CONSTRAINT \"PK_ef9ed7160ea69013636466bf2d5\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("ALTER TABLE \"label_versions\" ADD \"seg_blob_key\" text");
    await queryRunner.query("ALTER TABLE \"dicomweb_sources\" ALTER COLUMN \"auth\" SET DEFAULT '{\"type\":\"none\"}'");
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"dicomweb_sources\" ALTER COLUMN \"auth\" SET DEFAULT '{\"type\": \"none\"}'");
    await queryRunner.query("ALTER TABLE \"label_versions\" DROP COLUMN \"seg_blob_key\"");
    await queryRunner.query("DROP TABLE \"models\"");
  }
}
