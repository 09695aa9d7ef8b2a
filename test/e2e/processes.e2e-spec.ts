// The coordinator and worker as separate processes, started from dist/ the way a deployment starts them,
// on real PostgreSQL and Redis: upload over HTTP, process in the worker, read back through the API; and what
// happens to a job when its worker is killed (SIGKILL) or asked to stop (SIGTERM).
import { readdirSync, readFileSync } from 'node:fs';
import { ctPhantomSeries, largeImage } from '@contour/dicom';
import { buildConv3dTestModel } from '@contour/inference';
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

  it('SIGTERM mid pre-label lets the job finish with its model session: the task gets its draft (the session was released under it before)', async () => {
    // A sliding-window model: one session.run per 96^3 patch, with the event loop free between patches, which is
    // where shutdown used to release the session.
    const kernel = Array.from({ length: 27 }, (_, i) => (i === 13 ? 1 : 0));
    const form = new FormData();
    form.append('model', new Blob([new Uint8Array(buildConv3dTestModel({ channelsOut: 2, kernel: 3, weights: [...kernel.map((v) => v * 0.001), ...kernel.map((v) => -v * 0.001)], bias: [0, 0.5] }))]), 'model.onnx');
    form.append('manifest', JSON.stringify({
      schemaVersion: 1, name: 'drain-sliding', version: '1.0.0', description: 'Sliding-window test model', task: 'segmentation-3d',
      appliesTo: { modalities: ['CT'] }, input: { name: 'input', layout: 'NCDHW', channels: 1 }, output: { name: 'output', kind: 'logits' },
      preprocessing: { orientation: 'native', intensity: { kind: 'none' } },
      inference: { mode: 'sliding-window', patchSize: [96, 96, 96], overlap: 0.25, blending: 'gaussian', batchSize: 1 },
      postprocessing: { activation: 'softmax', decision: 'argmax' }, labels: [{ channel: 1, name: 'Dense' }],
    }));
    const model = await api.request('POST', '/api/models', form);
    const project = (await api.request('POST', '/api/projects', { name: 'drain-prelabel', settings: { prelabelModels: [model.id] } })).id;
    const w = await startWorker(['--queues', 'ingest,routing,prelabel']);
    // A 512x512x160 CT: ~100 patches, seconds of inference, so the signal lands while the job runs.
    const series = ctPhantomSeries({ seed: 'drain-prelabel', slices: 160, patient: { name: 'Drain^Pre', id: 'P-DRAIN' } });
    for (let i = 0; i < series.files.length; i += 40) await api.upload(project, series.files.slice(i, i + 40).map((data, k) => ({ name: `${i + k}.dcm`, data })));
    const task = await eventually(async () => {
      const [t] = await api.request('GET', `/api/projects/${project}/tasks`);
      return t && (await api.request('GET', `/api/projects/${project}/tasks/${t.id}/prelabel`)).state === 'active' ? t : null;
    }, 120_000, 20);
    // Into the patches (loading the series takes a fraction of a second).
    await new Promise((r) => setTimeout(r, 1000));
    expect(await w.stop('SIGTERM')).toEqual({ code: null, signal: 'SIGTERM' });
    const after = await api.request('GET', `/api/projects/${project}/tasks/${task.id}`);
    expect(after.state).toBe('ready');
    expect(after.labels.filter((l: { kind: string }) => l.kind === 'draft')).toHaveLength(1);
  });
});
