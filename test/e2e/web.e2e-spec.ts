// The browser app end to end, in a real Chromium (WebGL2 through SwiftShader) against the built coordinator
// and worker processes: three annotators take the same pre-labelled CT task, change window/level and zoom,
// paint on the draft and submit; a reviewer rejects with a comment; the annotators see it, fix and resubmit;
// the reviewer approves; the manager's dashboard shows the task approved with its agreement. Along the way:
// the painted voxels land at the same (x, y, z) of the submitted label map as on screen (checked against the
// synthetic phantom computed here, not through the app), the threshold brush and undo/redo, canvas pixels that
// change when painting and when the overlay is toggled, axe-core in every workspace, screenshots for the docs,
// and the time to first image of the CT and of a 5-megapixel mammogram.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import { Client } from 'pg';
import { PNG } from 'pngjs';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { ctPhantomSeries, largeImage } from '@contour/dicom';
import { buildBrightRegionDetector, buildMeanIntensityClassifier } from '@contour/inference';
import { CLASSIFIER_TEST_MANIFEST, DETECTOR_TEST_MANIFEST } from '../../libs/inference/src/testing/rule-manifests';
import { assertBrowserTestPrerequisites, AxeViolation, checkAxe, launchChromium, ownDatabase, poll, see, signInPage, WEBGL_ARGS } from '../support/browser';
import { maskBody } from '../support/masks';
import { dataPath, REPO_ROOT } from '../support/env';
import { startOrthanc } from '../support/orthanc';
import { ApiClient, RunningContour, startContour } from '../support/processes';
import { eventually } from '../support/system';

const SHOTS = join(REPO_ROOT, 'docs/screenshots');
const PASSWORD = 'web-e2e-password';

// The synthetic CT: the same options the app sees through the upload.
const PHANTOM = { seed: 'web-e2e', slices: 8, rows: 128, columns: 128, pixelSpacing: 2.7, sliceThickness: 5, patient: { name: 'Doe^Jane', id: 'P-WEB' } };
const DIMS: [number, number, number] = [PHANTOM.columns, PHANTOM.rows, PHANTOM.slices];
const idx = (v: readonly number[]) => v[0] + DIMS[0] * (v[1] + DIMS[1] * v[2]);
const LESION = 4;

/** Hounsfield units of the phantom at column x, row y of DICOM file k (ctPhantomSeries' formula). */
function phantomHu(x: number, y: number, k: number): number {
  const c = (PHANTOM.columns - 1) / 2;
  const r = (PHANTOM.rows - 1) / 2;
  const dx = (x - c) * PHANTOM.pixelSpacing;
  const dy = (y - r) * PHANTOM.pixelSpacing;
  const t = k / (PHANTOM.slices - 1);
  let hu = -1000;
  if ((dx / 160) ** 2 + (dy / 115) ** 2 <= 1) {
    hu = 40;
    if (((dx - 70) / 55) ** 2 + ((dy + 5) / 75) ** 2 <= 1 || ((dx + 70) / 55) ** 2 + ((dy + 5) / 75) ** 2 <= 1) hu = -800;
    if ((dx / 18) ** 2 + ((dy - 70) / 18) ** 2 <= 1) hu = 700;
    if (t >= 0.4 && t <= 0.6 && (dx + 70) ** 2 + (dy + 5) ** 2 <= 15 ** 2) hu = 60;
  }
  return hu;
}

declare global {
  interface Window {
    contour?: { viewer: any; viewers?: any[]; shapes?: any; metrics: { firstImageMs: number; fetchMs: number; decodeMs: number; bytes: number; dims: number[] }; grid?: { dims: number[]; z0: number }; kind: string; readerMasks?: Uint8Array[] };
  }
}

describe('browser app: annotate, review, rework, approve, dashboard', () => {
  let db: { url: string; close(): Promise<void> };
  let contour: RunningContour;
  let base: string;
  let env: NodeJS.ProcessEnv = {};
  let admin: ApiClient;
  let pm: ApiClient;
  let browser: Browser;
  let projectId: string;
  let mammoProjectId: string;
  let shapesProjectId: string;
  let taskId: string;
  let affineLps: number[][];
  const users: Record<string, { id: string }> = {};
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const timings: Record<string, number> = {};
  const axeResults: Record<string, AxeViolation[]> = {};

  beforeAll(async () => {
    assertBrowserTestPrerequisites();
    mkdirSync(SHOTS, { recursive: true });
    db = await ownDatabase('web');
    contour = await startContour(db.url, { DICOM_ENABLED: 'false' });
    ({ env, baseUrl: base } = contour);
    admin = await new ApiClient(base).login('admin', env.CONTOUR_ADMIN_PASSWORD!);
    for (const [username, roles] of [['pm', ['manager']], ['ann1', ['annotator']], ['ann2', ['annotator']], ['ann3', ['annotator']], ['rev1', ['reviewer']]] as const) {
      users[username] = await admin.request('POST', '/api/users', { username, password: PASSWORD, roles, skills: [] });
    }
    pm = await new ApiClient(base).login('pm', PASSWORD);
    const [model] = (await pm.request('GET', '/api/models')) as { id: string; name: string }[];
    const settings = { quality: { reads: 3, agreementThreshold: 0.7, mergeMethod: 'majority', reviewRequired: true, maxReworkRounds: 2, leaseSeconds: 900 }, prelabelModels: [model.id] };
    projectId = (await pm.request('POST', '/api/projects', { name: 'Chest CT', description: 'Lesions on chest CT, three blinded reads', settings })).id;
    for (const a of ['ann1', 'ann2', 'ann3']) await pm.request('PUT', `/api/projects/${projectId}/members/${users[a].id}`, { roles: ['annotator'] });
    await pm.request('PUT', `/api/projects/${projectId}/members/${users.rev1.id}`, { roles: ['reviewer'] });
    await pm.request('POST', `/api/projects/${projectId}/protocols`, {
      labels: [
        { id: 1, name: 'Lung', color: '#3b82f6' },
        { id: 2, name: 'Soft tissue', color: '#f59e0b' },
        { id: 3, name: 'Bone', color: '#e5e7eb' },
        { id: LESION, name: 'Lesion', color: '#ef4444', code: { value: '52988006', scheme: 'SCT', meaning: 'Lesion' } },
      ],
      annotationTypes: [{ kind: 'segmentation-3d' }, { kind: 'bounding-box' }, { kind: 'classification', question: 'Image quality', choices: ['Good', 'Acceptable', 'Poor'] }],
      appliesTo: { modalities: ['CT'], bodyParts: [] },
      instructions: 'Outline every lesion in red. Correct the lung, soft tissue and bone draft where it is wrong.',
    });
    const phantom = ctPhantomSeries(PHANTOM);
    await pm.upload(projectId, phantom.files.map((data, i) => ({ name: `ct${i}.dcm`, data })));
    // A 5-megapixel mammogram in a project of its own (one read, no review), for the time to first image.
    mammoProjectId = (await pm.request('POST', '/api/projects', { name: 'Mammography', settings: { quality: { reads: 1, reviewRequired: false } } })).id;
    for (const a of ['ann1', 'ann2']) await pm.request('PUT', `/api/projects/${mammoProjectId}/members/${users[a].id}`, { roles: ['annotator'] });
    await pm.request('POST', `/api/projects/${mammoProjectId}/protocols`, { labels: [{ id: 1, name: 'Mass', color: '#ef4444' }], annotationTypes: [{ kind: 'segmentation-2d' }], instructions: 'Outline every mass.' });
    await pm.upload(mammoProjectId, [{ name: 'mg.dcm', data: largeImage({ seed: 'web-e2e-mg', rows: 2560, columns: 2048 }) }]);
    // Four mammography views in one task, two reads, boxes, points and polygons.
    shapesProjectId = (await pm.request('POST', '/api/projects', { name: 'Mammography findings', settings: { quality: { reads: 2, agreementThreshold: 0.4, reviewRequired: true }, split: { policy: 'view-group' } } })).id;
    for (const a of ['ann1', 'ann2']) await pm.request('PUT', `/api/projects/${shapesProjectId}/members/${users[a].id}`, { roles: ['annotator'] });
    await pm.request('PUT', `/api/projects/${shapesProjectId}/members/${users.rev1.id}`, { roles: ['reviewer'] });
    await pm.request('POST', `/api/projects/${shapesProjectId}/protocols`, {
      labels: [
        { id: 1, name: 'Mass', color: '#ef4444' },
        { id: 2, name: 'Calcification', color: '#22c55e' },
      ],
      annotationTypes: [{ kind: 'bounding-box' }, { kind: 'point' }, { kind: 'polygon' }, { kind: 'classification', question: 'Breast density', choices: ['fatty', 'scattered', 'heterogeneous', 'dense'] }],
      instructions: 'Box every mass; mark every calcification with a point; grade the breast density.',
    });
    await pm.upload(
      shapesProjectId,
      (['LCC', 'RCC', 'LMLO', 'RMLO'] as const).map((v) => ({ name: `${v}.dcm`, data: largeImage({ seed: `web-e2e-views-${v}`, studySeed: 'web-e2e-views', rows: 160, columns: 128, laterality: v[0] as 'L' | 'R', view: v.slice(1) as 'CC' | 'MLO' }) })),
    );
    const [task] = await eventually(async () => {
      const t = (await pm.request('GET', `/api/projects/${projectId}/tasks`)) as { id: string; state: string }[];
      return t.length === 1 && t[0].state === 'ready' ? t : null;
    }, 60_000, 250);
    taskId = task.id;
    const detail = await pm.request('GET', `/api/projects/${projectId}/tasks/${taskId}`);
    expect(detail.series[0].geometry.dims).toEqual(DIMS);
    expect(detail.labels.map((l: { kind: string }) => l.kind)).toEqual(['draft']);
    affineLps = detail.series[0].geometry.affineLps;
    browser = await launchChromium(WEBGL_ARGS);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    await browser?.close();
    await contour?.stop();
    await db?.close();
    // eslint-disable-next-line no-console
    console.log(`web e2e timings (ms): ${JSON.stringify(timings)}\naxe (all impacts): ${JSON.stringify(Object.fromEntries(Object.entries(axeResults).map(([k, v]) => [k, v.map((x) => `${x.id}:${x.impact}`)])))}`);
  });

  // ---- helpers -------------------------------------------------------------------------------------------------

  async function signIn(username: string): Promise<Page> {
    const page = await signInPage(browser, base, username, PASSWORD, (m) => pageErrors.push(m));
    contexts.push(page.context());
    return page;
  }

  const axe = (page: Page, name: string) => checkAxe(page, name, axeResults);

  async function openNextTask(page: Page, project = projectId) {
    await page.goto(`${base}/projects/${project}/annotate`);
    await page.evaluate(() => delete window.contour);
    await page.getByRole('button', { name: 'Next task' }).click();
    await page.waitForFunction(() => window.contour?.kind === 'annotation', null, { timeout: 60_000 });
    return page.evaluate(() => window.contour!.metrics);
  }

  const canvas = (page: Page) => page.locator('canvas.viewer-canvas').first();

  async function shot(page: Page, clip?: { x: number; y: number; width: number; height: number }) {
    return PNG.sync.read(clip ? await page.screenshot({ clip }) : await canvas(page).screenshot());
  }

  /** Pixels that look like the lesion colour (#ef4444 blended over grey). */
  function redPixels(png: PNG) {
    let n = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] > 120 && png.data[i] > png.data[i + 1] + 50 && png.data[i] > png.data[i + 2] + 50) n++;
    return n;
  }

  function differentPixels(a: PNG, b: PNG) {
    let n = 0;
    for (let i = 0; i < a.data.length; i += 4) if (Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]) > 24) n++;
    return n;
  }

  /** Page coordinates of a voxel (file order), after showing its slice. */
  async function screenPoint(page: Page, voxel: number[]) {
    await page.evaluate((v) => window.contour!.viewer.jumpTo(v), voxel);
    const pos = (await page.evaluate((v) => window.contour!.viewer.canvasPositionOf(v), voxel)) as [number, number];
    const box = (await canvas(page).boundingBox())!;
    return { x: box.x + pos[0], y: box.y + pos[1] };
  }

  async function stroke(page: Page, from: number[], to: number[]) {
    const a = await screenPoint(page, from);
    const b = await screenPoint(page, to);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y, { steps: 8 });
    await page.mouse.up();
    await page.waitForTimeout(150);
    return { a, b };
  }

  const pageMaskVoxels = (page: Page, label: number) =>
    page.evaluate((l) => {
      const m: Uint8Array = window.contour!.viewer.getMask();
      const out: number[] = [];
      for (let i = 0; i < m.length; i++) if (m[i] === l) out.push(i);
      return out;
    }, label);

  async function serverMask(versionId: string) {
    const res = await fetch(`${base}/api/projects/${projectId}/tasks/${taskId}/labels/${versionId}`, { headers: { authorization: `Bearer ${pm.token}` } });
    expect(res.status).toBe(200);
    return new Uint8Array(inflateSync(Buffer.from(await res.arrayBuffer())));
  }

  const taskDetail = () => pm.request('GET', `/api/projects/${projectId}/tasks/${taskId}`);
  const taskState = async () => (await taskDetail()).state as string;

  /** The latest read version of an annotator, as the server stored it. */
  async function submittedMask(username: string) {
    const detail = await taskDetail();
    const versions = detail.labels.filter((l: { kind: string; authorId: string }) => l.kind === 'read' && l.authorId === users[username].id);
    return serverMask(versions[versions.length - 1].id);
  }

  async function submit(page: Page) {
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    await page.locator('.status-line.ok', { hasText: 'Submitted' }).waitFor({ timeout: 30_000 });
  }

  // Lesion strokes per annotator (volume voxels, file order): slightly different, so agreement is high, not 1.
  const LESION_STROKES: Record<string, [number[], number[]]> = {
    ann1: [[36, 61, 3], [39, 61, 3]],
    ann2: [[36, 62, 3], [39, 62, 3]],
    ann3: [[37, 61, 3], [40, 61, 3]],
  };

  /** Checks the server's copy: the lesion label exactly around the strokes, everything else the draft. */
  function expectOnlyStrokesChanged(mask: Uint8Array, draft: Uint8Array, strokes: [number[], number[]][], radius = 3) {
    let changed = 0;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === draft[i]) continue;
      changed++;
      expect(mask[i]).toBe(LESION);
      const z = Math.floor(i / (DIMS[0] * DIMS[1]));
      const y = Math.floor((i % (DIMS[0] * DIMS[1])) / DIMS[0]);
      const x = i % DIMS[0];
      const near = strokes.some(([a, b]) => z === a[2] && y >= Math.min(a[1], b[1]) - radius && y <= Math.max(a[1], b[1]) + radius && x >= Math.min(a[0], b[0]) - radius && x <= Math.max(a[0], b[0]) + radius);
      if (!near) throw new Error(`voxel (${x}, ${y}, ${z}) changed to ${mask[i]} away from every stroke`);
    }
    return changed;
  }

  let draftMask: Uint8Array;

  // ---- annotators ------------------------------------------------------------------------------------------

  it('annotator 1: next task, window/level and zoom, overlay, a stroke that lands on the same voxel, threshold brush, undo/redo, submit', async () => {
    draftMask = await serverMask((await taskDetail()).labels[0].id);
    const page = await signIn('ann1');
    expect(await page.evaluate(() => Boolean(document.createElement('canvas').getContext('webgl2')))).toBe(true);
    await axe(page, 'projects');
    const metrics = await openNextTask(page);
    timings.ctFirstImageMs = Math.round(metrics.firstImageMs);
    expect(metrics.dims).toEqual(DIMS);
    await see(page.getByText('Started from the model’s pre-label draft.')).visible();

    // The image is drawn: the canvas is not one flat colour.
    const first = await shot(page);
    expect(new Set(Array.from({ length: 200 }, (_, i) => first.data[Math.floor((i / 200) * (first.data.length / 4)) * 4])).size).toBeGreaterThan(3);

    // The pre-label mask is on screen: hiding it changes the pixels, showing it brings them back.
    await page.getByLabel('Show mask').uncheck();
    const hidden = await shot(page);
    expect(differentPixels(first, hidden)).toBeGreaterThan(1000);
    await page.getByLabel('Show mask').check();
    expect(differentPixels(first, await shot(page))).toBeLessThan(200);
    // The model's draft as a separate reference overlay.
    await page.getByLabel('Show mask').uncheck();
    await page.getByLabel('Show pre-label overlay').check();
    expect(differentPixels(hidden, await shot(page))).toBeGreaterThan(1000);
    await page.getByLabel('Show pre-label overlay').uncheck();
    await page.getByLabel('Show mask').check();

    // A CT opens in the mediastinal window (set on the image before it reaches the GPU).
    await see(page.getByLabel('Window width')).value('350');
    await see(page.getByLabel('Window level (centre)')).value('50');
    // Window/level: the lung preset, then a right-drag, both reflected in the W and L fields and on screen.
    await page.getByLabel('Window preset').selectOption('lung');
    await see(page.getByLabel('Window width')).value('1500');
    await see(page.getByLabel('Window level (centre)')).value('-600');
    const lung = await shot(page);
    expect(differentPixels(first, lung)).toBeGreaterThan(1000);
    const box = (await canvas(page).boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.2);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(box.x + box.width * 0.8 + 60, box.y + box.height * 0.2 + 40, { steps: 6 });
    await page.mouse.up({ button: 'right' });
    await see(page.getByLabel('Window width')).notValue('1500');
    // The last window of the drag is the one drawn (rebuilds during a drag wait for the GPU; the latest is kept).
    const settle = () => page.evaluate(async () => {
      for (let i = 0; i < 5; i++) await new Promise((r) => requestAnimationFrame(r));
      window.contour!.viewer.waitForGpu();
    });
    await settle();
    const dragged = await shot(page);
    await page.evaluate(() => {
      const v = window.contour!.viewer;
      const [w, l] = v.windowLevel();
      v.setWindowLevel(w, l);
    });
    await settle();
    expect(differentPixels(dragged, await shot(page))).toBeLessThan(50);
    await page.getByLabel('Window preset').selectOption('mediastinum');
    await see(page.getByLabel('Window width')).value('350');

    // Zoom in: the zoom read-out and the picture change.
    const beforeZoom = await shot(page);
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await see(page.locator('.zoom-out')).text('125%');
    expect(differentPixels(beforeZoom, await shot(page))).toBeGreaterThan(1000);

    // Instructions and the keyboard shortcuts are one click (or key) away.
    await page.getByRole('button', { name: 'Instructions' }).click();
    await see(page.getByRole('dialog', { name: 'Instructions' })).contains('Outline every lesion in red.');
    await page.keyboard.press('Escape');
    await page.keyboard.press('?');
    await see(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).contains('threshold brush');
    await page.keyboard.press('Escape');
    // Orthogonal views of the 3D series, then back to axial.
    const axial = await shot(page);
    await page.getByRole('button', { name: 'Orthogonal' }).click();
    expect(differentPixels(axial, await shot(page))).toBeGreaterThan(1000);
    await page.getByRole('button', { name: 'Axial' }).click();
    // Cine: the slice moves on its own until stopped.
    const sliceOf = async () => Number(((await page.getByLabel('Position and value').textContent()) ?? '').match(/slice (\d+)\//)?.[1]);
    const sliceBefore = await sliceOf();
    await page.getByRole('button', { name: 'Play cine' }).click();
    expect(sliceBefore).toBeGreaterThan(0);
    expect(await poll(sliceOf, (s) => s !== sliceBefore, 5000)).not.toBe(sliceBefore);
    await page.getByRole('button', { name: 'Stop cine' }).click();
    const stoppedAt = await sliceOf();
    await page.waitForTimeout(400);
    expect(await sliceOf()).toBe(stoppedAt);

    // Point at a voxel: the readout names that voxel (file order), its LPS position and the phantom's value there.
    const target = LESION_STROKES.ann1[0];
    await page.keyboard.press('n');
    const p = await screenPoint(page, target);
    await page.mouse.click(p.x, p.y);
    const readout = page.getByLabel('Position and value');
    await see(readout).attr('data-voxel', target.join(','));
    const lps = [0, 1, 2].map((r) => affineLps[r][0] * target[0] + affineLps[r][1] * target[1] + affineLps[r][2] * target[2] + affineLps[r][3]);
    const fileK = Math.round(-lps[2] / PHANTOM.sliceThickness); // ctPhantomSeries puts file k at z = -k * thickness
    await see(readout).attr('data-value', String(phantomHu(target[0], target[1], fileK)));
    await see(readout).contains(`LPS ${lps.map((c) => c.toFixed(1)).join(', ')} mm`);

    // A box on this slice of the 3D series lands on the file's slice k, in pixel coordinates of the file's voxel
    // order (a voxel's centre is +0.5), whatever the display's orientation; then it is deleted again.
    await page.keyboard.press('x');
    const corner0 = await screenPoint(page, [20, 30, target[2]]);
    const corner1 = await screenPoint(page, [40, 45, target[2]]);
    await page.mouse.move(corner0.x, corner0.y);
    await page.mouse.down();
    await page.mouse.move(corner1.x, corner1.y, { steps: 5 });
    await page.mouse.up();
    await see(page.locator('.shape-count')).text('1 shape');
    const drawnBox = (await page.evaluate(() => window.contour!.shapes.shapes[0])) as { slice: number; box: number[] };
    expect(drawnBox.slice).toBe(target[2]);
    drawnBox.box.forEach((c, i) => expect(Math.abs(c - [20.5, 30.5, 40.5, 45.5][i])).toBeLessThan(0.6));
    await page.getByRole('button', { name: /^Delete Box/ }).click();
    await see(page.locator('.shape-count')).text('No shapes yet.');
    await page.keyboard.press('x');

    // Paint the lesion: label 4, brush (size 5); the pixels around the stroke turn red.
    await page.keyboard.press(String(LESION));
    await page.keyboard.press('b');
    await page.keyboard.press(']');
    await page.keyboard.press(']');
    const region = { x: p.x - 40, y: p.y - 40, width: 120, height: 80 };
    const beforePaint = await shot(page, region);
    const [from, to] = LESION_STROKES.ann1;
    await stroke(page, from, to);
    const afterPaint = await shot(page, region);
    expect(redPixels(afterPaint)).toBeGreaterThan(redPixels(beforePaint) + 50);
    await page.screenshot({ path: join(SHOTS, 'annotator.png') });
    // Save a draft by hand (auto-save does the same every 30 s when something changed).
    await page.getByRole('button', { name: 'Save draft' }).click();
    await see(page.locator('.status-line.ok')).contains('Draft saved.');
    // The newest draft is the one saved by hand, with the lesion in it (auto-save may have stored one before it on a
    // slow machine: the test took over 30 s to get here, and asserting exactly one draft failed then).
    const drafts = (await taskDetail()).labels.filter((l: { kind: string }) => l.kind === 'read-draft') as { stats: { voxels?: Record<string, number> } }[];
    expect(drafts.length).toBeGreaterThanOrEqual(1);
    expect(drafts[drafts.length - 1].stats.voxels?.[String(LESION)]).toBeGreaterThan(0);

    // Threshold brush (500..3000 HU) across the bone on another slice: only bone voxels take the label.
    await page.keyboard.press('t');
    await page.getByLabel('Threshold minimum').fill('500');
    await page.getByLabel('Threshold minimum').press('Tab');
    await page.getByLabel('Threshold maximum').fill('3000');
    await page.getByLabel('Threshold maximum').press('Tab');
    for (let i = 0; i < 4; i++) await page.keyboard.press(']');
    const lesionBefore = await pageMaskVoxels(page, LESION);
    await stroke(page, [56, 89, 1], [71, 89, 1]);
    const painted = (await pageMaskVoxels(page, LESION)).filter((i) => !lesionBefore.includes(i));
    expect(painted.length).toBeGreaterThan(20);
    const fileOfZ1 = Math.round(-(affineLps[2][2] * 1 + affineLps[2][3]) / PHANTOM.sliceThickness);
    for (const i of painted) {
      const [x, y, z] = [i % DIMS[0], Math.floor(i / DIMS[0]) % DIMS[1], Math.floor(i / (DIMS[0] * DIMS[1]))];
      expect(z).toBe(1);
      expect(phantomHu(x, y, fileOfZ1)).toBe(700);
    }
    // The brush (9 voxels wide) also covered soft tissue around the bone: none of it was painted.
    expect(draftMask[idx([59, 95, 1])]).toBe(2);
    expect(painted).not.toContain(idx([59, 95, 1]));
    // Undo takes the stroke back, redo restores it, undo again for good.
    await page.keyboard.press('Control+z');
    expect(await pageMaskVoxels(page, LESION)).toEqual(lesionBefore);
    await page.keyboard.press('Control+y');
    expect((await pageMaskVoxels(page, LESION)).length).toBe(lesionBefore.length + painted.length);
    await page.getByRole('button', { name: 'Undo' }).click();
    expect(await pageMaskVoxels(page, LESION)).toEqual(lesionBefore);

    await page.getByLabel('Good').check();
    await axe(page, 'annotator');
    await submit(page);

    // The server's copy: the lesion exactly where it was painted on screen (same x, y, z), the rest the draft.
    const mask = await submittedMask('ann1');
    expect(mask.length).toBe(DIMS[0] * DIMS[1] * DIMS[2]);
    expect(mask[idx(target)]).toBe(LESION);
    expect(mask[idx(to)]).toBe(LESION);
    expect(expectOnlyStrokesChanged(mask, draftMask, [LESION_STROKES.ann1])).toBeGreaterThan(10);
    await page.context().close();
  });

  it('annotators 2 and 3 paint slightly differently and submit; the task goes to review', async () => {
    for (const name of ['ann2', 'ann3']) {
      const page = await signIn(name);
      await openNextTask(page);
      await page.keyboard.press(String(LESION));
      await page.keyboard.press('b');
      await page.keyboard.press(']');
      await page.keyboard.press(']');
      const [from, to] = LESION_STROKES[name];
      const a = await screenPoint(page, from);
      const region = { x: a.x - 40, y: a.y - 40, width: 120, height: 80 };
      const before = await shot(page, region);
      await stroke(page, from, to);
      expect(redPixels(await shot(page, region))).toBeGreaterThan(redPixels(before) + 50);
      await page.getByLabel('Good').check();
      await submit(page);
      const mask = await submittedMask(name);
      expect(mask[idx(from)]).toBe(LESION);
      expectOnlyStrokesChanged(mask, draftMask, [LESION_STROKES[name]]);
      await page.context().close();
    }
    await eventually(async () => (await taskState()) === 'review', 30_000, 200);
  });

  // ---- reviewer: reject ------------------------------------------------------------------------------------

  it('the reviewer sees the reads, the agreement and the disagreement, and rejects with a comment', async () => {
    const page = await signIn('rev1');
    await page.goto(`${base}/projects/${projectId}/review`);
    await page.getByRole('button', { name: 'Next review' }).click();
    await page.waitForFunction(() => window.contour?.kind === 'review', null, { timeout: 60_000 });
    const detail = await taskDetail();
    const agreement = detail.consensus[detail.consensus.length - 1].agreement as number;
    expect(agreement).toBeGreaterThan(0.7);
    await see(page.locator('.agreement-value')).text(agreement.toFixed(3));
    await see(page.locator('table.data tr[data-label="4"]')).contains('Lesion');
    expect(await page.evaluate(() => window.contour!.readerMasks!.length)).toBe(3);

    // Toggle one reader's overlay: pixels change.
    await page.getByLabel('Show mask').uncheck();
    const plain = await shot(page);
    await page.getByRole('checkbox', { name: /^Reader 1/ }).check();
    expect(differentPixels(plain, await shot(page))).toBeGreaterThan(500);
    await page.getByRole('checkbox', { name: /^Reader 1/ }).uncheck();
    await page.getByLabel('Show mask').check();
    // Disagreement regions: the list jumps to them.
    const region = page.locator('.region-list button').first();
    await see(region).visible();
    await region.click();
    await see(page.getByLabel('Position and value')).attr('data-voxel', /,3$/);
    await page.getByRole('checkbox', { name: /^Disagreement/ }).check();
    await page.screenshot({ path: join(SHOTS, 'reviewer.png') });
    await axe(page, 'reviewer');
    // Side by side: one linked viewer per reader.
    await page.getByRole('radio', { name: 'Side by side' }).check();
    await see(page.locator('.viewers.grid canvas'), 30_000).count(3);
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(SHOTS, 'reviewer-side-by-side.png') });
    await page.getByRole('radio', { name: 'Overlaid' }).check();

    // A rejection needs a comment.
    await page.getByRole('button', { name: 'Reject' }).click();
    await see(page.locator('.decision .status-line.error')).contains('needs a comment');
    await page.getByLabel('Comment for the annotators').fill('Include the lesion on the next slice too');
    await page.getByRole('button', { name: 'Reject' }).click();
    await see(page.locator('.decision .status-line.ok')).contains('Rejected');
    expect(await taskState()).toBe('rework');
    await page.context().close();
  });

  // ---- rework ----------------------------------------------------------------------------------------------

  it('each annotator gets the task back with the comment, starts from their own read, fixes it and resubmits', async () => {
    // The backend returns the task to all three annotators (each read is reworked), so all three resubmit.
    for (const name of ['ann1', 'ann2', 'ann3']) {
      const page = await signIn(name);
      await page.goto(`${base}/projects/${projectId}/annotate`);
      await see(page.locator('.inbox')).contains('rework waiting');
      await openNextTask(page);
      await see(page.locator('.rework-comment')).text('Include the lesion on the next slice too');
      await see(page.getByText('Started from your previous submission.')).visible();
      const before = await submittedMask(name);
      expect(await page.evaluate((i) => window.contour!.viewer.getMask()[i], idx(LESION_STROKES[name][0]))).toBe(LESION);
      await page.keyboard.press(String(LESION));
      await page.keyboard.press('b');
      await page.keyboard.press(']');
      await page.keyboard.press(']');
      const [from, to] = LESION_STROKES[name];
      await stroke(page, [from[0], from[1], 4], [to[0], to[1], 4]);
      if (name === 'ann1') await page.screenshot({ path: join(SHOTS, 'annotator-rework.png') });
      // The answers come back too (all three said "Good", so the answer agreement does not hold the task back).
      await see(page.getByLabel('Good')).checked(true);
      await submit(page);
      const after = await submittedMask(name);
      expect(after[idx([from[0], from[1], 4])]).toBe(LESION);
      expectOnlyStrokesChanged(after, before, [[[from[0], from[1], 4], [to[0], to[1], 4]]]);
      await page.context().close();
    }
    await eventually(async () => (await taskState()) === 'review', 30_000, 200);
  });

  // ---- reviewer: approve -----------------------------------------------------------------------------------

  it('the reviewer approves the reworked task', async () => {
    const page = await signIn('rev1');
    await page.goto(`${base}/projects/${projectId}/review`);
    await page.getByRole('button', { name: 'Next review' }).click();
    await page.waitForFunction(() => window.contour?.kind === 'review', null, { timeout: 60_000 });
    await see(page.locator('.side')).contains('Round 0: rejected — “Include the lesion on the next slice too”');
    await page.getByLabel('Comment for the annotators').fill('Good');
    // An edit followed by "Approve" (not "Edit & approve") asks first: the edit was dropped without a word. Declined,
    // nothing is sent; the edit put back, the plain approval goes through.
    await page.getByLabel('Poor').check();
    page.once('dialog', (d) => void d.dismiss());
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await see(page.locator('.decision .status-line')).contains('Not sent: use “Edit & approve”');
    expect(await taskState()).toBe('review');
    await page.getByLabel('Good').check();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await see(page.locator('.decision .status-line.ok')).contains('Approved');
    expect(await taskState()).toBe('approved');
    await page.context().close();
  });

  // ---- manager ---------------------------------------------------------------------------------------------

  it('the manager dashboard shows the task approved, its agreement, the annotators and the queues', async () => {
    const detail = await taskDetail();
    const page = await signIn('pm');
    await page.goto(`${base}/projects/${projectId}/manage`);
    await see(page.locator('[data-stat="tasks-approved"] .stat-value')).text('1');
    await see(page.locator('[data-stat="agreement-mean"] .stat-value')).text(Number(detail.agreement).toFixed(3));
    await see(page.locator('[data-stat="rejections"] .stat-value')).text('1 / 2');
    await see(page.getByRole('img', { name: 'Tasks by state' })).visible();
    await see(page.locator('table.annotators')).contains('ann1');
    // Annotator against annotator: the three readers' pairs with their mean Dice.
    await see(page.locator('table.reader-pairs')).contains('ann1 · ann2');
    await see(page.locator('table.reader-pairs')).contains('ann2 · ann3');
    await page.screenshot({ path: join(SHOTS, 'manager.png'), fullPage: true });
    await axe(page, 'manager-overview');
    await page.getByRole('tab', { name: 'Tasks' }).click();
    const row = page.locator(`tr[data-task="${taskId}"]`);
    await see(row).attr('data-state', 'approved');
    await see(row.locator('td.agreement')).text(Number(detail.agreement).toFixed(3));
    await row.getByRole('button', { name: /Manage task/ }).click();
    await see(page.locator('ol.history')).contains('approve');
    await page.screenshot({ path: join(SHOTS, 'manager-tasks.png'), fullPage: true });
    await axe(page, 'manager-tasks');
    await page.getByRole('tab', { name: 'Setup' }).click();
    await see(page.getByRole('heading', { name: /Protocol \(current: version 1\)/ })).visible();
    await axe(page, 'manager-setup');
    // A new protocol version from the editor: an optional question added; what the editor does not change
    // (boxes, the lesion's code, the modalities it applies to) is kept.
    await see(page.getByRole('checkbox', { name: 'Boxes' })).checked(true);
    await see(page.getByRole('checkbox', { name: 'Polygons' })).checked(false);
    await page.getByRole('button', { name: 'Add question' }).click();
    await page.getByLabel('Question 2', { exact: true }).fill('Motion artefact?');
    await page.getByLabel('Question 2 choices, separated by commas').fill('none, mild, severe');
    await page.getByLabel('Question 2: an answer is required').uncheck();
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await see(page.locator('.status-line.ok')).contains('Saved as protocol version 2');
    const [v2] = (await pm.request('GET', `/api/projects/${projectId}/protocols`)) as { version: number; definition: Record<string, unknown> }[];
    expect(v2.version).toBe(2);
    expect(v2.definition).toMatchObject({
      annotationTypes: [
        { kind: 'segmentation-3d' },
        { kind: 'bounding-box' },
        { kind: 'classification', question: 'Image quality', choices: ['Good', 'Acceptable', 'Poor'], multiple: false, required: true },
        { kind: 'classification', question: 'Motion artefact?', choices: ['none', 'mild', 'severe'], multiple: false, required: false },
      ],
      appliesTo: { modalities: ['CT'], bodyParts: [] },
    });
    expect((v2.definition.labels as { id: number; code?: unknown }[]).find((l) => l.id === LESION)!.code).toEqual({ value: '52988006', scheme: 'SCT', meaning: 'Lesion' });
    await page.getByRole('tab', { name: 'Data' }).click();
    await see(page.locator('.batch')).visible();
    await see(page.locator('.batch[data-done="true"]')).count(1);
    // An upload through the page (XHR with progress): a file that is not an image ends in quarantine, with its reason.
    await page.getByLabel('Files to upload').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('these are notes, not an image') });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    // "Received 1 file(s); processing…", then what became of it.
    await see(page.locator('[aria-label="Upload"] .status-line')).text('Processed 1 file(s): stored 0, duplicate 0, quarantined 1 (their reasons are under Quarantine).');
    await see(page.locator('.batch progress')).count(2);
    await see(page.locator('.batch[data-done="true"]')).count(2);
    await see(page.locator('.batch').first()).contains('quarantined 1');
    await see(page.locator('[aria-label="Quarantine"] table')).contains('notes.txt');
    // The study, de-identified, with its de-identification report one click away.
    await see(page.locator('table.studies tbody tr')).count(1);
    await see(page.locator('table.studies')).contains(String(PHANTOM.slices));
    await page.getByRole('button', { name: /^De-identification report of the study of/ }).click();
    const report = page.getByRole('dialog', { name: /De-identification report/ });
    // Columns after the attribute: tag, action, images, why.
    await see(report.locator('tr', { hasText: 'PatientName' }).locator('td').nth(2)).text(String(PHANTOM.slices));
    await see(report).contains('replaced-uid');
    await axe(page, 'manager-deid-report');
    await page.keyboard.press('Escape');
    // A real PACS (Orthanc) connected over DICOMweb: search it, import the study found; the import is a batch
    // with its progress like an upload, and the study joins the list.
    const orthanc = await startOrthanc();
    try {
      await orthanc.upload(readFileSync(dataPath('dicom/modalities/ct-small.dcm')));
      await page.getByLabel('Name', { exact: true }).fill('Test PACS');
      await page.getByLabel('DICOMweb URL').fill(orthanc.dicomWebUrl);
      await page.getByRole('button', { name: 'Connect PACS' }).click();
      await page.getByRole('button', { name: 'Search Test PACS' }).click();
      await see(page.locator('.source-results h3')).text('1 study in Test PACS');
      await page.getByRole('button', { name: 'Import selected studies' }).click();
      await see(page.locator('.status-line.ok')).contains('Importing 1 study from Test PACS');
      await see(page.locator('.batch[data-done="true"]'), 60_000).count(3);
      await see(page.locator('.batch').first()).contains('stored 1');
      await see(page.locator('table.studies tbody tr'), 20_000).count(2);
    } finally {
      await orthanc.stop();
    }
    // Nothing on the page names the patient.
    expect(await page.locator('body').innerText()).not.toContain('Doe');
    await page.screenshot({ path: join(SHOTS, 'manager-data.png'), fullPage: true });
    await axe(page, 'manager-data');
    await page.getByRole('tab', { name: 'Queues' }).click();
    await see(page.locator('table.queues')).contains('ingest');
    await axe(page, 'manager-queues');

    // Exports: start one, follow its progress to the end, read its balance report, download the archive.
    await page.getByRole('tab', { name: 'Exports' }).click();
    await page.getByLabel('Name', { exact: true }).fill('first export');
    await page.getByRole('button', { name: 'Start export' }).click();
    await see(page.locator('.export[data-state="done"]'), 60_000).count(1);
    await see(page.locator('.export')).contains('1 case(s)');
    expect(await page.locator('.export').innerText()).not.toContain('[object');
    await axe(page, 'manager-exports');
    await page.getByRole('button', { name: 'Balance report of first export' }).click();
    await see(page.frameLocator('iframe.balance-report').locator('h1')).contains('dataset balance');
    await page.screenshot({ path: join(SHOTS, 'manager-exports.png') });
    await page.keyboard.press('Escape');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download zip of first export' }).click()]);
    expect(download.suggestedFilename()).toBe('first_export.zip');
    const zip = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    expect(Object.keys(zip)).toEqual(expect.arrayContaining(['nnunet/dataset.json', 'report/balance.html']));
    await page.context().close();
  });

  // ---- boxes, points and polygons --------------------------------------------------------------------------

  /** Page coordinates of a shape pixel position on viewer `i` (file order of that view's image). */
  async function viewPoint(page: Page, i: number, x: number, y: number) {
    const pos = (await page.evaluate(([n, px, py]) => window.contour!.viewers![n].canvasOfPixel(px, py, 0), [i, x, y])) as [number, number];
    const box = (await page.locator('canvas.viewer-canvas').nth(i).boundingBox())!;
    return { x: box.x + pos[0], y: box.y + pos[1] };
  }

  it('four mammography views: an annotator boxes a mass and marks a calcification with the mouse; the reviewer sees both reads, adds the shape only one reader drew, and approves', async () => {
    const tasks = await eventually(async () => {
      const t = (await pm.request('GET', `/api/projects/${shapesProjectId}/tasks`)) as { id: string; state: string }[];
      return t.length === 1 && t[0].state === 'ready' ? t : null;
    }, 60_000, 250);
    const detail = await pm.request('GET', `/api/projects/${shapesProjectId}/tasks/${tasks[0].id}`);
    const seriesIds = detail.series.map((s: { id: string }) => s.id) as string[];
    expect(seriesIds).toHaveLength(4);

    const page = await signIn('ann1');
    await openNextTask(page, shapesProjectId);
    await see(page.locator('canvas.viewer-canvas')).count(4);
    await see(page.locator('.shape-count')).text('No shapes yet.');
    // No mask tools on a protocol without segmentation.
    expect(await page.locator('[aria-label="Mask tools"]').count()).toBe(0);

    // Box tool (X), drag on the first view: the box is on screen and in the list.
    await page.keyboard.press('x');
    await see(page.getByRole('radio', { name: /^Box/ })).checked(true);
    const cell = page.locator('.viewer-cell').first();
    const before = PNG.sync.read(await cell.screenshot());
    const a = await viewPoint(page, 0, 20, 30);
    const b = await viewPoint(page, 0, 60, 80);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y, { steps: 6 });
    await page.mouse.up();
    await see(page.locator('.shape-count')).text('1 shape');
    expect(redPixels(PNG.sync.read(await cell.screenshot()))).toBeGreaterThan(redPixels(before) + 40);
    const drawn = (await page.evaluate(() => window.contour!.shapes.shapes)) as { kind: string; label: number; image: string; box: number[] }[];
    expect(drawn).toHaveLength(1);
    expect(drawn[0]).toMatchObject({ kind: 'box', label: 1, image: seriesIds[0], slice: 0 });
    drawn[0].box.forEach((c, i) => expect(Math.abs(c - [20, 30, 60, 80][i])).toBeLessThan(1));

    // Point tool (O), label 2, a click on the third view; a stray point deleted from the list.
    await page.keyboard.press('o');
    await page.keyboard.press('2');
    const p = await viewPoint(page, 2, 50, 40);
    await page.mouse.click(p.x, p.y);
    const stray = await viewPoint(page, 2, 90, 120);
    await page.mouse.click(stray.x, stray.y);
    await see(page.locator('.shape-count')).text('3 shapes');
    const points = (await page.evaluate(() => window.contour!.shapes.shapes.slice(1))) as { kind: string; label: number; image: string; point: number[] }[];
    expect(points.map((s) => [s.kind, s.label, s.image])).toEqual([
      ['point', 2, seriesIds[2]],
      ['point', 2, seriesIds[2]],
    ]);
    points.forEach((s, i) => s.point.forEach((c, j) => expect(Math.abs(c - [[50, 40], [90, 120]][i][j])).toBeLessThan(1)));
    await page.locator('.shape-list li').nth(2).getByRole('button', { name: /^Delete Point · Calcification · slice 1/ }).click();
    await see(page.locator('.shape-count')).text('2 shapes');
    // Polygon tool (G) on the second view: three corners, then a click on the first closes it.
    await page.keyboard.press('g');
    for (const [x, y] of [[20, 20], [60, 20], [40, 60], [20, 20]]) {
      const c = await viewPoint(page, 1, x, y);
      await page.mouse.click(c.x, c.y);
    }
    await see(page.locator('.shape-count')).text('3 shapes');
    const polygon = (await page.evaluate(() => window.contour!.shapes.shapes[2])) as { kind: string; image: string; points: number[][] };
    expect([polygon.kind, polygon.image, polygon.points.length]).toEqual(['polygon', seriesIds[1], 3]);
    await page.screenshot({ path: join(SHOTS, 'annotator-shapes.png') });
    await axe(page, 'annotator-shapes');
    // The question must be answered before the read goes.
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    await see(page.locator('.status-line.error')).contains('Answer every question before submitting: Breast density.');
    await page.getByRole('radio', { name: 'scattered', exact: true }).check();
    await submit(page);
    const mine = (await pm.request('GET', `/api/projects/${shapesProjectId}/tasks/${tasks[0].id}`)).labels.find((l: { kind: string }) => l.kind === 'read');
    expect(mine.answers.shapes.map((s: { kind: string; image: string; label: number }) => [s.kind, s.image, s.label])).toEqual([
      ['box', seriesIds[0], 1],
      ['point', seriesIds[2], 2],
      ['polygon', seriesIds[1], 2],
    ]);
    await page.context().close();

    // The second reader boxes the same mass (through the API) and marks no calcification.
    const ann2 = await new ApiClient(base).login('ann2', PASSWORD);
    const lease = await ann2.request('POST', `/api/projects/${shapesProjectId}/tasks/next`);
    await ann2.request('POST', `/api/projects/${shapesProjectId}/reads/${lease.readId}/submit`, { answers: { 'Breast density': 'dense', shapes: [{ kind: 'box', label: 1, image: seriesIds[0], box: [21, 30, 61, 81] }] } });
    await eventually(async () => (await pm.request('GET', `/api/projects/${shapesProjectId}/tasks/${tasks[0].id}`)).state === 'review', 30_000, 250);

    // The reviewer: shape agreement, both readers' shapes, the disputed point; adds it and approves the edit.
    const rev = await signIn('rev1');
    await rev.goto(`${base}/projects/${shapesProjectId}/review`);
    await rev.getByRole('button', { name: 'Next review' }).click();
    await rev.waitForFunction(() => window.contour?.kind === 'review', null, { timeout: 60_000 });
    const agreement = Number(await rev.locator('.shape-agreement').textContent());
    // One box matched (IoU ~0.93) out of 3 + 1 shapes: ~0.93 / 2.
    expect(agreement).toBeGreaterThan(0.4);
    expect(agreement).toBeLessThan(0.5);
    await see(rev.locator('.disputed-shapes')).contains('Point · Calcification');
    await see(rev.locator('.shape-count')).text('1 shape');
    await rev.getByRole('button', { name: /^Add to the result: Point/ }).click();
    await see(rev.locator('.shape-count')).text('2 shapes');
    // Side by side: each reader's own box in that reader's viewer (the first view).
    await rev.getByRole('radio', { name: 'Side by side' }).check();
    await see(rev.locator('.viewers.grid .shape-layer[data-shapes="1"]'), 60_000).count(2);
    await rev.getByRole('radio', { name: 'Overlaid' }).check();
    await rev.getByRole('checkbox', { name: 'Reader 1' }).check();
    await rev.getByRole('checkbox', { name: 'Reader 2' }).check();
    await rev.screenshot({ path: join(SHOTS, 'reviewer-shapes.png') });
    await axe(rev, 'reviewer-shapes');
    // The readers' answers under the question (they disagree); the reviewer settles it.
    await see(rev.locator('.reader-answers.disputed')).text('Readers disagree: Reader 1: scattered · Reader 2: dense');
    await rev.getByRole('radio', { name: 'dense', exact: true }).check();
    await rev.getByRole('button', { name: 'Edit & approve' }).click();
    await see(rev.locator('.status-line.ok')).contains('Edited and approved');
    const final = await eventually(async () => {
      const d = await pm.request('GET', `/api/projects/${shapesProjectId}/tasks/${tasks[0].id}`);
      return d.state === 'approved' ? d : null;
    }, 30_000, 250);
    const edit = final.labels.find((l: { kind: string }) => l.kind === 'review-edit');
    expect(edit.answers.shapes.map((s: { kind: string; image: string }) => [s.kind, s.image])).toEqual([
      ['box', seriesIds[0]],
      ['point', seriesIds[2]],
    ]);
    expect(edit.answers.shapes[0].box).toEqual(expect.arrayContaining([expect.any(Number)]));
    expect(edit.answers['Breast density']).toBe('dense');
    await rev.context().close();
    expect(pageErrors).toEqual([]);
  });

  // ---- models that answer ----------------------------------------------------------------------------------

  it('models that answer: the annotator starts from a detector’s boxes and sees a classifier’s suggestion', async () => {
    const register = async (file: Uint8Array, manifest: unknown) => {
      const form = new FormData();
      form.append('model', new Blob([Buffer.from(file)]), 'model.onnx');
      form.append('manifest', JSON.stringify(manifest));
      return (await admin.request('POST', '/api/models', form)).id as string;
    };
    // The admin registers the detector on the Models page: a manifest that does not fit the model is refused with
    // the mismatch named, the corrected one is listed.
    const detectorManifest = { ...DETECTOR_TEST_MANIFEST, preprocessing: { fixedGrid: [64, 64, 1], intensity: { kind: 'minmax' } }, inference: { mode: 'whole' } };
    const adminPage = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    contexts.push(adminPage.context());
    adminPage.on('pageerror', (e) => pageErrors.push(`admin: ${e.message}`));
    await adminPage.goto(`${base}/login`);
    await adminPage.getByLabel('Username').fill('admin');
    await adminPage.getByLabel('Password').fill(env.CONTOUR_ADMIN_PASSWORD!);
    await adminPage.getByRole('button', { name: 'Sign in' }).click();
    await adminPage.getByRole('heading', { name: 'Projects' }).waitFor();
    await adminPage.getByRole('link', { name: 'Models' }).click();
    await adminPage.getByRole('heading', { name: 'Register a model' }).waitFor();
    await see(adminPage.locator('table.models tbody tr')).count(1);
    await adminPage.getByLabel('ONNX file').setInputFiles({ name: 'detector.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(buildBrightRegionDetector({ threshold: 0.5 })) });
    await adminPage.getByLabel('Manifest (JSON)').fill(JSON.stringify({ ...detectorManifest, output: { name: 'detections', kind: 'boxes' } }, null, 2));
    await adminPage.getByRole('button', { name: 'Register model' }).click();
    await see(adminPage.locator('.register-model .status-line.error')).contains('The model does not match its manifest');
    await see(adminPage.locator('ul.problems li')).contains("manifest says output 'detections' but the model's outputs are: boxes");
    await adminPage.getByLabel('Manifest (JSON)').fill(JSON.stringify(detectorManifest, null, 2));
    await adminPage.getByRole('button', { name: 'Register model' }).click();
    await see(adminPage.locator('.register-model .status-line.ok')).contains('Registered bright-detector 1.0.0.');
    await see(adminPage.locator('table.models tr[data-model="bright-detector 1.0.0"]')).contains('detection');
    await axe(adminPage, 'admin-models');
    await adminPage.screenshot({ path: join(SHOTS, 'admin-models.png') });
    await adminPage.context().close();
    const detectorId = ((await pm.request('GET', '/api/models')) as { id: string; name: string }[]).find((m) => m.name === 'bright-detector')!.id;
    const classifierId = await register(buildMeanIntensityClassifier({ weights: [-4, 4], bias: [1, -1] }), { ...CLASSIFIER_TEST_MANIFEST, preprocessing: { intensity: { kind: 'minmax' } } });
    // Two projects of four views each, one per model; a bright rectangle on two of the views.
    const bright = { LCC: [20, 30, 60, 90], RMLO: [10, 10, 90, 110] } as Record<string, number[]>;
    const projects: string[] = [];
    for (const [name, modelId] of [['detector', detectorId], ['classifier', classifierId]]) {
      const id = (await pm.request('POST', '/api/projects', { name: `Models: ${name}`, settings: { prelabelModels: [modelId], quality: { reads: 1, reviewRequired: false }, split: { policy: 'view-group' } } })).id as string;
      await pm.request('PUT', `/api/projects/${id}/members/${users.ann3.id}`, { roles: ['annotator'] });
      await pm.request('POST', `/api/projects/${id}/protocols`, { labels: [{ id: 1, name: 'Bright region', color: '#ef4444' }], annotationTypes: [{ kind: 'bounding-box' }, { kind: 'classification', question: 'Brightness', choices: ['dark', 'bright'] }] });
      await pm.upload(
        id,
        (['LCC', 'RCC', 'LMLO', 'RMLO'] as const).map((v) => {
          const r = bright[v];
          const pixelValue = (x: number, y: number) => (r && x >= r[0] && x < r[2] && y >= r[1] && y < r[3] ? 4095 : 100);
          return { name: `${v}.dcm`, data: largeImage({ seed: `web-e2e-models-${name}-${v}`, studySeed: `web-e2e-models-${name}`, rows: 120, columns: 100, laterality: v[0] as 'L' | 'R', view: v.slice(1) as 'CC' | 'MLO', pixelValue }) };
        }),
      );
      projects.push(id);
    }
    for (const id of projects)
      await eventually(async () => {
        const t = (await pm.request('GET', `/api/projects/${id}/tasks`)) as { state: string }[];
        return t.length === 1 && t[0].state === 'ready';
      }, 60_000, 250);

    // The detector's boxes are the annotator's starting shapes, on the views they were found on.
    const page = await signIn('ann3');
    await openNextTask(page, projects[0]);
    await see(page.locator('canvas.viewer-canvas')).count(4);
    await see(page.locator('.shape-count')).text('2 shapes');
    expect(await page.getByText('Started from the suggestions of bright-detector 1.0.0.').count()).toBe(1);
    const shapes = (await page.evaluate(() => window.contour!.shapes.shapes)) as { kind: string; box: number[] }[];
    expect(shapes.map((s) => s.kind)).toEqual(['box', 'box']);
    for (const rect of Object.values(bright)) expect(shapes.some((s) => s.box.every((c, i) => Math.abs(c - rect[i]) <= 2))).toBe(true);
    // No question answered: the detector has nothing to say about brightness.
    expect(await page.getByRole('radio', { name: 'bright' }).isChecked()).toBe(false);
    await page.screenshot({ path: join(SHOTS, 'annotator-model-boxes.png') });
    await page.getByRole('radio', { name: 'dark' }).check();
    await submit(page);

    // The classifier's answer is pre-selected and its probabilities are shown next to the question.
    await openNextTask(page, projects[1]);
    await see(page.getByRole('radio', { name: 'dark' })).checked(true);
    await see(page.locator('.model-suggestion')).contains('Model (mean-classifier 1.0.0): dark');
    // Views' bright fractions 0.2, 0, 0, 0.667: p(bright) = mean of sigmoid(8f - 2) = 0.31.
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    const pBright = (sigmoid(8 * 0.2 - 2) + 2 * sigmoid(-2) + sigmoid((8 * 8000) / 12000 - 2)) / 4;
    await see(page.locator('.model-suggestion')).contains(`bright ${Math.round(pBright * 100)} %`);
    await axe(page, 'annotator-model-suggestion');
    await submit(page);
    await page.context().close();
  });

  // ---- a large image ---------------------------------------------------------------------------------------

  it('a 5-megapixel mammogram opens and paints in seconds; a lease that ran out and went to someone else is reported', async () => {
    const page = await signIn('ann1');
    const metrics = await openNextTask(page, mammoProjectId);
    timings.mammoFirstImageMs = Math.round(metrics.firstImageMs);
    timings.mammoFetchMs = Math.round(metrics.fetchMs);
    timings.mammoDecodeMs = Math.round(metrics.decodeMs);
    expect(metrics.dims).toEqual([2048, 2560, 1]);
    expect(metrics.firstImageMs).toBeLessThan(20_000);
    await page.keyboard.press('b');
    let t0 = Date.now();
    await stroke(page, [1000, 1200, 0], [1040, 1260, 0]);
    expect((await pageMaskVoxels(page, 1)).length).toBeGreaterThan(0);
    timings.mammoStrokeMs = Date.now() - t0;
    t0 = Date.now();
    await page.getByRole('button', { name: 'Save draft' }).click();
    await see(page.locator('.status-line.ok')).contains('Draft saved.');
    timings.mammoSaveDraftMs = Date.now() - t0;
    await page.screenshot({ path: join(SHOTS, 'annotator-mammogram.png') });

    // The lease runs out (as if ann1 had walked away); the lease sweep hands the read to the next annotator.
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    await sql.query(`UPDATE task_reads SET lease_expires_at = now() - interval '1 second' WHERE project_id = $1 AND state = 'leased'`, [mammoProjectId]).finally(() => sql.end());
    const ann2 = await new ApiClient(base).login('ann2', PASSWORD);
    const lease2 = await eventually(() => ann2.request('POST', `/api/projects/${mammoProjectId}/tasks/next`), 40_000, 500);
    // ann1's screen says so plainly when they try to submit, and stops taking work.
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    await see(page.locator('.banner[role="alert"]')).contains('expired and the read was given to someone else');
    expect(await page.getByRole('button', { name: 'Submit', exact: true }).isDisabled()).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'annotator-lease-lost.png') });
    t0 = Date.now();
    const done = await ann2.request('POST', `/api/projects/${mammoProjectId}/reads/${lease2.readId}/submit`, { mask: maskBody(new Uint8Array(2048 * 2560)) });
    timings.mammoApiSubmitMs = Date.now() - t0;
    expect(done.versionId).toBeTruthy();
    await eventually(async () => ((await pm.request('GET', `/api/projects/${mammoProjectId}/tasks`)) as { state: string }[])[0].state === 'approved', 30_000, 250);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });

  it('a series of radiographs of different sizes: each opens at its own size, is painted and submitted', async () => {
    // A PA (96 x 80) and a lateral (64 x 112) radiograph in one series: not one volume, so each is its own task.
    const mixed = (await pm.request('POST', '/api/projects', { name: 'Chest radiographs', settings: { quality: { reads: 1, reviewRequired: false }, split: { policy: 'image' } } })).id;
    await pm.request('PUT', `/api/projects/${mixed}/members/${users.ann1.id}`, { roles: ['annotator'] });
    await pm.request('POST', `/api/projects/${mixed}/protocols`, { labels: [{ id: 1, name: 'Opacity', color: '#ef4444' }], annotationTypes: [{ kind: 'segmentation-2d' }] });
    const views = [
      { view: 'PA', rows: 80, columns: 96 },
      { view: 'LL', rows: 112, columns: 64 },
    ];
    await pm.upload(mixed, views.map((v, i) => ({ name: `${v.view}.dcm`, data: largeImage({ seed: `web-e2e-mixed-${v.view}`, studySeed: 'web-e2e-mixed', seriesSeed: 'web-e2e-mixed', modality: 'DX', view: v.view, instanceNumber: i + 1, rows: v.rows, columns: v.columns }) })));
    const tasks = async () => (await pm.request('GET', `/api/projects/${mixed}/tasks`)) as { id: string; state: string; instanceId: string }[];
    await eventually(async () => ((await tasks()).filter((t) => t.state === 'ready').length === 2 ? true : null), 60_000, 250);
    const page = await signIn('ann1');
    const opened: string[] = [];
    for (let k = 0; k < 2; k++) {
      const metrics = await openNextTask(page, mixed);
      const dims = metrics.dims.join('x');
      opened.push(dims);
      expect(await page.evaluate(() => window.contour!.grid)).toEqual({ dims: metrics.dims, z0: 0 });
      await page.keyboard.press('b');
      await stroke(page, [20, 30, 0], [40, 30, 0]);
      expect((await pageMaskVoxels(page, 1)).length).toBeGreaterThan(0);
      if (k === 0) {
        // Closing the tab with a stroke not yet saved asks first (a reload lost it without a word); the annotator
        // stays, and the work is still there to submit.
        const asked = new Promise<string>((resolve) => page.once('dialog', (d) => void d.dismiss().then(() => resolve(d.type()))));
        await page.close({ runBeforeUnload: true });
        expect(await asked).toBe('beforeunload');
        expect(page.isClosed()).toBe(false);
      } else {
        // The same read open in a second window that saves a draft: this window's save is refused with the reason
        // (it overwrote the newer draft without a word), and after a reload the work goes on from the newer draft.
        await page.getByRole('button', { name: 'Save draft' }).click();
        await see(page.locator('.status-line.ok')).contains('Draft saved.');
        const other = await signIn('ann1');
        await other.goto(page.url());
        await other.waitForFunction(() => window.contour?.kind === 'annotation', null, { timeout: 60_000 });
        await other.getByRole('button', { name: 'Save draft' }).click();
        await see(other.locator('.status-line.ok')).contains('Draft saved.');
        await other.context().close();
        await page.getByRole('button', { name: 'Save draft' }).click();
        await see(page.locator('.status-line.error')).contains('saved from another tab or window after this one opened it');
        expect(await page.getByRole('button', { name: 'Submit', exact: true }).isDisabled()).toBe(true);
        await page.evaluate(() => delete window.contour);
        await page.reload();
        await page.waitForFunction(() => window.contour?.kind === 'annotation', null, { timeout: 60_000 });
        await see(page.locator('.side')).contains('your saved draft');
        expect((await pageMaskVoxels(page, 1)).length).toBeGreaterThan(0);
      }
      await submit(page);
    }
    expect(opened.sort()).toEqual(['64x112x1', '96x80x1']);
    await eventually(async () => ((await tasks()).every((t) => t.state === 'approved') ? true : null), 30_000, 250);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });
});
