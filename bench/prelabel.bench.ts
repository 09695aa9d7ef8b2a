// Pre-labelling cost and scaling through the real queue and worker processes: the overhead of a whole job
// (load, conform, infer, post-process, resample back, write SEG/label, store) over the bare session.run time,
// for MeshNet on the T1 volume and a sliding-window model on a 512x512x300 CT; batch throughput with one and
// two workers; the worker's peak memory.
import { readFileSync } from 'node:fs';
import { Job, Queue } from 'bullmq';
import { onnx } from 'onnx-proto';
import { Client } from 'pg';
import { buildConv3dTestModel, MESHNET_MANIFEST, parseModelManifest } from '../libs/inference/src';
import { prelabelJobId } from '../libs/queue/src/jobs';
import { ctPhantomSeries } from '../libs/dicom/src';
import { dataPath } from '../test/support/env';
import { fmt, peakRssMb, startContour, until } from './harness';

const BATCH = Number(process.env.BENCH_BATCH ?? 20);
/** Which parts to run: meshnet, sliding, sliding-meshnet, batch (all by default). */
const PARTS = (process.env.BENCH_PRELABEL_PARTS ?? 'meshnet,sliding,sliding-meshnet,batch').split(',');

async function registerModel(contour: Awaited<ReturnType<typeof startContour>>, file: Uint8Array, manifest: unknown) {
  const form = new FormData();
  form.append('model', new Blob([new Uint8Array(file)]), 'model.onnx');
  form.append('manifest', JSON.stringify(manifest));
  return (await contour.api.request('POST', '/api/models', form)).id as string;
}

async function jobStats(contour: Awaited<ReturnType<typeof startContour>>, project: string, modelId: string) {
  const queue = new Queue('prelabel', { connection: { url: process.env.REDIS_URL }, prefix: contour.env.QUEUE_PREFIX });
  const tasks: { id: string }[] = await contour.api.request('GET', `/api/projects/${project}/tasks?limit=1000`);
  const out = [];
  for (const t of tasks) {
    const job = await Job.fromId(queue, prelabelJobId(t.id, [modelId]));
    const detail = await contour.api.request('GET', `/api/projects/${project}/tasks/${t.id}`);
    const draft = detail.labels.find((l: { kind: string }) => l.kind === 'draft');
    out.push({ jobMs: job!.finishedOn! - job!.processedOn!, start: job!.processedOn!, end: job!.finishedOn!, sessionRunMs: draft?.stats?.timing?.sessionRunMs as number, timing: draft?.stats?.timing });
  }
  await queue.close();
  return out.sort((a, b) => a.start - b.start);
}

async function prelabelProject(contour: Awaited<ReturnType<typeof startContour>>, modelId: string, modality: string) {
  return (await contour.api.request('POST', '/api/projects', { name: `prelabel-${Math.random()}`, settings: { prelabelModels: [modelId], expectedModalities: [modality] } })).id as string;
}

const readyCount = async (contour: Awaited<ReturnType<typeof startContour>>, project: string) =>
  (await contour.api.request('GET', `/api/projects/${project}/tasks?state=ready&limit=1000`)).length as number;

function slidingManifest(name: string, intensity: Record<string, unknown>, labels: { channel: number; name: string }[]) {
  return parseModelManifest({
    schemaVersion: 1, name, version: '1.0.0', description: 'Sliding-window benchmark model', task: 'segmentation-3d',
    appliesTo: { modalities: ['CT'] }, input: { name: 'input', layout: 'NCDHW', channels: 1 }, output: { name: 'output', kind: 'logits' },
    preprocessing: { orientation: 'native', intensity },
    inference: { mode: 'sliding-window', patchSize: [96, 96, 96], overlap: 0.25, blending: 'gaussian', batchSize: 1 },
    postprocessing: { activation: 'softmax', decision: 'argmax' },
    labels,
  });
}

/**
 * MeshNet is fully convolutional, but its file declares the 256^3 grid it was trained on: the same weights with
 * the spatial dimensions of input and output made symbolic, so onnxruntime accepts 96^3 patches.
 */
function withDynamicSpatialDims(model: Uint8Array): Uint8Array {
  const proto = onnx.ModelProto.decode(model);
  for (const value of [...proto.graph!.input!, ...proto.graph!.output!])
    value.type!.tensorType!.shape!.dim!.forEach((d, i) => {
      if (i < 2) return;
      delete d.dimValue;
      d.dimParam = ['D', 'H', 'W'][i - 2];
    });
  proto.graph!.valueInfo = [];
  return onnx.ModelProto.encode(proto).finish();
}

/**
 * One model through the whole job on two CT series, one after the other: the first job is the worker's first
 * (cold), the second runs warm, as MeshNet's warm jobs above (a worker pre-labels one series after another).
 * Each job runs alone: the prelabel queue is paused while the series is ingested and its NIfTI built ahead of
 * use, so nothing else shares the two cores.
 */
async function slidingWindowRow(label: string, model: Uint8Array, manifest: unknown): Promise<string> {
  const contour = await startContour({ workers: 1, queues: 'ingest,routing,prelabel', env: { WORKER_CONCURRENCY: '2' } });
  const modelId = await registerModel(contour, model, manifest);
  const project = await prelabelProject(contour, modelId, 'CT');
  const queue = new Queue('prelabel', { connection: { url: process.env.REDIS_URL }, prefix: contour.env.QUEUE_PREFIX });
  const db = new Client({ connectionString: contour.env.DATABASE_URL });
  await db.connect();
  for (const [n, seed] of ['sw', 'sw2'].entries()) {
    await queue.pause();
    const series = ctPhantomSeries({ seed, slices: 300, patient: { name: `Sw^Bench${n}`, id: `SW${n}` } });
    for (let i = 0; i < series.files.length; i += 50) await contour.api.upload(project, series.files.slice(i, i + 50).map((f, k) => ({ name: `${i + k}.dcm`, data: f })));
    await until(async () => (await db.query(`SELECT count(*)::int AS n FROM series WHERE project_id = $1 AND volume_blob_key IS NOT NULL`, [project])).rows[0].n === n + 1, 1_200_000, 1000);
    await until(async () => (await contour.api.request('GET', `/api/projects/${project}/tasks?state=prelabelling&limit=10`)).length === 1, 600_000, 1000);
    await queue.resume();
    await until(async () => (await readyCount(contour, project)) === n + 1, 1_200_000, 1000);
  }
  await db.end();
  await queue.close();
  const [cold, s] = await jobStats(contour, project, modelId);
  const rss = peakRssMb(contour.workers[0].child.pid!);
  await contour.stop();
  const breakdown = (x: typeof s) => JSON.stringify(Object.fromEntries(Object.entries(x.timing).map(([k, v]) => [k, Math.round(Number(v))])));
  return [
    `| ${label} | CT 512x512x300 | ${fmt(s.jobMs / 1000, 2)} s | ${fmt(s.sessionRunMs / 1000, 2)} s | ${fmt(s.jobMs / s.sessionRunMs, 3)} |`,
    `\n${label}, job breakdown (warm): ${breakdown(s)}. The worker's first job (cold): ${fmt(cold.jobMs / 1000, 2)} s / ${fmt(cold.sessionRunMs / 1000, 2)} s = ${fmt(cold.jobMs / cold.sessionRunMs, 3)}, ${breakdown(cold)}. Worker peak RSS ${fmt(rss, 0)} MB.\n`,
  ].join('\n');
}

export async function main(): Promise<string> {
  const lines: string[] = ['| model | volume | job (warm) | bare session.run | overhead (job / session.run) |', '|---|---|---|---|---|'];
  const t1 = readFileSync(dataPath('nifti/t1-brain-256.nii.gz'));
  const meshnet = readFileSync(dataPath('models/meshnet-gwm/model.onnx'));

  // 1. MeshNet overhead, and the worker's peak memory.
  if (PARTS.includes('meshnet')) {
    const contour = await startContour({ workers: 1, queues: 'ingest,routing,prelabel', env: { WORKER_CONCURRENCY: '1' } });
    const modelId = await registerModel(contour, meshnet, MESHNET_MANIFEST);
    const project = await prelabelProject(contour, modelId, 'MR');
    for (const s of ['a', 'b', 'c']) {
      const f = new FormData();
      f.append('files', new Blob([new Uint8Array(t1)]), `t1-${s}.nii.gz`);
      await contour.api.request('POST', `/api/projects/${project}/uploads?modality=MR&subject=S-${s}`, f);
    }
    await until(async () => (await readyCount(contour, project)) === 3, 600_000, 1000).catch(async (e: Error) => {
      const tasks = await contour.api.request('GET', `/api/projects/${project}/tasks?limit=1000`);
      throw new Error(`${e.message}; tasks: ${JSON.stringify(tasks.map((t: { state: string; stateReason?: string }) => [t.state, t.stateReason]))}\nworker:\n${contour.workers[0].output().slice(-3000)}`);
    });
    const stats = await jobStats(contour, project, modelId);
    const warm = stats.slice(1);
    const ratio = warm.reduce((a, s) => a + s.jobMs / s.sessionRunMs, 0) / warm.length;
    lines.push(`| MeshNet (256^3 whole volume) | T1 256^3 NIfTI | ${fmt(warm[0].jobMs / 1000, 2)} s | ${fmt(warm[0].sessionRunMs / 1000, 2)} s | ${fmt(ratio, 3)} |`);
    lines.push(`\nWorker peak RSS running MeshNet: ${fmt(peakRssMb(contour.workers[0].child.pid!), 0)} MB. Job breakdown (warm): ${JSON.stringify(Object.fromEntries(Object.entries(warm[0].timing).map(([k, v]) => [k, Math.round(Number(v))])))}.`);
    await contour.stop();
  }

  // 2. Sliding window on a 512x512x300 CT (patch 96^3, overlap 0.25, gaussian): a single 3x3x3 convolution (the
  // cheapest model there is: what is left of the job is Contour's own cost), and the real pre-trained MeshNet
  // network run patch by patch (a real network's cost per voxel).
  if (PARTS.includes('sliding')) {
    const kernel = Array.from({ length: 27 }, (_, i) => (i === 13 ? 1 : 0));
    const model = buildConv3dTestModel({ channelsOut: 2, kernel: 3, weights: [...kernel.map((v) => v * 0.001), ...kernel.map((v) => -v * 0.001)], bias: [0, 0.5] });
    const manifest = slidingManifest('sw-bench', { kind: 'none' }, [{ channel: 1, name: 'Dense' }]);
    lines.push(await slidingWindowRow('sliding window, one 3x3x3 convolution (2 channels)', model, manifest));
  }
  if (PARTS.includes('sliding-meshnet')) {
    const labels = MESHNET_MANIFEST.labels.map(({ channel, name }) => ({ channel, name }));
    const manifest = slidingManifest('sw-meshnet-bench', { kind: 'minmax' }, labels);
    lines.push(await slidingWindowRow('sliding window, MeshNet (pre-trained, 10 layers, 3 channels)', withDynamicSpatialDims(meshnet), manifest));
  }

  // 3. Batch of volumes, one vs two worker processes (one ONNX thread each: two workers on two cores).
  const batchTimes: number[] = [];
  for (const workers of PARTS.includes('batch') ? [1, 2] : []) {
    const contour = await startContour({ workers, queues: 'ingest,routing,prelabel', env: { WORKER_CONCURRENCY: '1', INFERENCE_THREADS: '1' } });
    const modelId = await registerModel(contour, meshnet, MESHNET_MANIFEST);
    const project = await prelabelProject(contour, modelId, 'MR');
    // Ingest the batch with the prelabel queue paused, then time the prelabel work alone.
    const queue = new Queue('prelabel', { connection: { url: process.env.REDIS_URL }, prefix: contour.env.QUEUE_PREFIX });
    await queue.pause();
    for (let i = 0; i < BATCH; i++) {
      const f = new FormData();
      f.append('files', new Blob([new Uint8Array(t1)]), `t1-${i}.nii.gz`);
      await contour.api.request('POST', `/api/projects/${project}/uploads?modality=MR&subject=B-${i}`, f);
    }
    await until(async () => (await contour.api.request('GET', `/api/projects/${project}/tasks?state=prelabelling&limit=1000`)).length === BATCH, 600_000, 1000);
    const t0 = Date.now();
    await queue.resume();
    await until(async () => (await readyCount(contour, project)) === BATCH, 3_600_000, 1000);
    batchTimes.push((Date.now() - t0) / 1000);
    await queue.close();
    await contour.stop();
  }
  if (batchTimes.length) lines.push(`\nBatch of ${BATCH} T1 volumes through MeshNet (INFERENCE_THREADS=1 per worker): one worker ${fmt(batchTimes[0], 0)} s, two workers ${fmt(batchTimes[1], 0)} s (ratio ${fmt(batchTimes[1] / batchTimes[0], 2)}).`);
  return lines.join('\n');
}
