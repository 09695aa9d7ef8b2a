import { MigrationInterface, QueryRunner } from 'typeorm';

export class Exports1795734313345 implements MigrationInterface {
  name = 'Exports1795734313345';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"exports\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"project_id\" uuid NOT NULL, \"name\" text NOT NULL, \"state\" text NOT NULL DEFAULT 'queued', \"options\" jsonb NOT NULL, \"progress\" integer NOT NULL DEFAULT '0', \"report\" jsonb, \"result_blob_key\" text, \"size_bytes\" bigint, \"error\" text, \"created_by\" uuid, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"finished_at\" TIMESTAMP WITH TIME ZONE, CONSTRAINT \"PK_bcf8528d214cbfc68c01f337511\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_1f4409c52647fba8e538d7554d\" ON \"exports\"  (\"project_id\") ");
    await queryRunner.query("CREATE TABLE \"export_cases\" (\"export_id\" uuid NOT NULL, \"task_id\" uuid NOT NULL, \"case_name\" text NOT NULL, \"split\" text NOT NULL, \"files\" jsonb NOT NULL, \"summary\" jsonb NOT NULL DEFAULT '{}', CONSTRAINT \"PK_43c3bf6fa72e5c5bd37b2cf70d2\" PRIMARY KEY (\"export_id\", \"task_id\"))");
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("DROP TABLE \"export_cases\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_1f4409c52647fba8e538d7554d\"");
    await queryRunner.query("DROP TABLE \"exports\"");
  }
}
