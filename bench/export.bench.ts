// Export speed per volume (nnU-Net NIfTI image + label) against dcm2niix converting the same series plus
// writing the label file, and the export worker's memory. Annotated CT volumes are built through the API.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { Queue } from 'bullmq';
import { ctPhantomSeries } from '../libs/dicom/src';
import { writeNifti } from '../libs/volume/src';
import { fmt, peakRssMb, startContour, timed, until } from './harness';

const run = promisify(execFile);
const VOLUMES = Number(process.env.BENCH_EXPORT_VOLUMES ?? 5);
const SLICES = Number(process.env.BENCH_EXPORT_SLICES ?? 300);

export async function main(): Promise<string> {
  const contour = await startContour({ workers: 1, env: { WORKER_CONCURRENCY: '2' } });
  const api = contour.api;
  const project = (await api.request('POST', '/api/projects', { name: 'export-bench', settings: { quality: { reads: 1, reviewRequired: false } } })).id;
  await api.request('POST', `/api/projects/${project}/protocols`, { labels: [{ id: 1, name: 'Lesion', color: '#ff0000' }], annotationTypes: [{ kind: 'segmentation-3d' }] });
  const me = await api.request('GET', '/api/auth/me');
  await api.request('PUT', `/api/projects/${project}/members/${me.id}`, { roles: ['manager', 'annotator'] });
  const dirs: string[] = [];
  for (let v = 0; v < VOLUMES; v++) {
    const s = ctPhantomSeries({ seed: `export-${v}`, slices: SLICES, patient: { name: `Export^${v}`, id: `EXP-${v}`, sex: v % 2 ? 'F' : 'M' } });
    const dir = mkdtempSync(join(tmpdir(), `exp-${v}-`));
    s.files.forEach((f, i) => writeFileSync(join(dir, `${i}.dcm`), f));
    dirs.push(dir);
    for (let i = 0; i < s.files.length; i += 50) await api.upload(project, s.files.slice(i, i + 50).map((f, k) => ({ name: `${v}-${i + k}.dcm`, data: f })));
  }
  await until(async () => (await api.request('GET', `/api/projects/${project}/tasks?state=ready&limit=1000`)).length === VOLUMES, 3_600_000, 2000);
  const [nx, ny, nz] = [512, 512, SLICES];
  const mask = new Uint8Array(nx * ny * nz);
  for (let z = 0; z < nz; z++) for (let y = 150; y < 250; y++) for (let x = 150; x < 250; x++) mask[x + nx * (y + ny * z)] = 1;
  const body = { mask: deflateSync(mask).toString('base64') };
  for (;;) {
    const res = await fetch(`${contour.base}/api/projects/${project}/tasks/next`, { method: 'POST', headers: { authorization: `Bearer ${api.token}` } });
    if (res.status === 204) break;
    const lease = (await res.json()) as { readId: string };
    await api.request('POST', `/api/projects/${project}/reads/${lease.readId}/submit`, body);
  }
  await until(async () => ((await api.request('GET', `/api/projects/${project}/stats`)).byState.find((s: { state: string }) => s.state === 'approved')?.n ?? 0) === VOLUMES, 600_000, 1000);

  // How long the ahead-of-use NIfTI builds took (done by the routing worker after each series' geometry check).
  const routing = new Queue('routing', { connection: { url: contour.env.REDIS_URL! } as never, prefix: contour.env.QUEUE_PREFIX });
  const builds = (await routing.getJobs(['completed'], 0, 10_000)).filter((j) => j.name === 'routing.series-volume').map((j) => j.finishedOn! - j.processedOn!);
  await routing.close();
  const exportOnce = () =>
    timed(async () => {
      const created = await api.request('POST', `/api/projects/${project}/exports`, { options: { formats: ['nnunet'] } });
      await until(async () => (await api.request('GET', `/api/projects/${project}/exports/${created.id}`)).state === 'done', 3_600_000, 500);
    });
  const exp = await exportOnce();
  // The cold path: forget the cached volumes, so the export builds every NIfTI from the DICOM instances itself.
  await contour.db.dataSource.query(`UPDATE series SET volume_blob_key = NULL WHERE source = 'dicom'`);
  const cold = await exportOnce();
  const workerRss = peakRssMb(contour.workers[0].child.pid!);
  await contour.stop();

  // Reference: dcm2niix on each series, plus writing the label NIfTI.
  const ref = await timed(async () => {
    for (const dir of dirs) {
      const out = mkdtempSync(join(tmpdir(), 'd2n-'));
      await run('/usr/bin/dcm2niix', ['-z', 'y', '-f', 'img', '-o', out, dir]);
      writeFileSync(join(out, 'label.nii.gz'), writeNifti({ dims: [nx, ny, nz], affineRas: [[-0.7, 0, 0, 0], [0, -0.7, 0, 0], [0, 0, 1.25, 0], [0, 0, 0, 1]], data: mask, gzip: true }));
      rmSync(out, { recursive: true, force: true });
    }
  });
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  return [
    `${VOLUMES} approved CT volumes of 512x512x${SLICES} (16-bit), nnU-Net export (gzipped NIfTI image + label per case, dataset.json, splits, provenance, balance report, zip).`,
    '',
    '| | total | per volume |',
    '|---|---|---|',
    `| Contour export (whole job incl. archive), volumes built ahead of use (default) | ${fmt(exp.ms / 1000, 1)} s | ${fmt(exp.ms / 1000 / VOLUMES, 2)} s |`,
    `| the ahead-of-use NIfTI builds themselves (routing worker, during ingest; ${builds.length} jobs) | ${fmt(builds.reduce((a, b) => a + b, 0) / 1000, 1)} s | ${fmt(builds.reduce((a, b) => a + b, 0) / 1000 / Math.max(1, builds.length), 2)} s |`,
    `| Contour export, cold (every NIfTI built from the DICOM instances inside the export job) | ${fmt(cold.ms / 1000, 1)} s | ${fmt(cold.ms / 1000 / VOLUMES, 2)} s |`,
    `| dcm2niix -z y + label NIfTI | ${fmt(ref.ms / 1000, 1)} s | ${fmt(ref.ms / 1000 / VOLUMES, 2)} s |`,
    '',
    `Export worker peak RSS: ${fmt(workerRss, 0)} MB (the worker also ran ingest and consensus for the set-up).`,
  ].join('\n');
}
