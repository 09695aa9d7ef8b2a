// Ingest throughput against a real Orthanc on the same machine, over REST/upload and over C-STORE, with one
// and two workers; peak worker memory on large inputs; volume building against dcm2niix.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ctPhantomSeries, largeImage } from '../libs/dicom/src';
import { startOrthanc } from '../test/support/orthanc';
import { freePort } from '../test/support/processes';
import { fmt, peakRssMb, startContour, timed, until } from './harness';

const run = promisify(execFile);
const SLICES = Number(process.env.BENCH_SLICES ?? 300);

async function writeSeries(dir: string, seed: string, slices: number, size = 512) {
  const s = ctPhantomSeries({ seed, slices, rows: size, columns: size, patient: { name: 'Bench^Patient', id: `BENCH-${seed}` }, shuffle: true });
  s.files.forEach((f, i) => writeFileSync(join(dir, `${String(i).padStart(4, '0')}.dcm`), f));
  return readdirSync(dir).map((f) => join(dir, f));
}

async function uploadAll(contour: Awaited<ReturnType<typeof startContour>>, projectId: string, files: string[], perRequest = 50, parallel = 2) {
  const chunks: string[][] = [];
  for (let i = 0; i < files.length; i += perRequest) chunks.push(files.slice(i, i + perRequest));
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++];
        await contour.api.upload(projectId, await Promise.all(chunk.map(async (p) => ({ name: p.split('/').pop()!, data: await readFile(p) }))));
      }
    }),
  );
}

const stored = async (contour: Awaited<ReturnType<typeof startContour>>, projectId: string) =>
  Number((await contour.db.dataSource.query(`SELECT count(*)::int AS n FROM ingest_items WHERE project_id = $1 AND status IN ('stored', 'duplicate', 'quarantined')`, [projectId]))[0].n);

export async function main(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  const files = await writeSeries(dir, 'ingest', SLICES);
  const mb = files.length * 0.5;
  const rows: string[] = [];

  // Orthanc, REST (POST /instances, 4 in flight) and C-STORE (storescu, one association).
  const orthanc = await startOrthanc();
  const rest = await timed(async () => {
    let i = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (i < files.length) await orthanc.upload(await readFile(files[i++]));
    }));
  });
  await orthanc.stop();
  const orthanc2 = await startOrthanc();
  const cstore = await timed(() => run('storescu', ['-aec', 'ORTHANC', '127.0.0.1', String(orthanc2.dicomPort), ...files], { maxBuffer: 1 << 26 }));
  await orthanc2.stop();
  rows.push(`| Orthanc 1.10 | REST, 4 in flight | ${files.length} | ${fmt(rest.ms / 1000)} s | ${fmt(files.length / (rest.ms / 1000))} |`);
  rows.push(`| Orthanc 1.10 | C-STORE (storescu) | ${files.length} | ${fmt(cstore.ms / 1000)} s | ${fmt(files.length / (cstore.ms / 1000))} |`);

  for (const workers of [1, 2]) {
    const dicomPort = await freePort();
    const contour = await startContour({ workers, queues: 'ingest,routing', env: { DICOM_ENABLED: 'true', DICOM_PORT: String(dicomPort), WORKER_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? '2' } });
    const project = (await contour.api.request('POST', '/api/projects', { name: 'bench' })).id;
    await contour.api.request('PUT', `/api/projects/${project}/ae-routes/BENCH`);
    const up = await timed(async () => {
      await uploadAll(contour, project, files);
      await until(async () => (await stored(contour, project)) >= files.length);
    });
    rows.push(`| Contour, ${workers} worker(s) | HTTP upload (50 files/request, 2 in flight) | ${files.length} | ${fmt(up.ms / 1000)} s | ${fmt(files.length / (up.ms / 1000))} |`);
    const project2 = (await contour.api.request('POST', '/api/projects', { name: 'bench-cstore' })).id;
    await contour.api.request('DELETE', `/api/projects/${project}/ae-routes/BENCH`);
    await contour.api.request('PUT', `/api/projects/${project2}/ae-routes/BENCH`);
    const cs = await timed(async () => {
      await run('storescu', ['-aet', 'BENCH', '-aec', 'CONTOUR', '127.0.0.1', String(dicomPort), ...files], { maxBuffer: 1 << 26 });
      await until(async () => (await stored(contour, project2)) >= files.length);
    });
    rows.push(`| Contour, ${workers} worker(s) | C-STORE (storescu) | ${files.length} | ${fmt(cs.ms / 1000)} s | ${fmt(files.length / (cs.ms / 1000))} |`);
    rows.push(`| | worker peak RSS | | | ${contour.workers.map((w) => `${fmt(peakRssMb(w.child.pid!), 0)} MB`).join(', ')} |`);
    await contour.stop();
  }

  // Volume building vs dcm2niix on the same series, each in a fresh process (bench/volume-build.ts), three
  // times; the median counts. Two Contour paths: stacking the stored values as they are (what dcm2niix does:
  // it writes the raw integers with scl_slope/scl_inter), and the NIfTI build Contour runs (HU values into
  // int16, one file at a time into the volume, the geometry from the ingest index).
  const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
  const contourBuild = async (mode: 'raw' | 'hu') => JSON.parse((await run(process.execPath, [join(__dirname, 'volume-build.js'), dir, mode])).stdout).ms as number;
  const d2nRuns: number[] = [];
  const rawRuns: number[] = [];
  const huRuns: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    d2nRuns.push((await timed(() => run('/usr/bin/dcm2niix', ['-z', 'n', '-f', 'ref', '-o', mkdtempSync(join(tmpdir(), 'd2n-')), dir]))).ms);
    rawRuns.push(await contourBuild('raw'));
    huRuns.push(await contourBuild('hu'));
  }
  const d2n = { ms: median(d2nRuns) };
  const vol = { ms: median(rawRuns) };
  const volHu = { ms: median(huRuns) };

  // Large inputs: a 5-megapixel mammogram and ~1 GB of CT (2000 slices of 512x512, in ten series of 200), peak
  // RSS of the ingest worker and, separately, of the routing worker (geometry checks and the ahead-of-use NIfTI
  // builds, which hold a whole series).
  const large = await startContour({ workers: 2, workerQueues: ['ingest', 'routing'] });
  const project3 = (await large.api.request('POST', '/api/projects', { name: 'large' })).id;
  const mg = largeImage({ seed: 'mg', rows: 2560, columns: 2048 });
  await large.api.upload(project3, [{ name: 'mg.dcm', data: mg }]);
  await until(async () => (await stored(large, project3)) >= 1);
  const mgRss = peakRssMb(large.workers[0].child.pid!);
  const bigDir = mkdtempSync(join(tmpdir(), 'bench-big-'));
  const bigSlices = Number(process.env.BENCH_BIG_SLICES ?? 2000);
  for (let start = 0; start < bigSlices; start += 200) {
    const s = ctPhantomSeries({ seed: `big-${start}`, slices: Math.min(200, bigSlices - start), patient: { name: 'Big^Series', id: 'BIG' } });
    s.files.forEach((f, i) => writeFileSync(join(bigDir, `${String(start + i).padStart(5, '0')}.dcm`), f));
  }
  const bigFiles = readdirSync(bigDir).map((f) => join(bigDir, f));
  const big = await timed(async () => {
    await uploadAll(large, project3, bigFiles, 100, 2);
    await until(async () => (await stored(large, project3)) >= bigFiles.length + 1, 1_800_000, 500);
  });
  const bigRss = peakRssMb(large.workers[0].child.pid!);
  const coordRss = peakRssMb(large.coordinator.child.pid!);
  const routingRss = peakRssMb(large.workers[1].child.pid!);
  await large.stop();

  return [
    `Series: ${files.length} synthetic CT slices, 512x512 16-bit (${fmt(mb, 0)} MB), shuffled order; PostgreSQL and Redis local; coordinator and workers as separate processes. Instances/s counts from the first byte sent until every instance is stored and indexed (Contour: parsed, de-identified, checked, pixel-decoded, stored, indexed).`,
    '',
    '| system | path | instances | time | instances/s |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Volume geometry + assembly of the ${files.length}-slice series (median of 3): Contour ${fmt(vol.ms / 1000, 2)} s (read, parse, decode, sort along the normal, stack the stored values) vs dcm2niix ${fmt(d2n.ms / 1000, 2)} s (ratio ${fmt(vol.ms / d2n.ms, 2)}); Contour's NIfTI build path (HU into int16, one file at a time) ${fmt(volHu.ms / 1000, 2)} s (ratio ${fmt(volHu.ms / d2n.ms, 2)}).`,
    '',
    `Large inputs, one ingest worker and one routing worker: 5-megapixel 16-bit mammogram stored with ingest worker peak RSS ${fmt(mgRss, 0)} MB; ${bigFiles.length} CT slices in ${Math.ceil(bigFiles.length / 200)} series of 200 (${fmt(bigFiles.length * 0.5, 0)} MB) ingested in ${fmt(big.ms / 1000, 0)} s with ingest worker peak RSS ${fmt(bigRss, 0)} MB (coordinator ${fmt(coordRss, 0)} MB; routing worker, which built the series' NIfTIs, ${fmt(routingRss, 0)} MB).`,
  ].join('\n');
}
