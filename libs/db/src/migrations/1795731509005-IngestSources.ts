import { MigrationInterface, QueryRunner } from 'typeorm';

export class IngestSources1795731509005 implements MigrationInterface {
  name = 'IngestSources1795731509005';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"ae_routes\" (\"calling_ae_title\" text NOT NULL, \"project_id\" uuid NOT NULL, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_d30058973cfa211c0fd061621bc\" PRIMARY KEY (\"calling_ae_title\"))");
    await queryRunner.query("CREATE TABLE \"dicomweb_sources\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"project_id\" uuid NOT NULL, \"name\" text NOT NULL, \"url\" text NOT NULL, \"auth\" jsonb NOT NULL DEFAULT '{\"type\":\"none\"}', \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_8064d6d3fe2f0ed483696d98dd7\" UNIQUE (\"project_id\", \"name\"), CONSTRAINT \"PK_ff01d2b724d6b016a9a70e1910b\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE TABLE \"reid_keys\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"project_id\" uuid NOT NULL, \"kind\" text NOT NULL, \"deid_value\" text NOT NULL, \"original\" jsonb NOT NULL, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_d9e94815b3a1f4cb71c30deba77\" UNIQUE (\"project_id\", \"kind\", \"deid_value\"), CONSTRAINT \"PK_b04dda82a7b721f3ccbf95e415c\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_a9fe34acab6c77f98839c59924\" ON \"reid_keys\"  (\"project_id\") ");
    await queryRunner.query("ALTER TABLE \"series\" ADD \"source\" text NOT NULL DEFAULT 'dicom'");
    await queryRunner.query("ALTER TABLE \"series\" ADD \"qc_status\" text NOT NULL DEFAULT 'pending'");
    await queryRunner.query("ALTER TABLE \"series\" ADD \"qc_issues\" jsonb NOT NULL DEFAULT '[]'");
    await queryRunner.query("ALTER TABLE \"series\" ADD \"volume_blob_key\" text");
    await queryRunner.query("ALTER TABLE \"series\" ADD \"view_group\" text");
    await queryRunner.query("ALTER TABLE \"ae_routes\" ADD CONSTRAINT \"FK_7cae90815f213aed494d8767999\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"dicomweb_sources\" ADD CONSTRAINT \"FK_51513733ff699b1f471e164e5ee\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"reid_keys\" ADD CONSTRAINT \"FK_a9fe34acab6c77f98839c599244\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"reid_keys\" DROP CONSTRAINT \"FK_a9fe34acab6c77f98839c599244\"");
    await queryRunner.query("ALTER TABLE \"dicomweb_sources\" DROP CONSTRAINT \"FK_51513733ff699b1f471e164e5ee\"");
    await queryRunner.query("ALTER TABLE \"ae_routes\" DROP CONSTRAINT \"FK_7cae90815f213aed494d8767999\"");
    await queryRunner.query("ALTER TABLE \"series\" DROP COLUMN \"view_group\"");
    await queryRunner.query("ALTER TABLE \"series\" DROP COLUMN \"volume_blob_key\"");
    await queryRunner.query("ALTER TABLE \"series\" DROP COLUMN \"qc_issues\"");
    await queryRunner.query("ALTER TABLE \"series\" DROP COLUMN \"qc_status\"");
    await queryRunner.query("ALTER TABLE \"series\" DROP COLUMN \"source\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_a9fe34acab6c77f98839c59924\"");
    await queryRunner.query("DROP TABLE \"reid_keys\"");
    await queryRunner.query("DROP TABLE \"dicomweb_sources\"");
    await queryRunner.query("DROP TABLE \"ae_routes\"");
  }
}
