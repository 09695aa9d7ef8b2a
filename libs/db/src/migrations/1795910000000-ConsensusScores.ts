import { MigrationInterface, QueryRunner } from 'typeorm';

/** The JSON array at `path`, or an empty one when it is missing or not an array. */
const array = (path: string) => `CASE WHEN jsonb_typeof(${path}) = 'array' THEN ${path} ELSE '[]'::jsonb END`;

/**
 * The reader scores of the consensus results in `source` (a table or a trigger's transition table, named cr): the same
 * rows as readerScores() in @contour/consensus gives for each result's metrics (a test checks the two agree). Only
 * numbers are kept: a score that is not one is left out rather than refusing the result.
 */
const scoresSql = (source: string) => `INSERT INTO consensus_scores (consensus_result_id, project_id, kind, reader_a, reader_b, value)
  SELECT cr.id, cr.project_id, s.kind, s.reader_a, s.reader_b, s.value
    FROM ${source} cr
    CROSS JOIN LATERAL (
      SELECT 'vs-merged' AS kind, NULLIF(r.reader, '')::uuid AS reader_a, NULL::uuid AS reader_b, (l.label->'vsMerged'->(r.i::int - 1)->>'dice')::float8 AS value
        FROM jsonb_array_elements_text(${array("cr.metrics->'readers'")}) WITH ORDINALITY r(reader, i)
        CROSS JOIN jsonb_array_elements(${array("cr.metrics->'labels'")}) l(label)
       WHERE NULLIF(r.reader, '') IS NOT NULL AND jsonb_typeof(l.label->'vsMerged'->(r.i::int - 1)->'dice') = 'number'
      UNION ALL
      SELECT 'pair-dice', NULLIF(cr.metrics->'readers'->>(p.pair->>'a')::int, '')::uuid, NULLIF(cr.metrics->'readers'->>(p.pair->>'b')::int, '')::uuid, d.mean
        FROM jsonb_array_elements(${array("cr.metrics->'pairs'")}) p(pair)
        CROSS JOIN LATERAL (SELECT avg((x->>'dice')::float8) AS mean, count(*) AS n FROM jsonb_array_elements(${array("p.pair->'labels'")}) x
                             WHERE jsonb_typeof(x->'dice') = 'number' AND COALESCE((x->>'volumeA')::float8, 1) + COALESCE((x->>'volumeB')::float8, 1) > 0) d
       WHERE d.n > 0 AND NULLIF(cr.metrics->'readers'->>(p.pair->>'a')::int, '') IS NOT NULL AND NULLIF(cr.metrics->'readers'->>(p.pair->>'b')::int, '') IS NOT NULL
      UNION ALL
      SELECT 'pair-shape', NULLIF(cr.metrics->'shapes'->'readers'->>(sp.pair->>0)::int, '')::uuid, NULLIF(cr.metrics->'shapes'->'readers'->>(sp.pair->>1)::int, '')::uuid, (sp.pair->>2)::float8
        FROM jsonb_array_elements(${array("cr.metrics->'shapes'->'pairs'")}) sp(pair)
       WHERE jsonb_typeof(sp.pair->2) = 'number'
    ) s`;

/** The scores of every consensus result already recorded. */
export const BACKFILL_CONSENSUS_SCORES_SQL = scoresSql('consensus_results');

/**
 * Reader statistics without reading every consensus result's metrics: a project's statistics read each result's 3 KB
 * of JSON to pick out a few numbers (1.7 s of a 4 s answer at 50,000 results). A trigger writes those numbers to a
 * narrow table beside each result as it is recorded (whoever records it: a worker of an older version during an
 * upgrade, a script), and the existing results get theirs here.
 */
export class ConsensusScores1795910000000 implements MigrationInterface {
  name = 'ConsensusScores1795910000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"consensus_scores\" (\"id\" BIGSERIAL NOT NULL, \"consensus_result_id\" uuid NOT NULL, \"project_id\" uuid NOT NULL, \"kind\" text NOT NULL, \"reader_a\" uuid, \"reader_b\" uuid, \"value\" double precision NOT NULL, CONSTRAINT \"PK_4bcaeff9797d868818d6ac644bd\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_8186926f5db6f390c2fa5dc34c\" ON \"consensus_scores\"  (\"consensus_result_id\") ");
    await queryRunner.query("CREATE INDEX \"consensus_scores_project\" ON \"consensus_scores\"  (\"project_id\", \"kind\") ");
    await queryRunner.query("ALTER TABLE \"consensus_scores\" ADD CONSTRAINT \"FK_8186926f5db6f390c2fa5dc34ce\" FOREIGN KEY (\"consensus_result_id\") REFERENCES \"consensus_results\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query(`CREATE FUNCTION contour_consensus_scores() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  ${scoresSql('recorded')};
  RETURN NULL;
END
$fn$`);
    await queryRunner.query(
      `CREATE TRIGGER consensus_results_scores AFTER INSERT ON consensus_results REFERENCING NEW TABLE AS recorded FOR EACH STATEMENT EXECUTE FUNCTION contour_consensus_scores()`,
    );
    await queryRunner.query(BACKFILL_CONSENSUS_SCORES_SQL);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER consensus_results_scores ON consensus_results`);
    await queryRunner.query(`DROP FUNCTION contour_consensus_scores()`);
    await queryRunner.query("ALTER TABLE \"consensus_scores\" DROP CONSTRAINT \"FK_8186926f5db6f390c2fa5dc34ce\"");
    await queryRunner.query("DROP INDEX \"public\".\"consensus_scores_project\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_8186926f5db6f390c2fa5dc34c\"");
    await queryRunner.query("DROP TABLE \"consensus_scores\"");
  }
}
