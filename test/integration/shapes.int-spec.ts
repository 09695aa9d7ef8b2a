// Boxes, points and polygons through the real API, PostgreSQL, Redis and the consensus worker: bad shapes are
// refused with every problem named and nothing stored; two readers' boxes are matched and merged; a point
// only one reader marked is listed as disputed and lowers the task's agreement; in a four-view mammography
// task each shape names its view and is checked against that view's size.
import { readdirSync, readFileSync } from 'node:fs';
import { ProjectRole, Role } from '@contour/db';
import { largeImage } from '@contour/dicom';
import { QueueName } from '@contour/queue';
import { dataPath } from '../support/env';
import { runExport } from '../support/exports';
import { eventually, startSystem, TestSystem } from '../support/system';

type U = { id: string; token: string };

describe('boxes, points and polygons', () => {
  let sys: TestSystem;
  let pm: U;
  const ann: U[] = [];
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });
  const labels = [
    { id: 1, name: 'Nodule', color: '#ff0000' },
    { id: 2, name: 'Calcification', color: '#00ff00' },
  ];

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing, QueueName.Consensus, QueueName.Export] });
    pm = await sys.user('pm', [Role.Manager]);
    for (let i = 1; i <= 2; i++) ann.push(await sys.user(`ann${i}`, [Role.Annotator]));
  });
  afterAll(() => sys.close());

  async function project(name: string, settings: Record<string, unknown>, annotationTypes: unknown[]) {
    const id = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name, settings }).expect(201)).body.id as string;
    for (const a of ann) await sys.http().put(`/api/projects/${id}/members/${a.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${id}/protocols`).set(bearer(pm)).send({ labels, annotationTypes, instructions: 'Mark every finding.' }).expect(201);
    return id;
  }
  const tasksOf = async (projectId: string) => (await sys.http().get(`/api/projects/${projectId}/tasks`).set(bearer(pm)).expect(200)).body as { id: string; state: string }[];
  const next = async (projectId: string, u: U) => (await sys.http().post(`/api/projects/${projectId}/tasks/next`).set(bearer(u)).expect(200)).body as { readId: string; taskId: string; task: { series: { id: string }[] } };
  const submit = (projectId: string, u: U, readId: string, answers: Record<string, unknown>) => sys.http().post(`/api/projects/${projectId}/reads/${readId}/submit`).set(bearer(u)).send({ answers });
  const taskView = async (projectId: string, taskId: string) => (await sys.http().get(`/api/projects/${projectId}/tasks/${taskId}`).set(bearer(pm)).expect(200)).body;

  it('two readers box the same nodule: bad shapes are refused, the boxes merge, the lone point is disputed', async () => {
    const projectId = await project('detection', { quality: { reads: 2, agreementThreshold: 0.4, reviewRequired: true } }, [{ kind: 'bounding-box' }, { kind: 'point' }, { kind: 'classification', question: 'Malignant?', choices: ['yes', 'no'] }]);
    const dir = dataPath('dicom/series/ct-3slice');
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    for (const f of readdirSync(dir)) up.attach('files', readFileSync(`${dir}/${f}`), f);
    await up.expect(202);
    const [task] = await eventually(async () => {
      const t = await tasksOf(projectId);
      return t.length === 1 && t[0].state === 'ready' ? t : null;
    }, 30_000);
    const l1 = await next(projectId, ann[0]);
    const l2 = await next(projectId, ann[1]);

    const bad = await submit(projectId, ann[0], l1.readId, {
      'Malignant?': 'no',
      shapes: [
        { kind: 'box', label: 1, slice: 1, box: [100, 100, 600, 140] },
        { kind: 'box', label: 9, slice: 1, box: [1, 1, 5, 5] },
        { kind: 'polygon', label: 1, points: [[1, 1], [5, 5], [1, 9]] },
        { kind: 'point', label: 2, slice: 3, point: [10, 10] },
      ],
    }).expect(400);
    expect(bad.body.message).toMatch(/^4 shapes are not valid/);
    expect(bad.body.message).toMatch(/shapes\[0\] \(box\): box \[100, 100, 600, 140\] goes outside the 512x512 image/);
    expect(bad.body.message).toMatch(/shapes\[1\] \(box\): label 9 is not in the protocol \(labels 1, 2\)/);
    expect(bad.body.message).toMatch(/shapes\[2\] \(polygon\): the protocol has no "polygon" annotation type/);
    expect(bad.body.message).toMatch(/shapes\[3\] \(point\): slice 3 is outside the image's slices 0..2/);
    // Answers to questions the protocol does not ask, or outside its choices, are refused the same way.
    const badAnswers = await submit(projectId, ann[0], l1.readId, { 'Malignant?': 'maybe', Size: 'big', shapes: [] }).expect(400);
    expect(badAnswers.body.message).toBe('2 answers are not valid: "Malignant?": "maybe" is not one of its choices ("yes", "no"); "Size" is not a question of the protocol (its questions: "Malignant?")');
    // A final read answers every question; one refusal names the missing answer and the bad shape together.
    const malformed = await submit(projectId, ann[0], l1.readId, { shapes: [{ kind: 'box', label: 1, box: [1, 2] }] }).expect(400);
    expect(malformed.body.message).toMatch(/^1 answer is not valid: this question is not answered: "Malignant\?" \(choices: "yes", "no"\)\. .*shapes\[0\]\.box/);
    const unanswered = await submit(projectId, ann[0], l1.readId, { shapes: [] }).expect(400);
    expect(unanswered.body.message).toBe('1 answer is not valid: this question is not answered: "Malignant?" (choices: "yes", "no")');
    // A draft may leave it open (work in progress).
    await sys.http().put(`/api/projects/${projectId}/reads/${l1.readId}/draft`).set(bearer(ann[0])).send({ answers: { shapes: [] } }).expect(200);
    const [{ n }] = await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM label_versions WHERE task_id = $1 AND kind = 'read'`, [task.id]);
    expect(n).toBe(0);

    await submit(projectId, ann[0], l1.readId, { 'Malignant?': 'no', shapes: [{ kind: 'box', label: 1, slice: 1, box: [100, 100, 140, 150] }, { kind: 'point', label: 2, slice: 2, point: [300.5, 300.5] }] }).expect(200);
    const last = await submit(projectId, ann[1], l2.readId, { 'Malignant?': 'no', shapes: [{ kind: 'box', label: 1, slice: 1, box: [102, 100, 142, 152] }] }).expect(200);
    expect(last.body.taskState).toBe('consensus');

    const view = await eventually(async () => {
      const v = await taskView(projectId, task.id);
      return v.state === 'review' ? v : null;
    }, 30_000);
    const [consensus] = view.consensus;
    // Boxes: IoU 0.870; the point only reader 1 marked: pair agreement 0.870 / mean(2, 1) = 0.580.
    expect(consensus.metrics.shapes.agreement).toBeCloseTo((38 * 50) / (40 * 50 + 40 * 52 - 38 * 50) / 1.5, 3);
    expect(consensus.agreement).toBeCloseTo(consensus.metrics.shapes.agreement, 6);
    expect(consensus.metrics.shapes.labels).toEqual([
      { label: 1, agreement: expect.closeTo((38 * 50) / (40 * 50 + 40 * 52 - 38 * 50), 3), counts: [1, 1] },
      { label: 2, agreement: 0, counts: [1, 0] },
    ]);
    expect(consensus.metrics.answers).toEqual({ 'Malignant?': 1 });
    expect(consensus.disagreement.shapes).toEqual([{ readers: 1, similarity: 1, shape: expect.objectContaining({ kind: 'point', point: [300.5, 300.5] }) }]);
    // The dashboard: each annotator's shape agreement is that of the one pair they were in.
    const stats = (await sys.http().get(`/api/projects/${projectId}/stats`).set(bearer(pm)).expect(200)).body;
    for (const a of stats.annotators) expect(a.meanShapeAgreement).toBeCloseTo(consensus.metrics.shapes.agreement, 6);
    expect(stats.annotators).toHaveLength(2);
    // Reader against reader: the one pair, its shape agreement and its answers (both "no").
    expect(stats.agreement.pairs.shapes).toEqual([{ a: expect.any(Object), b: expect.any(Object), comparisons: 1, meanAgreement: expect.closeTo(consensus.metrics.shapes.agreement, 6) }]);
    expect(stats.agreement.pairs.classification).toEqual([expect.objectContaining({ question: 'Malignant?', items: 1, observed: 1, kappa: 1 })]);
    const merged = view.labels.find((l: { kind: string }) => l.kind === 'merged');
    expect(merged.answers).toEqual({ 'Malignant?': 'no', shapes: [{ kind: 'box', label: 1, slice: 1, image: view.series[0].id, box: [101, 100, 141, 151] }] });
  });

  it('classification agreement over a project: Cohen\'s kappa per pair of readers and Fleiss\' kappa per question, as computed by hand (raw shares only before)', async () => {
    const projectId = await project('kappa', { quality: { reads: 2, agreementThreshold: 0, reviewRequired: false }, split: { policy: 'image' } }, [{ kind: 'classification', question: 'Malignant?', choices: ['yes', 'no'] }]);
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    for (let i = 0; i < 4; i++) up.attach('files', largeImage({ seed: `kappa-${i}`, studySeed: `kappa-${i}`, rows: 40, columns: 30, laterality: 'L', view: 'CC' }), `${i}.dcm`);
    await up.expect(202);
    await eventually(async () => {
      const t = await tasksOf(projectId);
      return t.length === 4 && t.every((x) => x.state === 'ready');
    }, 30_000);
    // Task by task (in id order): reader 1 answers yes, yes, no, no; reader 2 yes, no, no, no.
    const order = (await tasksOf(projectId)).map((t) => t.id).sort();
    const answers = [['yes', 'yes', 'no', 'no'], ['yes', 'no', 'no', 'no']];
    for (const [r, reader] of ann.entries()) {
      for (let i = 0; i < 4; i++) {
        const lease = await next(projectId, reader);
        await submit(projectId, reader, lease.readId, { 'Malignant?': answers[r][order.indexOf(lease.taskId)] }).expect(200);
      }
    }
    await eventually(async () => (await tasksOf(projectId)).every((t) => t.state === 'approved'), 30_000);
    const { agreement } = (await sys.http().get(`/api/projects/${projectId}/stats`).set(bearer(pm)).expect(200)).body;
    // Cohen: observed 3/4, chance 1/2 x 1/4 + 1/2 x 3/4 = 1/2, kappa 1/2. Fleiss: (3/4 - 17/32) / (15/32) = 7/15.
    expect(agreement.classification).toEqual([{ question: 'Malignant?', fleiss: [{ raters: 2, items: 4, kappa: expect.closeTo(7 / 15, 9) }] }]);
    expect(agreement.pairs.classification).toEqual([{ a: expect.objectContaining({ username: expect.stringMatching(/^ann[12]$/) }), b: expect.any(Object), question: 'Malignant?', items: 4, observed: 0.75, kappa: expect.closeTo(0.5, 9) }]);
    expect(agreement.pairs.dice).toEqual([]);
    // The merged answer is the majority's; where the two readers split (the second task), there is none: it was filled
    // with whichever answer sorted first, and shown to the adjudicator as the majority.
    const mergedAnswers = async (taskId: string) => ((await sys.http().get(`/api/projects/${projectId}/tasks/${taskId}`).set(bearer(pm)).expect(200)).body.labels as { kind: string; answers: unknown }[]).find((l) => l.kind === 'merged')!.answers;
    expect(await mergedAnswers(order[0])).toEqual({ 'Malignant?': 'yes' });
    expect(await mergedAnswers(order[1])).toEqual({});
  });

  it('cine frames: a box on the third frame of a range is exported on that frame, every frame of the range an image', async () => {
    const projectId = await project('cine boxes', { quality: { reads: 1, reviewRequired: false }, split: { policy: 'frames', framesPerTask: 4 }, deid: { burnedInHold: 'declared' } }, [{ kind: 'bounding-box' }]);
    await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm)).attach('files', dataPath('dicom/modalities/us-multiframe-8.dcm')).expect(202);
    await eventually(async () => {
      const t = await tasksOf(projectId);
      return t.length === 2 && t.every((x) => x.state === 'ready');
    }, 30_000);
    for (let i = 0; i < 2; i++) {
      const lease = await next(projectId, ann[0]);
      const shapes = i === 0 ? [{ kind: 'box', label: 1, slice: 2, box: [10, 20, 110, 80] }] : [];
      await submit(projectId, ann[0], lease.readId, { shapes }).expect(200);
    }
    await eventually(async () => (await tasksOf(projectId)).every((t) => t.state === 'approved'), 30_000);
    const { files } = await runExport(sys, projectId, pm.token, { options: { formats: ['coco'] } });
    const coco = JSON.parse(Buffer.from(files['coco/annotations.json']).toString());
    expect(coco.images).toHaveLength(8);
    expect(coco.images.every((im: { width: number; height: number }) => im.width === 320 && im.height === 240)).toBe(true);
    for (const im of coco.images) expect(Buffer.from(files[`coco/${im.file_name}`]).subarray(1, 4).toString()).toBe('PNG');
    // Each image is its own frame (a cine changes from frame to frame).
    expect(new Set(coco.images.map((im: { file_name: string }) => Buffer.from(files[`coco/${im.file_name}`]).toString('base64'))).size).toBe(8);
    expect(coco.annotations).toHaveLength(1);
    const boxed = coco.images.find((im: { id: number }) => im.id === coco.annotations[0].image_id);
    expect(boxed.file_name).toMatch(/_f002\.png$/);
    expect(coco.annotations[0].bbox).toEqual([10, 20, 100, 60]);
  });

  it('a four-view mammography task: each shape names its view and is checked against it', async () => {
    const projectId = await project('mammo boxes', { quality: { reads: 1, reviewRequired: false }, split: { policy: 'view-group' } }, [{ kind: 'bounding-box' }, { kind: 'polygon' }]);
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    for (const [laterality, view] of [['L', 'CC'], ['R', 'CC'], ['L', 'MLO'], ['R', 'MLO']] as const) {
      up.attach('files', largeImage({ seed: `shapes-mg-${laterality}${view}`, studySeed: 'shapes-mg', rows: 120 + (laterality === 'R' ? 20 : 0), columns: 100, laterality, view }), `${laterality}${view}.dcm`);
    }
    await up.expect(202);
    await eventually(async () => {
      const t = await tasksOf(projectId);
      return t.length === 1 && t[0].state === 'ready';
    }, 30_000);
    const lease = await next(projectId, ann[0]);
    expect(lease.task.series).toHaveLength(4);
    const views = await Promise.all(lease.task.series.map(async (s) => ({ id: s.id, rows: (await sys.db.dataSource.query(`SELECT geometry FROM series WHERE id = $1`, [s.id]))[0].geometry.dims[1] as number })));
    const tall = views.find((v) => v.rows === 140)!;
    const short = views.find((v) => v.rows === 120)!;

    const noImage = await submit(projectId, ann[0], lease.readId, { shapes: [{ kind: 'box', label: 1, box: [1, 1, 5, 5] }] }).expect(400);
    expect(noImage.body.message).toMatch(/this task has 4 images; say which one with "image"/);
    const tooLow = await submit(projectId, ann[0], lease.readId, { shapes: [{ kind: 'box', label: 1, image: short.id, box: [10, 100, 20, 130] }] }).expect(400);
    expect(tooLow.body.message).toMatch(/goes outside the 100x120 image/);
    const other = await submit(projectId, ann[0], lease.readId, { shapes: [{ kind: 'box', label: 1, image: '00000000-0000-0000-0000-000000000000', box: [1, 1, 5, 5] }] }).expect(400);
    expect(other.body.message).toMatch(/is not one of this task's images/);

    const shapes = [
      { kind: 'box', label: 1, image: tall.id, box: [10, 100, 20, 130] },
      { kind: 'polygon', label: 2, image: short.id, points: [[10, 10], [30, 10], [20, 25]] },
    ];
    const done = await submit(projectId, ann[0], lease.readId, { shapes }).expect(200);
    expect(done.body.taskState).toBe('consensus');
    const view = await eventually(async () => {
      const v = await taskView(projectId, lease.taskId);
      return v.state === 'approved' ? v : null;
    }, 30_000);
    const merged = view.labels.find((l: { kind: string }) => l.kind === 'merged');
    expect(merged.answers.shapes).toEqual(shapes.map((s) => ({ ...s, slice: 0 })));
    expect(view.consensus[0].metrics.shapes.agreement).toBe(1);

    // COCO export: one image per view (views without findings too), the box and the polygon on their views.
    const { files } = await runExport(sys, projectId, pm.token, { options: { formats: ['coco'] } });
    const coco = JSON.parse(Buffer.from(files['coco/annotations.json']).toString());
    expect(coco.images).toHaveLength(4);
    for (const im of coco.images) expect(Buffer.from(files[`coco/${im.file_name}`]).subarray(1, 4).toString()).toBe('PNG');
    const viewOf = (id: string) => coco.images[lease.task.series.findIndex((s) => s.id === id)];
    expect(viewOf(tall.id)).toMatchObject({ width: 100, height: 140 });
    expect([...coco.annotations].sort((a, b) => a.category_id - b.category_id)).toEqual([
      { id: expect.any(Number), image_id: viewOf(tall.id).id, category_id: 1, segmentation: [], area: 300, bbox: [10, 100, 10, 30], iscrowd: 0 },
      { id: expect.any(Number), image_id: viewOf(short.id).id, category_id: 2, segmentation: [[10, 10, 30, 10, 20, 25]], area: 150, bbox: [10, 10, 20, 15], iscrowd: 0 },
    ]);
    expect(coco.categories.map((c: { name: string }) => c.name)).toEqual(['Nodule', 'Calcification']);
  });
});
