import { readerScores, ConsensusMetrics } from '@contour/consensus';
import { BACKFILL_CONSENSUS_SCORES_SQL } from '../../libs/db/src/migrations/1795910000000-ConsensusScores';
import { openTestDatabase, TestDatabase } from '../support/database';

// Each consensus result's reader scores are written by a trigger of migration ConsensusScores as the result is recorded
// (whoever records it), and the migration gives the results recorded before it theirs with the same SQL. Both must
// give the rows readerScores() defines for the result's metrics.
describe('consensus scores', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db.close());

  const R = ['0b0a7a6e-0000-4000-8000-000000000001', '0b0a7a6e-0000-4000-8000-000000000002', '0b0a7a6e-0000-4000-8000-000000000003'];
  const overlap = (dice: number, volumeA?: number | null, volumeB?: number | null) => ({ dice, volumeA, volumeB });
  const cases: [string, ConsensusMetrics][] = [
    ['empty', {}],
    ['classification only', { answers: [{ question: 'q', agreement: 1 }] } as ConsensusMetrics],
    [
      'three readers, two labels, one label neither of a pair drew, a missing comparison',
      {
        readers: R,
        labels: [{ vsMerged: [{ dice: 0.91 }, { dice: 0.8 }, { dice: 0.75 }] }, { vsMerged: [{ dice: 1 }, null, { dice: 0.5 }] }],
        pairs: [
          { a: 0, b: 1, labels: [overlap(0.7), overlap(1, 0, 0)] },
          { a: 0, b: 2, labels: [overlap(0.6), overlap(0.3, 0, 8)] },
          { a: 1, b: 2, labels: [overlap(1, 0, 0)] },
        ],
      },
    ],
    ['volumes missing or null count as drawn', { readers: R.slice(0, 2), pairs: [{ a: 0, b: 1, labels: [overlap(0.4, null, null), { dice: 0.2 }] }] } as ConsensusMetrics],
    ['a null reader and a pair past the readers', { readers: [null, R[1]], labels: [{ vsMerged: [{ dice: 0.3 }, { dice: 0.6 }] }], pairs: [{ a: 0, b: 1, labels: [overlap(0.5)] }, { a: 1, b: 5, labels: [overlap(0.5)] }] }],
    ['shapes, one reader unknown', { shapes: { readers: [R[2], R[0]], pairs: [[0, 1, 0.25], [1, 3, 0.5]] } }],
    [
      'values that are not numbers are left out (the result is still recorded)',
      {
        readers: R.slice(0, 2),
        labels: [{ vsMerged: [{ dice: null }, { dice: 0.5 }] }],
        pairs: [{ a: 0, b: 1, labels: [{ dice: null, volumeA: 3, volumeB: 3 }, overlap(0.9)] }],
        shapes: { readers: R.slice(0, 2), pairs: [[0, 1, null]] },
      } as unknown as ConsensusMetrics,
    ],
  ];

  it.each(cases)('%s: recorded and backfilled as readerScores gives', async (_name, metrics) => {
    const ds = db.dataSource;
    const project = '0b0a7a6e-0000-4000-8000-0000000000aa';
    const [{ id }] = await ds.query(`INSERT INTO consensus_results (task_id, project_id, round, agreement, method, metrics) VALUES (gen_random_uuid(), $1, 0, 0.5, 'staple', $2) RETURNING id`, [project, JSON.stringify(metrics)]);
    const key = (s: { kind: string; readerA: string | null; readerB: string | null; value: number }) => `${s.kind} ${s.readerA} ${s.readerB} ${s.value.toFixed(12)}`;
    const scores = async () => {
      const rows = await ds.query(`SELECT consensus_result_id AS "resultId", project_id AS "projectId", kind, reader_a::text AS "readerA", reader_b::text AS "readerB", value FROM consensus_scores WHERE consensus_result_id = $1`, [id]);
      expect(rows.every((r: { resultId: string; projectId: string }) => r.resultId === id && r.projectId === project)).toBe(true);
      return rows.map(key).sort();
    };
    const expected = readerScores(metrics).map(key).sort();
    // As recorded (the trigger).
    expect(await scores()).toEqual(expected);
    // As the migration gives a result recorded before it.
    await ds.query(`DELETE FROM consensus_scores`);
    await ds.query(BACKFILL_CONSENSUS_SCORES_SQL);
    expect(await scores()).toEqual(expected);
  });

  it('a result deleted takes its scores with it', async () => {
    const ds = db.dataSource;
    const [{ id }] = await ds.query(`INSERT INTO consensus_results (task_id, project_id, round, agreement, method, metrics) VALUES (gen_random_uuid(), gen_random_uuid(), 0, 0.5, 'staple', $1) RETURNING id`, [JSON.stringify(cases[2][1])]);
    expect((await ds.query(`SELECT count(*)::int AS n FROM consensus_scores WHERE consensus_result_id = $1`, [id]))[0].n).toBeGreaterThan(0);
    await ds.query(`DELETE FROM consensus_results WHERE id = $1`, [id]);
    expect((await ds.query(`SELECT count(*)::int AS n FROM consensus_scores WHERE consensus_result_id = $1`, [id]))[0].n).toBe(0);
  });
});
