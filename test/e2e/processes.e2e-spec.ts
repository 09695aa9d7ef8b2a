// The coordinator and worker as separate processes, started from dist/ the way a deployment starts them,
// on real PostgreSQL and Redis: upload over HTTP, process in the worker, read back through the API; and what
// happens to a job when its worker is killed (SIGKILL) or asked to stop (SIGTERM).
import { readdirSync, readFileSync } from 'node:fs';
import { largeImage } from '@contour/dicom';
import { openTestDatabase, TestDatabase } from '../support/database';
import { dataPath } from '../support/env';
import { ApiClient, contourEnv, coordinatorScript, removeDataDir, RunningProcess, startProcess, waitForHealthy, workerScript } from '../support/processes';
import { eventually } from '../support/system';

describe('coordinator and worker processes', () => {
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let coordinator: RunningProcess;
  const workers: RunningProcess[] = [];
  let api: ApiClient;
  let projectId: string;

  beforeAll(async () => {
    db = await openTestDatabase();
    // Short job locks so a killed worker's job is redelivered within seconds (production default: 30 s).
    env = await contourEnv(db.url, { JOB_LOCK_MS: '3000' });
    coordinator = startProcess(coordinatorScript, [], env);
    const base = `http://127.0.0.1:${env.PORT}`;
    await waitForHealthy(base);
    api = await new ApiClient(base).login('admin', env.CONTOUR_ADMIN_PASSWORD!);
    projectId = (await api.request('POST', '/api/projects', { name: 'e2e' })).id;
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await coordinator?.stop();
    await db.close();
    removeDataDir(env);
  });

  const startWorker = async (args: string[] = ['--queues', 'ingest']) => {
    const w = startProcess(workerScript, args, env);
    workers.push(w);
    await w.waitForOutput(/Contour worker ready/);
    return w;
  };
  const batch = (id: string) => api.request('GET', `/api/projects/${projectId}/uploads/${id}?items=true`);
  const itemStatus = async (fileName: string) =>
    ((await db.dataSource.query(`SELECT status FROM ingest_items WHERE file_name = $1`, [fileName]))[0]?.status as string | undefined) ?? null;

  it('a worker with an unknown queue in --queues refuses to start and says which', async () => {
    const w = startProcess(workerScript, ['--queues', 'ingest,gpu'], env);
    await w.waitForOutput(/Unknown queue\(s\) gpu/);
    expect(await w.exited).toEqual({ code: 1, signal: null });
  });

  it('uploads a real MR series over HTTP; the worker process stores every slice', async () => {
    await startWorker();
    const dir = dataPath('dicom/series/mr-t1-vs-seg-001');
    const files = readdirSync(dir).map((name) => ({ name, data: readFileSync(`${dir}/${name}`) }));
    files.push({ name: 'truncated.dcm', data: readFileSync(dataPath('dicom/broken/rtplan-truncated.dcm')) });
    const up = await api.upload(projectId, files);
    const done = await eventually(async () => {
      const b = await batch(up.batchId);
      return b.done ? b : null;
    }, 60_000);
    expect(done.counts).toMatchObject({ stored: 24, quarantined: 1 });
    const list = await api.request('GET', `/api/projects/${projectId}/instances?limit=100`);
    expect(list.total).toBe(24);
    const series = await api.request('GET', `/api/projects/${projectId}/series`);
    expect(series).toEqual([expect.objectContaining({ modality: 'MR', instanceCount: 24 })]);
  });

  it('SIGKILL of the worker mid-job loses nothing: the job is redelivered and the instance stored once', async () => {
    const [first] = workers;
    const big = largeImage({ seed: 'sigkill', rows: 6000, columns: 6000, modality: 'OT' }); // 72 MB of pixels
    const up = await api.upload(projectId, [{ name: 'big.dcm', data: big }]);
    await eventually(async () => (await itemStatus('big.dcm')) === 'processing', 30_000, 5);
    first.child.kill('SIGKILL');
    await first.stop();
    expect(await itemStatus('big.dcm')).toBe('processing');
    await startWorker();
    const done = await eventually(async () => {
      const b = await batch(up.batchId);
      return b.done ? b : null;
    }, 60_000);
    expect(done.counts).toMatchObject({ stored: 1 });
    const rows = await db.dataSource.query(`SELECT count(*)::int AS n FROM instances WHERE rows = 6000`);
    expect(rows[0].n).toBe(1);
    const [{ attempts }] = await db.dataSource.query(`SELECT attempts FROM ingest_items WHERE file_name = 'big.dcm'`);
    expect(attempts).toBe(2);
  });

  it('SIGTERM lets the job in progress finish before the worker exits', async () => {
    const w = workers[workers.length - 1];
    const big = largeImage({ seed: 'sigterm', rows: 6000, columns: 6000, modality: 'OT' });
    await api.upload(projectId, [{ name: 'drain.dcm', data: big }]);
    await eventually(async () => (await itemStatus('drain.dcm')) === 'processing', 30_000, 5);
    // Nest closes the application, then re-raises the signal, so the process ends by SIGTERM, not by a crash.
    expect(await w.stop('SIGTERM')).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await itemStatus('drain.dcm')).toBe('stored');
    expect(w.output()).toMatch(/Draining 1 worker\(s\) on SIGTERM/);
  });
});
