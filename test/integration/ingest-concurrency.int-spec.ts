// Many instances of one new series indexed at once (eight jobs in flight): patient, study and series are
// created exactly once whoever gets there first, every instance is stored with its audit lines and
// re-identification keys, and the study's de-identification report counts each instance once.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { systemActor } from '@contour/audit';
import { ctPhantomSeries } from '@contour/dicom';
import { IngestItem, IngestSource, Role } from '@contour/db';
import { IngestPipeline, IngestReceiver, rawBlobLockId } from '@contour/ingest';
import { JobName, JobQueue, QueueName } from '@contour/queue';
import { BLOB_STORE, BlobStore } from '@contour/storage';
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

  it('an item processed again (a redelivered job) answers its outcome and finishes what a crash may have left: its received file deleted, its series checked; an unknown item is a terminal error', async () => {
    // The received file of slice 0 (the same bytes again), as if a crash had kept it from being deleted.
    const slice = ctPhantomSeries({ seed: 'concurrency', slices: 40, rows: 64, columns: 64, patient: { name: 'Race^Condition', id: 'RACE-1' } }).files[0];
    const blobs = sys.app.get<BlobStore>(BLOB_STORE);
    const { key } = await blobs.put(slice);
    const [done] = await sys.db.dataSource.query(`SELECT id, instance_id, attempts, updated_at FROM ingest_items WHERE project_id = $1 AND raw_blob_key = $2`, [projectId, key]);
    const pipeline = sys.app.get(IngestPipeline);
    const queued = jest.spyOn(sys.app.get(JobQueue), 'add');
    expect(await pipeline.process(done.id)).toEqual({ itemId: done.id, status: 'stored', instanceId: done.instance_id, reasonCode: null });
    const calls = queued.mock.calls.map((c) => [c[0], c[1]]);
    queued.mockRestore();
    const [after] = await sys.db.dataSource.query(`SELECT attempts, updated_at FROM ingest_items WHERE id = $1`, [done.id]);
    expect(after).toEqual({ attempts: done.attempts, updated_at: done.updated_at });
    expect(await blobs.exists(key)).toBe(false);
    // Its series is checked again, as a crash may have kept the job from queueing that (the series would stay pending).
    const [{ series_id: seriesId }] = await sys.db.dataSource.query(`SELECT series_id FROM instances WHERE id = $1`, [done.instance_id]);
    expect(calls).toEqual([[JobName.SeriesGeometry, { seriesId }]]);
    await expect(pipeline.process('00000000-0000-4000-8000-000000000000')).rejects.toThrow(/does not exist/);
  });

  describe('the same file arriving again while the first copy is cleaned up (it could be deleted under the second: a lost file)', () => {
    const file = ctPhantomSeries({ seed: 'raw-race', slices: 1, rows: 16, columns: 16, patient: { name: 'Raw^Race', id: 'RAW-1' } }).files[0];
    const spool = () => {
      const path = join(mkdtempSync(join(tmpdir(), 'contour-race-')), 'f.dcm');
      writeFileSync(path, file);
      return { path, name: 'again.dcm' };
    };
    const lockClient = async () => {
      const c = new Client({ connectionString: sys.db.url });
      await c.connect();
      return c;
    };
    const settled = (p: Promise<unknown>) => Promise.race([p.then(() => true, () => true), new Promise((r) => setTimeout(() => r(false), 500))]);

    it('a hash given with a received file (the C-STORE receiver hashes as the bytes arrive) is checked against what the store hashes: a wrong one refuses the file', async () => {
      // A file of its own: the tests below count the items of the race file.
      const own = ctPhantomSeries({ seed: 'hash-check', slices: 1, rows: 16, columns: 16, patient: { name: 'Hash^Check', id: 'HASH-1' } }).files[0];
      const spoolOwn = () => {
        const path = join(mkdtempSync(join(tmpdir(), 'contour-hash-')), 'f.dcm');
        writeFileSync(path, own);
        return { path, name: 'hashed.dcm' };
      };
      const receiver = sys.app.get(IngestReceiver);
      const batch = await receiver.openBatch(projectId, IngestSource.CStore, 'hash check', systemActor('test'));
      await expect(receiver.addFiles(batch, [{ ...spoolOwn(), sha256: 'f'.repeat(64) }], systemActor('test'))).rejects.toThrow(/changed while it was being received/);
      const key = createHash('sha256').update(own).digest('hex');
      const [itemId] = await receiver.addFiles(batch, [{ ...spoolOwn(), sha256: key }], systemActor('test'));
      expect((await sys.db.dataSource.getRepository(IngestItem).findOneByOrFail({ id: itemId })).rawBlobKey).toBe(key);
    });

    it('a receiver writes the file and commits its item only when no clean-up of that content is running', async () => {
      const blobs = sys.app.get<BlobStore>(BLOB_STORE);
      const key = (await blobs.put(file)).key;
      const cleanup = await lockClient();
      try {
        await cleanup.query(`SELECT pg_advisory_lock($1::bigint)`, [rawBlobLockId(key)]);
        const receiver = sys.app.get(IngestReceiver);
        const batch = await receiver.openBatch(projectId, IngestSource.Upload, 'race', systemActor('test'));
        const adding = receiver.addFiles(batch, [spool()], systemActor('test'));
        expect(await settled(adding)).toBe(false);
        // The clean-up deletes the content it found unneeded, then lets go.
        await blobs.delete(key);
        await cleanup.query(`SELECT pg_advisory_unlock($1::bigint)`, [rawBlobLockId(key)]);
        const [itemId] = await adding;
        const item = await sys.db.dataSource.getRepository(IngestItem).findOneByOrFail({ id: itemId });
        expect(item.rawBlobKey).toBe(key);
        expect(await blobs.exists(key)).toBe(true);
      } finally {
        await cleanup.end();
      }
    });

    it('a clean-up waits for a receiver writing the same content, then sees its item and keeps the file', async () => {
      const blobs = sys.app.get<BlobStore>(BLOB_STORE);
      // The first test's item, once the worker is done with it (and no other item of this content is pending).
      const items = sys.db.dataSource.getRepository(IngestItem);
      const done = await eventually(async () => {
        const all = await items.findBy({ fileName: 'again.dcm' });
        return all.length === 1 && all[0].status !== 'queued' && all[0].status !== 'processing' ? all[0] : null;
      }, 30_000);
      const key = (await blobs.put(file)).key;
      expect(done.rawBlobKey).toBe(key);
      const receiver = await lockClient();
      try {
        // A receiver in the middle of writing the same file: it holds the shared lock and has not committed its item.
        await receiver.query('BEGIN');
        await receiver.query(`SELECT pg_advisory_xact_lock_shared($1::bigint)`, [rawBlobLockId(key)]);
        const cleaning = sys.app.get(IngestPipeline).dropRawsIfUnused([done]);
        expect(await settled(cleaning)).toBe(false);
        // Its item (as a worker has it: no job of this test's making will process it) commits, and the lock goes.
        await receiver.query(`INSERT INTO ingest_items (batch_id, project_id, file_name, raw_blob_key, size_bytes, status) VALUES ($1, $2, 'again.dcm', $3, $4, 'processing')`, [done.batchId, projectId, key, String(file.length)]);
        await receiver.query('COMMIT');
        await cleaning;
        expect(await blobs.exists(key)).toBe(true);
      } finally {
        await receiver.end();
      }
    });
  });
});
