import { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1795729238514 implements MigrationInterface {
  name = 'Initial1795729238514';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"users\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"username\" text NOT NULL, \"display_name\" text NOT NULL, \"password_hash\" text NOT NULL, \"roles\" text array NOT NULL DEFAULT '{}', \"skills\" text array NOT NULL DEFAULT '{}', \"active\" boolean NOT NULL DEFAULT true, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_fe0bb3f6520ee0469504521e710\" UNIQUE (\"username\"), CONSTRAINT \"PK_a3ffb1c0c8416b9fc6f907b7433\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE TABLE \"api_tokens\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"user_id\" uuid NOT NULL, \"name\" text NOT NULL, \"token_hash\" text NOT NULL, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"expires_at\" TIMESTAMP WITH TIME ZONE, \"revoked_at\" TIMESTAMP WITH TIME ZONE, \"last_used_at\" TIMESTAMP WITH TIME ZONE, CONSTRAINT \"UQ_bbd687a104e1921e6702c6e3aad\" UNIQUE (\"token_hash\"), CONSTRAINT \"PK_c587455266b5fa8dace7194caac\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_b74883f5884a42fd8496d389b2\" ON \"api_tokens\"  (\"user_id\") ");
    await queryRunner.query("CREATE TABLE \"audit_events\" (\"id\" BIGSERIAL NOT NULL, \"at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"actor_id\" uuid, \"actor_name\" text NOT NULL, \"action\" text NOT NULL, \"object_type\" text NOT NULL, \"object_id\" text, \"project_id\" uuid, \"details\" jsonb NOT NULL DEFAULT '{}', \"ip\" text, CONSTRAINT \"PK_910f64d901a5c3e9878f0d4a407\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_3648e11676f1929b9875ee272b\" ON \"audit_events\"  (\"at\") ");
    await queryRunner.query("CREATE INDEX \"IDX_68d908019304f757740bc47a0a\" ON \"audit_events\"  (\"action\") ");
    await queryRunner.query("CREATE INDEX \"IDX_9eb59cac2a43d0523af0e736ee\" ON \"audit_events\"  (\"project_id\") ");
    await queryRunner.query("CREATE INDEX \"IDX_68c3b2a359f76dcbacfcfbc6ea\" ON \"audit_events\"  (\"object_type\", \"object_id\", \"id\") ");
    await queryRunner.query("CREATE TABLE \"deployment_settings\" (\"key\" text NOT NULL, \"value\" text NOT NULL, CONSTRAINT \"PK_c9f21efe803b73672ac4cc5dc10\" PRIMARY KEY (\"key\"))");
    await queryRunner.query("CREATE TABLE \"projects\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"name\" text NOT NULL, \"description\" text NOT NULL DEFAULT '', \"settings\" jsonb NOT NULL DEFAULT '{}', \"created_by\" uuid, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_2187088ab5ef2a918473cb99007\" UNIQUE (\"name\"), CONSTRAINT \"PK_6271df0a7aed1d6c0691ce6ac50\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE TABLE \"project_members\" (\"project_id\" uuid NOT NULL, \"user_id\" uuid NOT NULL, \"roles\" text array NOT NULL, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_b3f491d3a3f986106d281d8eb4b\" PRIMARY KEY (\"project_id\", \"user_id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_e89aae80e010c2faa72e6a49ce\" ON \"project_members\"  (\"user_id\") ");
    await queryRunner.query("CREATE TABLE \"patients\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"project_id\" uuid NOT NULL, \"pseudonym\" text NOT NULL, \"sex\" text, \"age\" text, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_14523bd8a6625b6f998f237666a\" UNIQUE (\"project_id\", \"pseudonym\"), CONSTRAINT \"PK_a7f0b9fcbb3469d5ec0b0aceaa7\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE TABLE \"studies\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"project_id\" uuid NOT NULL, \"patient_id\" uuid NOT NULL, \"study_instance_uid\" text NOT NULL, \"study_date\" text, \"description\" text NOT NULL DEFAULT '', \"deid_report\" jsonb NOT NULL DEFAULT '{}', \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_4eaa05e68e59b6fbb0712d8307f\" UNIQUE (\"project_id\", \"study_instance_uid\"), CONSTRAINT \"PK_b100ff0c4a0ad02a9c2270d45b6\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_4e66443567673a282caf24cf6c\" ON \"studies\"  (\"patient_id\") ");
    await queryRunner.query("CREATE TABLE \"series\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"project_id\" uuid NOT NULL, \"study_id\" uuid NOT NULL, \"series_instance_uid\" text NOT NULL, \"modality\" text NOT NULL, \"description\" text NOT NULL DEFAULT '', \"body_part\" text, \"series_number\" integer, \"frame_of_reference_uid\" text, \"geometry\" jsonb, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"updated_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_81800f9830c8bdf2d5075812f23\" UNIQUE (\"project_id\", \"series_instance_uid\"), CONSTRAINT \"PK_e725676647382eb54540d7128ba\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_a085ed6908b8854d77d40db8db\" ON \"series\"  (\"study_id\") ");
    await queryRunner.query("CREATE TABLE \"instances\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"project_id\" uuid NOT NULL, \"series_id\" uuid NOT NULL, \"sop_instance_uid\" text NOT NULL, \"sop_class_uid\" text NOT NULL, \"transfer_syntax_uid\" text NOT NULL, \"instance_number\" integer, \"rows\" integer, \"columns\" integer, \"number_of_frames\" integer NOT NULL DEFAULT '1', \"image_position\" double precision array, \"image_orientation\" double precision array, \"pixel_spacing\" double precision array, \"blob_key\" text NOT NULL, \"size_bytes\" bigint NOT NULL, \"source_hash\" text NOT NULL, \"flags\" text array NOT NULL DEFAULT '{}', \"attributes\" jsonb NOT NULL DEFAULT '{}', \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_542172e00eb700c0e78c57d4726\" UNIQUE (\"project_id\", \"sop_instance_uid\"), CONSTRAINT \"PK_11862209053330b4765f7f54178\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_2b8403d6de92cf5ebbd54e369f\" ON \"instances\"  (\"series_id\") ");
    await queryRunner.query("CREATE TABLE \"ingest_batches\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"project_id\" uuid NOT NULL, \"source\" text NOT NULL, \"created_by\" uuid, \"label\" text NOT NULL DEFAULT '', \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_184779a7b0f00cff933f3121f38\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_9709b18777624b6a9d3bdb8d0f\" ON \"ingest_batches\"  (\"project_id\") ");
    await queryRunner.query("CREATE TABLE \"ingest_items\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"batch_id\" uuid NOT NULL, \"project_id\" uuid NOT NULL, \"file_name\" text NOT NULL, \"raw_blob_key\" text NOT NULL, \"size_bytes\" bigint NOT NULL, \"status\" text NOT NULL DEFAULT 'queued', \"reason_code\" text, \"reason\" text, \"instance_id\" uuid, \"attempts\" integer NOT NULL DEFAULT '0', \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"updated_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_39f52861eb4d803706bf7602bd4\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_8064f2383aebbc748aee6c0cb3\" ON \"ingest_items\"  (\"batch_id\") ");
    await queryRunner.query("CREATE INDEX \"IDX_92d6a2dc3b2488a18d3683fcb9\" ON \"ingest_items\"  (\"project_id\", \"status\") ");
    await queryRunner.query("ALTER TABLE \"api_tokens\" ADD CONSTRAINT \"FK_b74883f5884a42fd8496d389b25\" FOREIGN KEY (\"user_id\") REFERENCES \"users\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"project_members\" ADD CONSTRAINT \"FK_b5729113570c20c7e214cf3f58d\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"project_members\" ADD CONSTRAINT \"FK_e89aae80e010c2faa72e6a49ce8\" FOREIGN KEY (\"user_id\") REFERENCES \"users\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"patients\" ADD CONSTRAINT \"FK_27f8eb1d49361223682a51f876a\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"studies\" ADD CONSTRAINT \"FK_85e360590ffcda0eaa05d3a7143\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"studies\" ADD CONSTRAINT \"FK_4e66443567673a282caf24cf6c2\" FOREIGN KEY (\"patient_id\") REFERENCES \"patients\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"series\" ADD CONSTRAINT \"FK_8a870ad92351f10709f19eac19d\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"series\" ADD CONSTRAINT \"FK_a085ed6908b8854d77d40db8db6\" FOREIGN KEY (\"study_id\") REFERENCES \"studies\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"instances\" ADD CONSTRAINT \"FK_c75dbb4dfd4b594e99d29c0185a\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"instances\" ADD CONSTRAINT \"FK_2b8403d6de92cf5ebbd54e369f2\" FOREIGN KEY (\"series_id\") REFERENCES \"series\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"ingest_batches\" ADD CONSTRAINT \"FK_9709b18777624b6a9d3bdb8d0f5\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"ingest_items\" ADD CONSTRAINT \"FK_8064f2383aebbc748aee6c0cb39\" FOREIGN KEY (\"batch_id\") REFERENCES \"ingest_batches\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    // The audit log is append-only, enforced by the database for every role (superusers included):
    // UPDATE, DELETE and TRUNCATE raise an error.
    await queryRunner.query(`CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await queryRunner.query(`CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON "audit_events"
      FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
    await queryRunner.query(`CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON "audit_events"
      FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER IF EXISTS audit_events_no_truncate ON "audit_events"');
    await queryRunner.query('DROP TRIGGER IF EXISTS audit_events_no_update_delete ON "audit_events"');
    await queryRunner.query('DROP FUNCTION IF EXISTS audit_events_append_only()');
    await queryRunner.query("ALTER TABLE \"ingest_items\" DROP CONSTRAINT \"FK_8064f2383aebbc748aee6c0cb39\"");
    await queryRunner.query("ALTER TABLE \"ingest_batches\" DROP CONSTRAINT \"FK_9709b18777624b6a9d3bdb8d0f5\"");
    await queryRunner.query("ALTER TABLE \"instances\" DROP CONSTRAINT \"FK_2b8403d6de92cf5ebbd54e369f2\"");
    await queryRunner.query("ALTER TABLE \"instances\" DROP CONSTRAINT \"FK_c75dbb4dfd4b594e99d29c0185a\"");
    await queryRunner.query("ALTER TABLE \"series\" DROP CONSTRAINT \"FK_a085ed6908b8854d77d40db8db6\"");
    await queryRunner.query("ALTER TABLE \"series\" DROP CONSTRAINT \"FK_8a870ad92351f10709f19eac19d\"");
    await queryRunner.query("ALTER TABLE \"studies\" DROP CONSTRAINT \"FK_4e66443567673a282caf24cf6c2\"");
    await queryRunner.query("ALTER TABLE \"studies\" DROP CONSTRAINT \"FK_85e360590ffcda0eaa05d3a7143\"");
    await queryRunner.query("ALTER TABLE \"patients\" DROP CONSTRAINT \"FK_27f8eb1d49361223682a51f876a\"");
    await queryRunner.query("ALTER TABLE \"project_members\" DROP CONSTRAINT \"FK_e89aae80e010c2faa72e6a49ce8\"");
    await queryRunner.query("ALTER TABLE \"project_members\" DROP CONSTRAINT \"FK_b5729113570c20c7e214cf3f58d\"");
    await queryRunner.query("ALTER TABLE \"api_tokens\" DROP CONSTRAINT \"FK_b74883f5884a42fd8496d389b25\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_92d6a2dc3b2488a18d3683fcb9\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_8064f2383aebbc748aee6c0cb3\"");
    await queryRunner.query("DROP TABLE \"ingest_items\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_9709b18777624b6a9d3bdb8d0f\"");
    await queryRunner.query("DROP TABLE \"ingest_batches\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_2b8403d6de92cf5ebbd54e369f\"");
    await queryRunner.query("DROP TABLE \"instances\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_a085ed6908b8854d77d40db8db\"");
    await queryRunner.query("DROP TABLE \"series\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_4e66443567673a282caf24cf6c\"");
    await queryRunner.query("DROP TABLE \"studies\"");
    await queryRunner.query("DROP TABLE \"patients\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_e89aae80e010c2faa72e6a49ce\"");
    await queryRunner.query("DROP TABLE \"project_members\"");
    await queryRunner.query("DROP TABLE \"projects\"");
    await queryRunner.query("DROP TABLE \"deployment_settings\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_68c3b2a359f76dcbacfcfbc6ea\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_9eb59cac2a43d0523af0e736ee\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_68d908019304f757740bc47a0a\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_3648e11676f1929b9875ee272b\"");
    await queryRunner.query("DROP TABLE \"audit_events\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_b74883f5884a42fd8496d389b2\"");
    await queryRunner.query("DROP TABLE \"api_tokens\"");
    await queryRunner.query("DROP TABLE \"users\"");
  }
}
