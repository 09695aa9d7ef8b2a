// Models that answer instead of drawing masks, through the real queue, onnxruntime, PostgreSQL and Redis: a
// detection model's boxes on each view of a four-view mammography task (found on a resized copy of each view,
// brought back to the view's own pixels), a classification model's answer to the protocol question averaged
// over the views, a classifier whose question the protocol lacks (no draft, the reason kept), and
// registrations whose manifest does not fit the model refused with the mismatch named.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import '../../libs/inference/src/testing/onnxruntime-realm';
import { ProjectRole, Role } from '@contour/db';
import { ctPhantomSeries, largeImage } from '@contour/dicom';
import { buildBrightRegionDetector, buildConvTestModel, buildMeanIntensityClassifier } from '@contour/inference';
import { JobQueue, prelabelJobId, QueueName } from '@contour/queue';
import { CLASSIFIER_TEST_MANIFEST, DETECTOR_TEST_MANIFEST } from '../../libs/inference/src/testing/rule-manifests';
import { dataPath } from '../support/env';
import { binary, eventually, startSystem, TestSystem } from '../support/system';

const run = promisify(execFile);
type U = { id: string; token: string };
type Rect = [number, number, number, number];

describe('pre-labelling with classification and detection models', () => {
  let sys: TestSystem;
  let pm: U;
  let ann: U;
  let detectorId: string;
  let classifierId: string;
  const admin = () => ({ authorization: `Bearer ${sys.adminToken}` });
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });
  // Four 100x120 views; each has a bright rectangle (4095) on a dark background (100), except the last.
  const views: { laterality: 'L' | 'R'; view: 'CC' | 'MLO'; bright: Rect | null }[] = [
    { laterality: 'L', view: 'CC', bright: [20, 30, 60, 90] },
    { laterality: 'R', view: 'CC', bright: [0, 0, 100, 90] },
    { laterality: 'L', view: 'MLO', bright: [10, 10, 90, 110] },
    { laterality: 'R', view: 'MLO', bright: null },
  ];
  const fraction = (r: Rect | null) => (r ? ((r[2] - r[0]) * (r[3] - r[1])) / (100 * 120) : 0);
  const detector = { ...DETECTOR_TEST_MANIFEST, appliesTo: { modalities: ['MG'] }, preprocessing: { fixedGrid: [64, 64, 1], intensity: { kind: 'minmax' } }, inference: { mode: 'whole' } };
  const classifier = { ...CLASSIFIER_TEST_MANIFEST, preprocessing: { intensity: { kind: 'minmax' } } };
  const register = (file: Uint8Array, manifest: unknown) => sys.http().post('/api/models').set(admin()).attach('model', Buffer.from(file), 'model.onnx').field('manifest', JSON.stringify(manifest));

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing, QueueName.Prelabel], env: { INFERENCE_THREADS: '1' } });
    pm = await sys.user('pm', [Role.Manager]);
    ann = await sys.user('ann', [Role.Annotator]);
  });
  afterAll(() => sys.close());

  async function project(name: string, modelId: string | string[], question = 'Brightness') {
    const id = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name, settings: { prelabelModels: [modelId].flat(), quality: { reads: 1 }, split: { policy: 'view-group' } } }).expect(201)).body.id as string;
    await sys.http().put(`/api/projects/${id}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${id}/protocols`).set(bearer(pm)).send({
      labels: [{ id: 3, name: 'Bright region', color: '#ffcc00' }],
      annotationTypes: [{ kind: 'bounding-box' }, { kind: 'classification', question, choices: ['Dark', 'Bright'] }],
    }).expect(201);
    const up = sys.http().post(`/api/projects/${id}/uploads`).set(bearer(pm));
    for (const v of views) {
      const inside = (x: number, y: number) => v.bright !== null && x >= v.bright[0] && x < v.bright[2] && y >= v.bright[1] && y < v.bright[3];
      up.attach('files', largeImage({ seed: `${name}-${v.laterality}${v.view}`, studySeed: name, rows: 120, columns: 100, laterality: v.laterality, view: v.view, pixelValue: (x, y) => (inside(x, y) ? 4095 : 100) }), `${v.laterality}${v.view}.dcm`);
    }
    await up.expect(202);
    return id;
  }
  const readyTask = (projectId: string) =>
    eventually(async () => {
      const tasks = (await sys.http().get(`/api/projects/${projectId}/tasks`).set(bearer(pm)).expect(200)).body as { id: string; state: string }[];
      return tasks.length === 1 && tasks[0].state === 'ready' ? tasks[0] : null;
    }, 60_000, 250);
  const taskView = async (projectId: string, taskId: string, u = pm) => (await sys.http().get(`/api/projects/${projectId}/tasks/${taskId}`).set(bearer(u)).expect(200)).body;

  it('refuses manifests that do not fit the model, naming the mismatch', async () => {
    const wrongOutput = await register(buildMeanIntensityClassifier({ weights: [-4, 4], bias: [1, -1] }), detector).expect(400);
    expect(wrongOutput.body.message).toMatch(/manifest says output 'boxes' but the model's outputs are: scores/);
    const noQuestion = await register(buildMeanIntensityClassifier({ weights: [-4, 4], bias: [1, -1] }), { ...classifier, question: undefined }).expect(400);
    expect(noQuestion.body.message).toMatch(/question: required when task is 'classification'/);
  });

  it('a detection model boxes the bright region of each view, in the view’s own pixels', async () => {
    const modelId = (await register(buildBrightRegionDetector({ threshold: 0.5 }), detector).expect(201)).body.id;
    detectorId = modelId;
    const projectId = await project('detect', modelId);
    const task = await readyTask(projectId);
    // The annotator who takes the task sees the model's boxes (drafts are visible to the readers).
    const lease = (await sys.http().post(`/api/projects/${projectId}/tasks/next`).set(bearer(ann)).expect(200)).body;
    expect(lease.taskId).toBe(task.id);
    const view = await taskView(projectId, task.id, ann);
    // Each image of the view group says which view it is (laterality and view position, as the viewer captions it).
    expect(view.series.map((s: { view: string }) => s.view).sort()).toEqual(views.map((v) => `${v.laterality}-${v.view}`).sort());
    expect(lease.task.series.map((s: { view: string }) => s.view).sort()).toEqual(views.map((v) => `${v.laterality}-${v.view}`).sort());
    const draft = view.labels.find((l: { kind: string }) => l.kind === 'draft');
    expect(draft).toMatchObject({ hasMask: false, model: { name: 'bright-detector', version: '1.0.0' } });
    const shapes = draft.answers.shapes as { kind: string; label: number; image: string; slice: number; box: Rect }[];
    expect(shapes).toHaveLength(3);
    for (const shape of shapes) {
      expect(shape).toMatchObject({ kind: 'box', label: 3, slice: 0 });
      expect(view.series.map((s: { id: string }) => s.id)).toContain(shape.image);
    }
    // Each box is the view's bright rectangle within one resized pixel (100/64 = 1.6 px across, 120/64 = 1.9 px down).
    const expected = views.filter((v) => v.bright).map((v) => v.bright!);
    for (const rect of expected) {
      const match = shapes.find((s) => s.box.every((c, i) => Math.abs(c - rect[i]) <= 2));
      expect({ rect, match: Boolean(match) }).toEqual({ rect, match: true });
    }
    // The boxes are on three different views, and the view without a bright region has none.
    expect(new Set(shapes.map((s) => s.image)).size).toBe(3);
    expect(draft.stats.detection.boxes).toBe(3);
  });

  it('a classification model answers the protocol question from all four views', async () => {
    const modelId = (await register(buildMeanIntensityClassifier({ weights: [-4, 4], bias: [1, -1] }), classifier).expect(201)).body.id;
    classifierId = modelId;
    const projectId = await project('classify', modelId);
    const task = await readyTask(projectId);
    const draft = (await taskView(projectId, task.id)).labels.find((l: { kind: string }) => l.kind === 'draft');
    // Minmax-scaled, each view's mean is its bright fraction f; p(bright) = sigmoid(8f - 2), averaged over the views.
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    const pBright = views.reduce((a, v) => a + sigmoid(8 * fraction(v.bright) - 2), 0) / views.length;
    expect(pBright).toBeGreaterThan(0.5);
    // The protocol spells the choices 'Dark'/'Bright'; the answer uses the protocol's spelling.
    expect(draft.answers).toEqual({ Brightness: 'Bright' });
    expect(draft.stats.classification.probabilities.bright).toBeCloseTo(pBright, 4);
    expect(draft.stats.classification.images).toBe(4);
    const entropy = -(pBright * Math.log(pBright) + (1 - pBright) * Math.log(1 - pBright)) / Math.log(2);
    expect(draft.stats.uncertainty).toBeCloseTo(entropy, 4);
    const [row] = await sys.db.dataSource.query(`SELECT uncertainty, priority FROM tasks WHERE id = $1`, [task.id]);
    expect(row.uncertainty).toBeCloseTo(entropy, 4);
    expect(row.priority).toBe(Math.round(entropy * 100));
  });

  it('a classifier whose question the protocol lacks leaves the task to annotators without a draft, with the reason', async () => {
    const modelId = (await register(buildMeanIntensityClassifier({ weights: [-4, 4], bias: [1, -1] }), { ...classifier, version: '1.0.1' }).expect(201)).body.id;
    const projectId = await project('mismatch', modelId, 'Density');
    const task = await readyTask(projectId);
    const [row] = await sys.db.dataSource.query(`SELECT state_reason FROM tasks WHERE id = $1`, [task.id]);
    expect(row.state_reason).toBe("mean-classifier 1.0.1 failed: the protocol has no classification question 'Brightness' (its questions: 'Density')");
    const view = await taskView(projectId, task.id);
    expect(view.labels.filter((l: { kind: string }) => l.kind === 'draft')).toEqual([]);
    const [{ n }] = await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE object_id = $1 AND action LIKE 'task.%'`, [task.id]);
    expect(n).toBeGreaterThan(0);
  });

  it('a classifier and a detector on one project: one draft with the answer and the boxes, the worse uncertainty', async () => {
    const projectId = await project('both', [classifierId, detectorId]);
    const task = await readyTask(projectId);
    const draft = (await taskView(projectId, task.id)).labels.find((l: { kind: string }) => l.kind === 'draft');
    expect(draft.answers.Brightness).toBe('Bright');
    expect(draft.answers.shapes).toHaveLength(3);
    expect(draft.model).toMatchObject({ name: 'mean-classifier', models: [{ name: 'mean-classifier' }, { name: 'bright-detector' }] });
    expect(draft.stats.models.map((m: { name: string }) => m.name)).toEqual(['mean-classifier', 'bright-detector']);
    // The detector is sure (uncertainty 0), the classifier is not: the task is as uncertain as the classifier.
    expect(draft.stats.uncertainty).toBeCloseTo(draft.stats.models[0].uncertainty, 6);
    expect(draft.stats.uncertainty).toBeGreaterThan(0.5);
  });

  // One 1x1 convolution: channel 1 - channel 0 = x - 0.5 on min-max scaled pixels, so softmax + argmax marks
  // exactly the pixels brighter than half the range.
  const brightSegmenters = new Map<string, string>();
  const brightSegmenterId = async (version = '1.0.0') => {
    const model = buildConvTestModel({ spatialDims: 2, channelsOut: 2, kernel: 1, weights: [0, 1], bias: [0.5, 0] });
    const manifest = {
      ...CLASSIFIER_TEST_MANIFEST, name: 'bright-segmenter', version, task: 'segmentation-2d', question: undefined, appliesTo: { modalities: ['MG', 'US'] },
      input: { name: 'input', layout: 'NCHW', channels: 1 }, output: { name: 'output', kind: 'logits' },
      preprocessing: { intensity: { kind: 'minmax' } }, inference: { mode: 'per-slice' },
      labels: [{ channel: 1, name: 'Bright region' }],
    };
    if (!brightSegmenters.has(version)) brightSegmenters.set(version, (await register(model, manifest).expect(201)).body.id);
    return brightSegmenters.get(version)!;
  };
  const downloadSeg = async (projectId: string, taskId: string, draftId: string) => {
    const segRes = await sys.http().get(`/api/projects/${projectId}/tasks/${taskId}/labels/${draftId}/seg`).set(bearer(pm)).buffer(true).parse(binary);
    expect(segRes.status).toBe(200);
    const file = join(mkdtempSync(join(tmpdir(), 'seg2d-')), 'draft.dcm');
    writeFileSync(file, segRes.body as Buffer);
    const v = await run('/usr/bin/dciodvfy', [file]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${v.stdout}${v.stderr}`.split('\n').filter((l) => /^Error/.test(l))).toEqual([]);
    return file;
  };

  it('a model that cannot run on the image (a one-image 2D model on a CT series) fails once, not on every retry, and the task goes on with the reason', async () => {
    const model = buildConvTestModel({ spatialDims: 2, channelsOut: 2, kernel: 1, weights: [0, 1], bias: [0.5, 0] });
    const manifest = {
      ...CLASSIFIER_TEST_MANIFEST, name: 'one-image-2d', task: 'segmentation-2d', question: undefined, appliesTo: { modalities: ['CT'] },
      input: { name: 'input', layout: 'NCHW', channels: 1 }, output: { name: 'output', kind: 'logits' },
      preprocessing: { intensity: { kind: 'minmax' } }, inference: { mode: 'whole' }, labels: [{ channel: 1, name: 'Bright region' }],
    };
    const modelId = (await register(model, manifest).expect(201)).body.id;
    const id = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'wrong shape', settings: { prelabelModels: [modelId], quality: { reads: 1 } } }).expect(201)).body.id as string;
    const up = sys.http().post(`/api/projects/${id}/uploads`).set(bearer(pm));
    ctPhantomSeries({ seed: 'wrong-shape', slices: 3, rows: 32, columns: 32, pixelSpacing: 4, patient: { name: 'Wrong^Shape', id: 'P-SHAPE' } }).files.forEach((f, i) => up.attach('files', f, `${i}.dcm`));
    await up.expect(202);
    const task = await readyTask(id);
    expect((await taskView(id, task.id)).labels.filter((l: { kind: string }) => l.kind === 'draft')).toEqual([]);
    const [listed] = (await sys.http().get(`/api/projects/${id}/tasks`).set(bearer(pm)).expect(200)).body;
    expect(listed.stateReason).toMatch(/one-image-2d 1\.0\.0 failed: .*NCHW model on one 2D image, but the volume has 3 slices/);
    const job = await sys.app.get(JobQueue).queue(QueueName.Prelabel).getJob(prelabelJobId(task.id, [modelId]));
    expect(job!.attemptsMade).toBe(1);
  });

  it('a 2D segmentation model on a radiograph: the draft mask, and its DICOM SEG pixel for pixel on the image', async () => {
    const modelId = await brightSegmenterId();
    const id = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'segment 2d', settings: { prelabelModels: [modelId], quality: { reads: 1 }, split: { policy: 'image' } } }).expect(201)).body.id as string;
    await sys.http().post(`/api/projects/${id}/protocols`).set(bearer(pm)).send({ labels: [{ id: 3, name: 'Bright region', color: '#ffcc00' }], annotationTypes: [{ kind: 'segmentation-2d' }] }).expect(201);
    const bright: Rect = [20, 30, 60, 90];
    const inside = (x: number, y: number) => x >= bright[0] && x < bright[2] && y >= bright[1] && y < bright[3];
    await sys.http().post(`/api/projects/${id}/uploads`).set(bearer(pm)).attach('files', largeImage({ seed: 'seg2d', studySeed: 'seg2d', rows: 120, columns: 100, laterality: 'L', view: 'CC', pixelValue: (x, y) => (inside(x, y) ? 4095 : 100) }), 'LCC.dcm').expect(202);
    const task = await readyTask(id);
    const draft = (await taskView(id, task.id)).labels.find((l: { kind: string }) => l.kind === 'draft');
    expect(draft.stats.voxels).toEqual({ 3: 40 * 60 });
    expect(draft.stats.segSkipped).toBeUndefined();
    const file = await downloadSeg(id, task.id, draft.id);
    // pydicom: one frame of segment "Bright region", its pixels the rectangle, referencing the de-identified image.
    const { stdout } = await run('/usr/bin/python3', ['-c', `import pydicom,sys,numpy as np; d=pydicom.dcmread(sys.argv[1]); a=d.pixel_array; ys,xs=np.nonzero(a); print(d.NumberOfFrames, d.SegmentSequence[0].SegmentLabel, d.SegmentSequence[0].SegmentAlgorithmName, int(a.sum()), xs.min(), xs.max(), ys.min(), ys.max(), 'FrameOfReferenceUID' in d)`, file]);
    expect(stdout.trim()).toBe('1 Bright region bright-segmenter 2400 20 59 30 89 False');
  });

  it('a project moving to a new model version drafts again the tasks nobody has started; a task someone has begun keeps its draft (nothing was re-drafted before)', async () => {
    const v1 = await brightSegmenterId('1.0.0');
    const v2 = await brightSegmenterId('2.0.0');
    const id = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'new version', settings: { prelabelModels: [v1], quality: { reads: 1 }, split: { policy: 'image' } } }).expect(201)).body.id as string;
    await sys.http().put(`/api/projects/${id}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${id}/protocols`).set(bearer(pm)).send({ labels: [{ id: 3, name: 'Bright region', color: '#ffcc00' }], annotationTypes: [{ kind: 'segmentation-2d' }] }).expect(201);
    const up = sys.http().post(`/api/projects/${id}/uploads`).set(bearer(pm));
    for (const view of ['CC', 'MLO'] as const) up.attach('files', largeImage({ seed: `redraft-${view}`, studySeed: 'redraft', rows: 60, columns: 50, laterality: 'L', view, pixelValue: (x) => (x < 25 ? 4095 : 100) }), `${view}.dcm`);
    await up.expect(202);
    const ready = async () => (await sys.http().get(`/api/projects/${id}/tasks?state=ready`).set(bearer(pm)).expect(200)).body as { id: string }[];
    await eventually(async () => ((await ready()).length === 2 ? true : null), 60_000, 250);
    const begun = (await sys.http().post(`/api/projects/${id}/tasks/next`).set(bearer(ann)).expect(200)).body.taskId as string;
    const untouched = (await ready()).find((t) => t.id !== begun)!.id;
    // The first draft's uncertainty is worth 40 priority points (the task's and its read's).
    await sys.db.dataSource.query(`UPDATE tasks SET uncertainty = 0.4, uncertainty_points = 40, priority = 40 WHERE id = $1`, [untouched]);
    await sys.db.dataSource.query(`UPDATE task_reads SET priority = 40 WHERE task_id = $1`, [untouched]);
    await sys.http().patch(`/api/projects/${id}`).set(bearer(pm)).send({ settings: { prelabelModels: [v2] } }).expect(200);
    const drafts = async (taskId: string) => ((await taskView(id, taskId)).labels as { kind: string; model: { version: string } }[]).filter((l) => l.kind === 'draft').map((l) => l.model.version);
    await eventually(async () => ((await drafts(untouched)).length === 2 ? true : null), 60_000, 250);
    expect(await drafts(untouched)).toEqual(['1.0.0', '2.0.0']);
    expect((await taskView(id, untouched)).state).toBe('ready');
    // The new draft's points replace the first one's (they were added on top before).
    const [redrafted] = await sys.db.dataSource.query(`SELECT t.uncertainty, t.priority, r.priority AS read_priority FROM tasks t JOIN task_reads r ON r.task_id = t.id WHERE t.id = $1`, [untouched]);
    const expected = redrafted.uncertainty == null ? 0 : Math.round(redrafted.uncertainty * 100);
    expect([redrafted.priority, redrafted.read_priority]).toEqual([expected, expected]);
    // A manager then sets the priority outright; the next draft's points come on top of it (the manager's 500 lost
    // the earlier draft's points before).
    await sys.http().patch(`/api/projects/${id}/tasks/${untouched}`).set(bearer(pm)).send({ priority: 500 }).expect(204);
    await sys.http().patch(`/api/projects/${id}`).set(bearer(pm)).send({ settings: { prelabelModels: [v1] } }).expect(200);
    await eventually(async () => ((await drafts(untouched)).length === 3 ? true : null), 60_000, 250);
    const [again] = await sys.db.dataSource.query(`SELECT t.uncertainty, t.priority, r.priority AS read_priority FROM tasks t JOIN task_reads r ON r.task_id = t.id WHERE t.id = $1`, [untouched]);
    const points = again.uncertainty == null ? 0 : Math.round(again.uncertainty * 100);
    expect(points).toBeGreaterThan(0);
    expect([again.priority, again.read_priority]).toEqual([500 + points, 500 + points]);
    expect(await drafts(begun)).toEqual(['1.0.0']);
  });

  it('a 2D segmentation model on a frame range of an ultrasound cine: the DICOM SEG references the range\'s frames (no SEG before)', async () => {
    const modelId = await brightSegmenterId();
    const id = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'segment cine', settings: { prelabelModels: [modelId], quality: { reads: 1 }, split: { policy: 'frames', framesPerTask: 5 }, deid: { burnedInHold: 'declared' } } }).expect(201)).body.id as string;
    await sys.http().post(`/api/projects/${id}/protocols`).set(bearer(pm)).send({ labels: [{ id: 3, name: 'Bright region', color: '#ffcc00' }], annotationTypes: [{ kind: 'segmentation-2d' }] }).expect(201);
    await sys.http().post(`/api/projects/${id}/uploads`).set(bearer(pm)).attach('files', dataPath('dicom/modalities/us-multiframe-8.dcm')).expect(202);
    // Eight frames, five per task: frames 0-4 and 5-7.
    const tasks = await eventually(async () => {
      const list = (await sys.http().get(`/api/projects/${id}/tasks`).set(bearer(pm)).expect(200)).body as { id: string; state: string }[];
      return list.length === 2 && list.every((t) => t.state === 'ready') ? list : null;
    }, 60_000, 250);
    const views = await Promise.all(tasks.map((t) => taskView(id, t.id)));
    const last = views.find((v) => v.frameStart === 5);
    expect(last).toMatchObject({ kind: 'frames', frameEnd: 7 });
    const draft = last.labels.find((l: { kind: string }) => l.kind === 'draft');
    expect(draft.stats.voxels[3]).toBeGreaterThan(0);
    expect(draft.stats.segSkipped).toBeUndefined();
    const file = await downloadSeg(id, last.id, draft.id);
    // Each SEG frame names a frame of the cine inside the task's range (6..8 in DICOM's 1-based numbering).
    const { stdout } = await run('/usr/bin/python3', ['-c', `import json,pydicom,sys; d=pydicom.dcmread(sys.argv[1]); r=[f.DerivationImageSequence[0].SourceImageSequence[0] for f in d.PerFrameFunctionalGroupsSequence]; print(json.dumps([len(set(x.ReferencedSOPInstanceUID for x in r)), sorted(set(int(x.ReferencedFrameNumber) for x in r)), 'FrameOfReferenceUID' in d]))`, file]);
    const [instances, frames, withFrameOfReference] = JSON.parse(stdout) as [number, number[], boolean];
    expect(instances).toBe(1);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => f >= 6 && f <= 8)).toBe(true);
    expect(withFrameOfReference).toBe(false);
  });
});
