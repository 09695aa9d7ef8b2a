// The annotator's view in a real browser (Debian Chromium, WebGL through SwiftShader) against a real coordinator
// and worker: time from "Next task" to the first image of a 5-megapixel mammogram, with the series volume
// built ahead of use (the default) and built on first open (VOLUME_PREBUILD_MAX_MB=0), and how long one slice
// step takes when scrolling a 512x512 CT.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance as clock } from 'node:perf_hooks';
import { chromium, Page } from 'playwright-core';
import { ctPhantomSeries, largeImage } from '../libs/dicom/src/synthetic';
import { ApiClient } from '../test/support/processes';
import { Contour, fmt, startContour, until } from './harness';

const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 3);
const CT_SLICES = Number(process.env.BENCH_WEB_CT_SLICES ?? 200);
// BENCH_WEB_PROFILE: a directory for a CPU profile of the page opening the CT.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'];
const PASSWORD = 'annotator-password-1';

interface Metrics {
  firstImageMs: number;
  fetchMs: number;
  decodeMs: number;
  bytes: number;
}

type WindowWithContour = Window & { contour?: { metrics: Metrics; timeline: { openedAt: number; readyAt: number }; viewer: { scroll(d: number): void; sliceInfo(): { index: number; count: number } }; kind: string } };

async function project(contour: Contour, name: string, annotator: string, kind: string): Promise<string> {
  const id = (await contour.api.request('POST', '/api/projects', { name, settings: { quality: { reads: 1, reviewRequired: false } } })).id as string;
  await contour.api.request('PUT', `/api/projects/${id}/members/${annotator}`, { roles: ['annotator'] });
  await contour.api.request('POST', `/api/projects/${id}/protocols`, { labels: [{ id: 1, name: 'Finding', color: '#ef4444' }], annotationTypes: [{ kind }] });
  return id;
}

async function readyTasks(api: ApiClient, projectId: string, n: number) {
  await until(async () => ((await api.request('GET', `/api/projects/${projectId}/tasks`)) as { state: string }[]).filter((t) => t.state === 'ready').length >= n, 300_000, 250);
}

async function signIn(base: string, page: Page) {
  await page.goto(`${base}/projects`);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Username').fill('bench-annotator');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/`);
}

/** Clicks "Next task" and waits for the viewer; returns the app's own metrics and the wall time from the click. */
async function openNext(base: string, page: Page, projectId: string): Promise<Metrics & { clickToImageMs: number }> {
  await page.goto(`${base}/projects/${projectId}/annotate`);
  await page.evaluate(() => delete (window as WindowWithContour).contour);
  const pageClickAt = await page.evaluate(() => performance.now());
  const t0 = clock.now();
  await page.getByRole('button', { name: 'Next task' }).click();
  await page.waitForFunction(() => (window as WindowWithContour).contour?.kind === 'annotation', null, { timeout: 120_000 });
  const clickToImageMs = clock.now() - t0;
  const c = await page.evaluate(() => ({ metrics: (window as WindowWithContour).contour!.metrics, timeline: (window as WindowWithContour).contour!.timeline }));
  if (process.env.BENCH_WEB_PROFILE) console.error(`click -> task screen ${Math.round(c.timeline.openedAt - pageClickAt)} ms, first image +${Math.round(c.metrics.firstImageMs)} ms, ready ${Math.round(c.timeline.readyAt - c.timeline.openedAt)} ms after opening`);
  return { ...c.metrics, clickToImageMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function run(prebuildMaxMb: string) {
  const contour = await startContour({ workers: 1, env: { VOLUME_PREBUILD_MAX_MB: prebuildMaxMb, DICOM_ENABLED: 'false' } });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const annotator = (await contour.api.request('POST', '/api/users', { username: 'bench-annotator', password: PASSWORD, roles: ['annotator'] })).id as string;
    const mammo = await project(contour, 'Mammography', annotator, 'segmentation-2d');
    for (let i = 0; i < RUNS; i++) await contour.api.upload(mammo, [{ name: `mg${i}.dcm`, data: largeImage({ seed: `bench-web-mg-${prebuildMaxMb}-${i}`, rows: 2560, columns: 2048 }) }]);
    const ct = await project(contour, 'CT', annotator, 'segmentation-3d');
    const phantom = ctPhantomSeries({ seed: `bench-web-ct-${prebuildMaxMb}`, slices: CT_SLICES, patient: { name: 'Bench^CT', id: 'BENCH-CT' } });
    for (let i = 0; i < phantom.files.length; i += 50) await contour.api.upload(ct, phantom.files.slice(i, i + 50).map((data, k) => ({ name: `ct${i + k}.dcm`, data })));
    await readyTasks(contour.api, mammo, RUNS);
    await readyTasks(contour.api, ct, 1);
    // Let the ahead-of-use builds (when on) finish, as they would while the task waits in the queue.
    if (prebuildMaxMb !== '0') {
      await until(async () => Number((await contour.db.dataSource.query(`SELECT count(*)::int AS n FROM series WHERE volume_blob_key IS NULL`))[0].n) === 0, 300_000, 250);
    }
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await signIn(contour.base, page);
    const mammoRuns: (Metrics & { clickToImageMs: number })[] = [];
    for (let i = 0; i < RUNS; i++) mammoRuns.push(await openNext(contour.base, page, mammo));
    // BENCH_WEB_PROFILE=<dir>: a CPU profile of the page while the CT opens (DevTools protocol), for
    // node's --cpu-prof tooling or Chrome DevTools.
    const cdp = process.env.BENCH_WEB_PROFILE ? await context.newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    const ctOpen = await openNext(contour.base, page, ct);
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      mkdirSync(process.env.BENCH_WEB_PROFILE!, { recursive: true });
      writeFileSync(join(process.env.BENCH_WEB_PROFILE!, `ct-open-${prebuildMaxMb}.cpuprofile`), JSON.stringify(profile));
    }
    // Scrolling: one slice step per animation frame, as a held arrow key or a wheel does; ms per step.
    const scroll = await page.evaluate(async (steps) => {
      const viewer = (window as WindowWithContour).contour!.viewer;
      const frame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));
      const times: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t = performance.now();
        viewer.scroll(i < steps / 2 ? 1 : -1);
        await frame();
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      return { mean: times.reduce((a, b) => a + b, 0) / times.length, p95: times[Math.floor(times.length * 0.95)], max: times[times.length - 1], count: viewer.sliceInfo().count };
    }, 100);
    await context.close();
    return { mammoRuns, ctOpen, scroll };
  } finally {
    await browser.close();
    await contour.stop();
  }
}

export async function main(): Promise<string> {
  const ahead = await run('512');
  const cold = process.env.BENCH_WEB_AHEAD_ONLY ? ahead : await run('0');
  const row = (label: string, runs: (Metrics & { clickToImageMs: number })[]) =>
    `| ${label} | ${runs.map((r) => fmt(r.clickToImageMs, 0)).join(' / ')} ms | ${fmt(median(runs.map((r) => r.firstImageMs)), 0)} ms | ${fmt(median(runs.map((r) => r.fetchMs)), 0)} ms | ${fmt(median(runs.map((r) => r.decodeMs)), 0)} ms | ${fmt(runs[0].bytes / 1024 ** 2, 1)} MB |`;
  return [
    `Debian Chromium (headless, WebGL2 through SwiftShader) driven by playwright-core, one coordinator and one worker, PostgreSQL and Redis local, all on the same 2 cores. "Click to image" is wall time from the "Next task" click to the viewer reporting its first image (lease, task view, volume download, decode, first draw); the other columns are the app's own metrics (median of ${RUNS}).`,
    '',
    '| 5 MP mammogram (2048x2560, 16-bit) | click to image, each run | first image (app) | volume fetch | decode + upload to GPU | volume transferred |',
    '|---|---|---|---|---|---|',
    row('volume built ahead of use (default)', ahead.mammoRuns),
    row('volume built on first open (VOLUME_PREBUILD_MAX_MB=0)', cold.mammoRuns),
    '',
    `| CT 512x512x${ahead.scroll.count} | click to image | first image (app) | volume fetch | decode + upload | slice step mean | p95 | max |`,
    '|---|---|---|---|---|---|---|---|',
    ...([['volume built ahead of use', ahead], ['built on first open', cold]] as const).map(
      ([label, r]) => `| ${label} | ${fmt(r.ctOpen.clickToImageMs, 0)} ms | ${fmt(r.ctOpen.firstImageMs, 0)} ms | ${fmt(r.ctOpen.fetchMs, 0)} ms | ${fmt(r.ctOpen.decodeMs, 0)} ms | ${fmt(r.scroll.mean)} ms | ${fmt(r.scroll.p95)} ms | ${fmt(r.scroll.max)} ms |`,
    ),
  ].join('\n');
}
