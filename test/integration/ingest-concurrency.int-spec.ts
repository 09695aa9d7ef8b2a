// Many instances of one new series indexed at once (eight jobs in flight): patient, study and series are
// created exactly once whoever gets there first, every instance is stored with its audit lines and
// re-identification keys, and the study's de-identification report counts each instance once.
import { ctPhantomSeries } from '@contour/dicom';
import { Role } from '@contour/db';
import { QueueName } from '@contour/queue';
import { eventually, startSystem, TestSystem } from '../support/system';

describe('ingest under concurrency', () => {
  let sys: TestSystem;
  let projectId: string;
  let pm: { id: string; token: string };
  const auth = () => ({ authorization: `Bearer ${pm.token}` });

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing], env: { WORKER_CONCURRENCY: '8' } });
    pm = await sys.user('pm', [Role.Manager]);
    projectId = (await sys.http().post('/api/projects').set(auth()).send({ name: 'concurrent' }).expect(201)).body.id;
  });
  afterAll(() => sys.close());

  it('40 slices of a new series arriving together: one patient, study and series; 40 instances, audited', async () => {
    const series = ctPhantomSeries({ seed: 'concurrency', slices: 40, rows: 64, columns: 64, patient: { name: 'Race^Condition', id: 'RACE-1' } });
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(auth());
    series.files.forEach((f, i) => up.attach('files', f, `s${i}.dcm`));
    const batchId = (await up.expect(202)).body.batchId;
    const batch = await eventually(async () => {
      const res = await sys.http().get(`/api/projects/${projectId}/uploads/${batchId}`).set(auth()).expect(200);
      return res.body.done ? res.body : null;
    }, 60_000);
    expect(batch.counts).toMatchObject({ stored: 40, quarantined: 0 });
    const q = (sql: string) => sys.db.dataSource.query(sql, [projectId]).then((r: { n: number }[]) => r[0].n);
    expect(await q(`SELECT count(*)::int AS n FROM patients WHERE project_id = $1`)).toBe(1);
    expect(await q(`SELECT count(*)::int AS n FROM studies WHERE project_id = $1`)).toBe(1);
    expect(await q(`SELECT count(*)::int AS n FROM series WHERE project_id = $1`)).toBe(1);
    expect(await q(`SELECT count(*)::int AS n FROM instances WHERE project_id = $1`)).toBe(40);
    expect(await q(`SELECT count(*)::int AS n FROM audit_events WHERE project_id = $1 AND action = 'instance.stored'`)).toBe(40);
    expect(await q(`SELECT count(*)::int AS n FROM audit_events WHERE project_id = $1 AND action = 'ingest.item.stored'`)).toBe(40);
    const keys = await sys.db.dataSource.query(`SELECT kind, count(*)::int AS n FROM reid_keys WHERE project_id = $1 GROUP BY kind ORDER BY kind`, [projectId]);
    expect(keys).toEqual([
      { kind: 'instance', n: 40 },
      { kind: 'patient', n: 1 },
      { kind: 'series', n: 1 },
      { kind: 'study', n: 1 },
    ]);
    // Every stored item points at its instance; the study report sums the 40 instances.
    expect(await q(`SELECT count(*)::int AS n FROM ingest_items i JOIN instances x ON x.id = i.instance_id WHERE i.project_id = $1`)).toBe(40);
    const report = await eventually(async () => {
      const [s] = await sys.db.dataSource.query(`SELECT deid_report FROM studies WHERE project_id = $1`, [projectId]);
      return s.deid_report.instanceCount === 40 ? s.deid_report : null;
    }, 20_000);
    expect(report.rows.find((r: { keyword: string }) => r.keyword === 'PatientName')).toMatchObject({ instances: 40 });
  });
});
