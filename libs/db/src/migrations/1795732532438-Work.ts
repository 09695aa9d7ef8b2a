import { MigrationInterface, QueryRunner } from 'typeorm';

export class Work1795732532438 implements MigrationInterface {
  name = 'Work1795732532438';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"label_protocols\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"project_id\" uuid NOT NULL, \"version\" integer NOT NULL, \"definition\" jsonb NOT NULL, \"created_by\" uuid, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_db43253843123ffb2cc04f9a9d1\" UNIQUE (\"project_id\", \"version\"), CONSTRAINT \"PK_a78a0dae43b81b0117aa558735f\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE TABLE \"tasks\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"project_id\" uuid NOT NULL, \"study_id\" uuid NOT NULL, \"series_ids\" uuid array NOT NULL, \"instance_id\" uuid, \"frame_start\" integer, \"frame_end\" integer, \"kind\" text NOT NULL, \"split_key\" text NOT NULL, \"modality\" text NOT NULL, \"state\" text NOT NULL, \"priority\" integer NOT NULL DEFAULT '0', \"uncertainty\" real, \"required_skills\" text array NOT NULL DEFAULT '{}', \"reads_required\" integer NOT NULL, \"protocol_version\" integer, \"rework_round\" integer NOT NULL DEFAULT '0', \"rejection_count\" integer NOT NULL DEFAULT '0', \"agreement\" real, \"state_reason\" text, \"state_changed_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"updated_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_c2bcb6eed26aa4b6022644daa8e\" UNIQUE (\"project_id\", \"split_key\"), CONSTRAINT \"PK_8d12ff38fcc62aaba2cab748772\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_0be930cb52a5b3c8929cfa2bad\" ON \"tasks\"  (\"study_id\") ");
    await queryRunner.query("CREATE INDEX \"IDX_b2c13abd0edb0a78c51c6a2d5f\" ON \"tasks\"  (\"project_id\", \"state\") ");
    await queryRunner.query("CREATE TABLE \"task_reads\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"task_id\" uuid NOT NULL, \"project_id\" uuid NOT NULL, \"kind\" text NOT NULL, \"slot\" integer NOT NULL, \"state\" text NOT NULL DEFAULT 'open', \"annotator_id\" uuid, \"previous_annotator_id\" uuid, \"draft_version_id\" uuid, \"assigned_to\" uuid, \"round\" integer NOT NULL DEFAULT '0', \"leased_at\" TIMESTAMP WITH TIME ZONE, \"lease_expires_at\" TIMESTAMP WITH TIME ZONE, \"submitted_at\" TIMESTAMP WITH TIME ZONE, \"label_version_id\" uuid, \"rework_comment\" text, \"priority\" integer NOT NULL DEFAULT '0', \"task_created_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \"required_skills\" text array NOT NULL DEFAULT '{}', CONSTRAINT \"PK_080dba1c7c11f44771ab92eb050\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_c1193f66ed451bbaccde4225fe\" ON \"task_reads\"  (\"task_id\") ");
    await queryRunner.query("CREATE INDEX \"IDX_acf7a0981d79b18d243363d6fd\" ON \"task_reads\"  (\"annotator_id\") ");
    await queryRunner.query("CREATE INDEX \"task_reads_open_queue\" ON \"task_reads\"  (\"project_id\", \"kind\", \"priority\", \"task_created_at\", \"slot\") WHERE \"state\" = 'open'");
    await queryRunner.query("CREATE UNIQUE INDEX \"task_reads_one_read_per_person\" ON \"task_reads\"  (\"task_id\", \"annotator_id\") WHERE \"kind\" = 'annotation' AND \"annotator_id\" IS NOT NULL");
    await queryRunner.query("CREATE TABLE \"label_versions\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"task_id\" uuid NOT NULL, \"project_id\" uuid NOT NULL, \"kind\" text NOT NULL, \"read_id\" uuid, \"author_id\" uuid, \"model\" jsonb, \"round\" integer NOT NULL DEFAULT '0', \"protocol_version\" integer, \"blob_key\" text, \"encoding\" text NOT NULL DEFAULT 'labelmap-u8-deflate', \"grid\" jsonb, \"answers\" jsonb NOT NULL DEFAULT '{}', \"stats\" jsonb NOT NULL DEFAULT '{}', \"idempotency_key\" text, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_478d723c5d9db1e1a489b819259\" UNIQUE (\"idempotency_key\"), CONSTRAINT \"PK_29a04e162fdfe9c56efc618e544\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_9627d36d19e9f12671528c67ea\" ON \"label_versions\"  (\"task_id\") ");
    await queryRunner.query("CREATE TABLE \"consensus_results\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"task_id\" uuid NOT NULL, \"project_id\" uuid NOT NULL, \"round\" integer NOT NULL, \"agreement\" real NOT NULL, \"method\" text NOT NULL, \"metrics\" jsonb NOT NULL, \"disagreement\" jsonb NOT NULL DEFAULT '{}', \"merged_version_id\" uuid, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_1b542ae1fa39f3bbb543e4c4ae4\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_54534d6ee646797eee7b13c00c\" ON \"consensus_results\"  (\"task_id\") ");
    await queryRunner.query("CREATE TABLE \"reviews\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"task_id\" uuid NOT NULL, \"project_id\" uuid NOT NULL, \"reviewer_id\" uuid NOT NULL, \"decision\" text NOT NULL, \"comment\" text NOT NULL DEFAULT '', \"round\" integer NOT NULL, \"label_version_id\" uuid, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_231ae565c273ee700b283f15c1d\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_510ad253ff1b78940cd5565a56\" ON \"reviews\"  (\"task_id\") ");
    await queryRunner.query("CREATE TABLE \"task_transitions\" (\"id\" BIGSERIAL NOT NULL, \"task_id\" uuid NOT NULL, \"project_id\" uuid NOT NULL, \"from_state\" text, \"to_state\" text NOT NULL, \"event\" text NOT NULL, \"actor_id\" uuid, \"actor_name\" text NOT NULL, \"reason\" text, \"at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_7e44af3be83dc34886824c23ead\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_aa1f945a6bd9ceba40ee9a7386\" ON \"task_transitions\"  (\"task_id\") ");
    await queryRunner.query("ALTER TABLE \"project_members\" ADD \"skills\" text array NOT NULL DEFAULT '{}'");
    await queryRunner.query("ALTER TABLE \"dicomweb_sources\" ALTER COLUMN \"auth\" SET DEFAULT '{\"type\":\"none\"}'");
    await queryRunner.query("ALTER TABLE \"label_protocols\" ADD CONSTRAINT \"FK_d5e160315014407fa0b39bd38fd\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"tasks\" ADD CONSTRAINT \"FK_9eecdb5b1ed8c7c2a1b392c28d4\" FOREIGN KEY (\"project_id\") REFERENCES \"projects\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"tasks\" ADD CONSTRAINT \"FK_0be930cb52a5b3c8929cfa2badd\" FOREIGN KEY (\"study_id\") REFERENCES \"studies\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"task_reads\" ADD CONSTRAINT \"FK_c1193f66ed451bbaccde4225fe3\" FOREIGN KEY (\"task_id\") REFERENCES \"tasks\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"label_versions\" ADD CONSTRAINT \"FK_9627d36d19e9f12671528c67eaa\" FOREIGN KEY (\"task_id\") REFERENCES \"tasks\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"label_versions\" DROP CONSTRAINT \"FK_9627d36d19e9f12671528c67eaa\"");
    await queryRunner.query("ALTER TABLE \"task_reads\" DROP CONSTRAINT \"FK_c1193f66ed451bbaccde4225fe3\"");
    await queryRunner.query("ALTER TABLE \"tasks\" DROP CONSTRAINT \"FK_0be930cb52a5b3c8929cfa2badd\"");
    await queryRunner.query("ALTER TABLE \"tasks\" DROP CONSTRAINT \"FK_9eecdb5b1ed8c7c2a1b392c28d4\"");
    await queryRunner.query("ALTER TABLE \"label_protocols\" DROP CONSTRAINT \"FK_d5e160315014407fa0b39bd38fd\"");
    await queryRunner.query("ALTER TABLE \"dicomweb_sources\" ALTER COLUMN \"auth\" SET DEFAULT '{\"type\": \"none\"}'");
    await queryRunner.query("ALTER TABLE \"project_members\" DROP COLUMN \"skills\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_aa1f945a6bd9ceba40ee9a7386\"");
    await queryRunner.query("DROP TABLE \"task_transitions\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_510ad253ff1b78940cd5565a56\"");
    await queryRunner.query("DROP TABLE \"reviews\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_54534d6ee646797eee7b13c00c\"");
    await queryRunner.query("DROP TABLE \"consensus_results\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_9627d36d19e9f12671528c67ea\"");
    await queryRunner.query("DROP TABLE \"label_versions\"");
    await queryRunner.query("DROP INDEX \"public\".\"task_reads_one_read_per_person\"");
    await queryRunner.query("DROP INDEX \"public\".\"task_reads_open_queue\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_acf7a0981d79b18d243363d6fd\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_c1193f66ed451bbaccde4225fe\"");
    await queryRunner.query("DROP TABLE \"task_reads\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_b2c13abd0edb0a78c51c6a2d5f\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_0be930cb52a5b3c8929cfa2bad\"");
    await queryRunner.query("DROP TABLE \"tasks\"");
    await queryRunner.query("DROP TABLE \"label_protocols\"");
  }
}
