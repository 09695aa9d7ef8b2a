// Images that may show burned-in identifying text, through the real API, PostgreSQL, Redis and the routing
// worker: a series declaring Burned In Annotation YES makes no task and is refused to annotators (instance file,
// series volume, WADO-RS) until a manager of the project has looked at it; clearing every image makes its task,
// excluding one keeps it out for good; decisions are audited and not reversed. Before, such images went to
// annotators like any other.
import { ProjectRole, Role } from '@contour/db';
import { ctPhantomSeries } from '@contour/dicom';
import { QueueName } from '@contour/queue';
import { RoutingService, TaskSplitter } from '@contour/tasks';
import { readNifti } from '@contour/volume';
import { discMask, maskBody } from '../support/masks';
import { dataPath } from '../support/env';
import { binary, eventually, startSystem, TestSystem } from '../support/system';

type U = { id: string; token: string };
type DicomJson = Record<string, { Value: (string | number)[] }>;

describe('privacy hold of images with burned-in text', () => {
  let sys: TestSystem;
  let pm: U, ann: U, rev: U;
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing] });
    pm = await sys.user('pm', [Role.Manager]);
    ann = await sys.user('ann', [Role.Annotator]);
    rev = await sys.user('rev', [Role.Reviewer]);
  });
  afterAll(() => sys.close());

  async function project(name: string, split: string) {
    const id = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name, settings: { quality: { reads: 1 }, split: { policy: split } } }).expect(201)).body.id as string;
    await sys.http().put(`/api/projects/${id}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().put(`/api/projects/${id}/members/${rev.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
    await sys.http().post(`/api/projects/${id}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Lesion', color: '#ff0000' }], annotationTypes: [{ kind: 'segmentation-3d' }] }).expect(201);
    return id;
  }
  async function upload(projectId: string, seed: string, slices: number, burnedInAnnotation?: 'YES') {
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    const series = ctPhantomSeries({ seed, slices, rows: 16, columns: 16, pixelSpacing: 8, burnedInAnnotation, patient: { name: `Held^${seed}`, id: `P-${seed}` } });
    series.files.forEach((f, i) => up.attach('files', f, `${i}.dcm`));
    await up.expect(202);
    return series;
  }
  const tasks = async (projectId: string) => (await sys.http().get(`/api/projects/${projectId}/tasks`).set(bearer(pm)).expect(200)).body as { id: string; state: string; kind: string; privacyHeld: boolean }[];
  const checkedSeries = (projectId: string, n: number) =>
    eventually(async () => {
      const list = (await sys.http().get(`/api/projects/${projectId}/series`).set(bearer(pm)).expect(200)).body as { id: string; studyId: string; qcStatus: string; seriesInstanceUid: string }[];
      return list.length === n && list.every((s) => s.qcStatus === 'ok') ? list : null;
    }, 30_000);
  const pending = async (projectId: string) => (await sys.http().get(`/api/projects/${projectId}/privacy-review`).set(bearer(pm)).expect(200)).body as { total: number; items: { id: string; seriesId: string; studyId: string; studyInstanceUid: string; flags: string[]; review: unknown }[] };
  const decide = (projectId: string, instanceId: string, decision: string, u: U = pm) => sys.http().post(`/api/projects/${projectId}/privacy-review/${instanceId}`).set(bearer(u)).send({ decision, comment: `${decision} after a look` });

  it('a series declaring burned-in text waits for a manager: no task, refused to annotators, then cleared image by image', async () => {
    const projectId = await project('held series', 'series');
    await upload(projectId, 'clean', 2);
    await upload(projectId, 'held', 2, 'YES');
    const series = await checkedSeries(projectId, 2);
    // The split of both studies, run now rather than waiting for the debounced job: only the clean series has a task.
    for (const s of series) await sys.app.get(TaskSplitter).split(s.studyId);
    expect(await tasks(projectId)).toHaveLength(1);
    const held = await pending(projectId);
    expect(held.total).toBe(2);
    expect(held.items.every((i) => i.flags.includes('burned-in-annotation') && i.review === null)).toBe(true);
    const heldSeries = held.items[0].seriesId;
    expect(held.items[1].seriesId).toBe(heldSeries);
    // Only managers list and decide.
    await sys.http().get(`/api/projects/${projectId}/privacy-review`).set(bearer(ann)).expect(403);
    await decide(projectId, held.items[0].id, 'clear', rev).expect(403);
    await decide(projectId, held.items[0].id, 'maybe').expect(400);
    // Annotators and reviewers get no pixels of it, with the reason; the manager does.
    const refused = await sys.http().get(`/api/projects/${projectId}/series/${heldSeries}/volume`).set(bearer(ann)).expect(403);
    expect(refused.body.message).toMatch(/held for a privacy review/);
    expect((await sys.http().get(`/api/projects/${projectId}/instances/${held.items[0].id}/file`).set(bearer(rev)).expect(403)).body.message).toMatch(/burned-in annotation/);
    await sys.http().get(`/dicom-web/projects/${projectId}/studies/${held.items[0].studyInstanceUid}/metadata`).set(bearer(ann)).expect(404);
    // QIDO-RS lists its instances to the manager only.
    const qido = (u: U) => sys.http().get(`/dicom-web/projects/${projectId}/studies/${held.items[0].studyInstanceUid}/instances`).set(bearer(u));
    expect((await qido(pm).expect(200)).body).toHaveLength(2);
    expect([200, 204]).toContain((await qido(ann)).status);
    expect((await qido(ann)).body.length ?? 0).toBe(0);
    // The study and series lists neither count nor list it for them (they listed the held study and series).
    const lists = async (u: U) => ({
      studies: (await sys.http().get(`/api/projects/${projectId}/studies`).set(bearer(u)).expect(200)).body as { studyInstanceUid: string; seriesCount: number; instanceCount: number }[],
      series: (await sys.http().get(`/api/projects/${projectId}/series`).set(bearer(u)).expect(200)).body as { id: string; instanceCount: number }[],
    });
    const managerView = await lists(pm);
    expect(managerView.studies.map((st) => st.instanceCount).sort()).toEqual([2, 2]);
    expect(managerView.series.map((se) => se.id)).toContain(heldSeries);
    for (const u of [ann, rev]) {
      const view = await lists(u);
      expect(view.studies.map((st) => st.studyInstanceUid)).not.toContain(held.items[0].studyInstanceUid);
      expect(view.studies).toEqual([expect.objectContaining({ seriesCount: 1, instanceCount: 2 })]);
      expect(view.series.map((se) => se.id)).not.toContain(heldSeries);
      expect(view.series).toHaveLength(1);
    }
    // So does the instance listing (it listed them to everyone, with their UIDs, sizes and flags).
    const listed = async (u: U) => ((await sys.http().get(`/api/projects/${projectId}/instances`).set(bearer(u)).expect(200)).body as { total: number; items: { id: string }[] });
    const heldIds = held.items.map((i) => i.id).sort();
    expect((await listed(pm)).items.map((i) => i.id)).toEqual(expect.arrayContaining(heldIds));
    const annList = await listed(ann);
    expect(annList.total).toBe(2);
    expect(annList.items.map((i) => i.id)).not.toEqual(expect.arrayContaining([heldIds[0]]));
    expect(annList.items).toHaveLength(2);
    // Study and series searches: the held study and series are not listed to annotators, nor counted (they were).
    const studyCounts = async (u: U) =>
      Object.fromEntries(((await sys.http().get(`/dicom-web/projects/${projectId}/studies?includefield=00201208`).set(bearer(u)).expect(200)).body as DicomJson[]).map((d) => [d['0020000D'].Value[0], d['00201208'].Value[0]]));
    const seriesUids = async (u: U) => ((await sys.http().get(`/dicom-web/projects/${projectId}/series`).set(bearer(u)).expect(200)).body as DicomJson[]).map((d) => d['0020000E'].Value[0]);
    expect(Object.values(await studyCounts(pm)).sort()).toEqual([2, 2]);
    expect(await studyCounts(ann)).not.toHaveProperty(held.items[0].studyInstanceUid);
    expect(Object.values(await studyCounts(ann))).toEqual([2]);
    expect(await seriesUids(pm)).toHaveLength(2);
    expect(await seriesUids(ann)).toHaveLength(1);
    const heldStudySeries = await sys.http().get(`/dicom-web/projects/${projectId}/studies/${held.items[0].studyInstanceUid}/series`).set(bearer(rev));
    expect([200, 204]).toContain(heldStudySeries.status);
    expect(heldStudySeries.body.length ?? 0).toBe(0);
    await sys.http().get(`/api/projects/${projectId}/instances/${held.items[0].id}/file`).set(bearer(pm)).expect(200);
    // Images that are not held stay open to annotators by every door (WADO-RS hid every image without a decision
    // from them at first: a NULL in the hold's SQL test).
    const [clean] = await sys.db.dataSource.query(`SELECT st.study_instance_uid FROM studies st JOIN series se ON se.study_id = st.id WHERE se.project_id = $1 AND se.id <> $2`, [projectId, heldSeries]);
    await sys.http().get(`/dicom-web/projects/${projectId}/studies/${clean.study_instance_uid}/metadata`).set(bearer(ann)).expect(200);
    await sys.http().get(`/dicom-web/projects/${projectId}/studies/${held.items[0].studyInstanceUid}/metadata`).set(bearer(pm)).expect(200);
    // The annotator's next task is the clean one.
    const lease = (await sys.http().post(`/api/projects/${projectId}/tasks/next`).set(bearer(ann)).expect(200)).body;
    expect(lease.task.series.map((s: { id: string }) => s.id)).not.toContain(heldSeries);

    // One image cleared: the series still waits for the other.
    expect((await decide(projectId, held.items[0].id, 'clear').expect(200)).body).toMatchObject({ decision: 'clear', by: 'pm', duplicate: false });
    await sys.app.get(TaskSplitter).split(held.items[0].studyId);
    expect(await tasks(projectId)).toHaveLength(1);
    expect((await pending(projectId)).total).toBe(1);
    // Searches now list the study with the one image annotators may see.
    expect((await studyCounts(ann))[held.items[0].studyInstanceUid]).toBe(1);
    expect((await studyCounts(pm))[held.items[0].studyInstanceUid]).toBe(2);
    // A decision is not reversed; the same one again answers as before.
    expect((await decide(projectId, held.items[0].id, 'exclude').expect(409)).body.message).toMatch(/already cleared by pm/);
    expect((await decide(projectId, held.items[0].id, 'clear').expect(200)).body.duplicate).toBe(true);
    // The rest of the series cleared in one call: the study is split again by the routing worker and the task is made.
    const bulk = await sys.http().post(`/api/projects/${projectId}/privacy-review/series/${heldSeries}`).set(bearer(pm)).send({ decision: 'clear', comment: 'whole series looked at' }).expect(200);
    expect(bulk.body).toEqual({ seriesId: heldSeries, decision: 'clear', decided: 1 });
    await sys.http().post(`/api/projects/${projectId}/privacy-review/series/${heldSeries}`).set(bearer(pm)).send({ decision: 'clear' }).expect(409);
    await eventually(async () => ((await tasks(projectId)).length === 2 ? true : null), 30_000);
    await sys.http().get(`/api/projects/${projectId}/series/${heldSeries}/volume`).set(bearer(ann)).expect(200);
    expect((await pending(projectId)).total).toBe(0);
    const decided = (await sys.http().get(`/api/projects/${projectId}/privacy-review?state=decided`).set(bearer(pm)).expect(200)).body;
    expect(decided.total).toBe(2);
    const audit = await sys.db.dataSource.query(`SELECT action, actor_name FROM audit_events WHERE project_id = $1 AND action LIKE 'instance.privacy-%' ORDER BY id`, [projectId]);
    expect(audit).toEqual([
      { action: 'instance.privacy-cleared', actor_name: 'pm' },
      { action: 'instance.privacy-cleared', actor_name: 'pm' },
    ]);
  });

  it('per-image tasks: a series makes none while one of its images is held; an excluded image makes none and is blanked in the series; a never-held image is not decided; a lower hold splits again', async () => {
    const projectId = await project('held images', 'image');
    await upload(projectId, 'held-images', 3, 'YES');
    await upload(projectId, 'clean-images', 2);
    const series = await checkedSeries(projectId, 2);
    for (const s of series) await sys.app.get(TaskSplitter).split(s.studyId);
    // The clean series' two images have their tasks; the held series none.
    expect(await tasks(projectId)).toHaveLength(2);
    const heldSeries = (await pending(projectId)).items;
    const [excluded, cleared, last] = heldSeries;
    // The series' NIfTI is built ahead of use (routing worker) with every image in it.
    const volumeKey = async () => (await sys.db.dataSource.query(`SELECT volume_blob_key FROM series WHERE id = $1`, [excluded.seriesId]))[0].volume_blob_key as string | null;
    await eventually(volumeKey, 30_000);
    await decide(projectId, excluded.id, 'exclude').expect(200);
    await decide(projectId, cleared.id, 'clear').expect(200);
    await sys.app.get(TaskSplitter).split(excluded.studyId);
    // One image still waits for a decision: the series makes no task (the viewer loads a task's whole series).
    expect(await tasks(projectId)).toHaveLength(2);
    await sys.http().get(`/api/projects/${projectId}/series/${excluded.seriesId}/volume`).set(bearer(ann)).expect(403);
    await decide(projectId, last.id, 'clear').expect(200);
    await sys.app.get(TaskSplitter).split(excluded.studyId);
    // The excluded image keeps its series out no more (it did): the two cleared images have their tasks, it has none.
    const madeFor = (await sys.db.dataSource.query(`SELECT instance_id FROM tasks WHERE project_id = $1`, [projectId])).map((t: { instance_id: string }) => t.instance_id);
    expect(madeFor).toHaveLength(4);
    expect(madeFor).toEqual(expect.arrayContaining([cleared.id, last.id]));
    expect(madeFor).not.toContain(excluded.id);
    // Image by image, annotators get the cleared ones, never the excluded one.
    expect((await sys.http().get(`/api/projects/${projectId}/instances/${excluded.id}/file`).set(bearer(ann)).expect(403)).body.message).toMatch(/excluded by a manager/);
    await sys.http().get(`/api/projects/${projectId}/instances/${cleared.id}/file`).set(bearer(ann)).expect(200);
    // The series' volume, which the viewer loads, is rebuilt with the excluded image's slice blanked and the others
    // as they are; everyone gets that one.
    const [{ geometry }] = await sys.db.dataSource.query(`SELECT geometry FROM series WHERE id = $1`, [excluded.seriesId]);
    expect(geometry.excluded).toEqual([excluded.id]);
    for (const u of [ann, pm]) {
      const nifti = readNifti((await sys.http().get(`/api/projects/${projectId}/series/${excluded.seriesId}/volume`).set(bearer(u)).buffer(true).parse(binary).expect(200)).body);
      const L = nifti.dims[0] * nifti.dims[1];
      const blank = (geometry.order as string[]).map((id, k) => ({ id, zeros: Array.from(nifti.data.subarray(k * L, (k + 1) * L) as ArrayLike<number>).every((v) => v === 0) }));
      expect(blank).toEqual((geometry.order as string[]).map((id) => ({ id, zeros: id === excluded.id })));
    }
    expect(await volumeKey()).not.toBeNull();
    // An image that was never held may already be in a task: there is nothing to decide.
    const clean = (await sys.http().get(`/api/projects/${projectId}/instances`).set(bearer(pm)).expect(200)).body.items.find((i: { seriesId: string }) => i.seriesId !== excluded.seriesId);
    expect((await decide(projectId, clean.id, 'exclude').expect(409)).body.message).toMatch(/not held for a privacy review/);
    // A second held series, still pending; the project then stops holding: its studies are split again (by the
    // routing worker) and that series' images get their tasks, while the excluded image still has none.
    await upload(projectId, 'held-later', 2, 'YES');
    await checkedSeries(projectId, 3);
    await sys.http().patch(`/api/projects/${projectId}`).set(bearer(pm)).send({ settings: { quality: { reads: 1 }, split: { policy: 'image' }, deid: { burnedInHold: 'none' } } }).expect(200);
    await eventually(async () => ((await tasks(projectId)).length === 6 ? true : null), 30_000);
    expect((await pending(projectId)).total).toBe(0);
    await sys.http().patch(`/api/projects/${projectId}`).set(bearer(pm)).send({ settings: { deid: { burnedInHold: 'sometimes' } } }).expect(400);
  });

  it('a new project holds an ultrasound image that does not declare its burned-in text (it went straight to annotators)', async () => {
    const id = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'default hold', settings: { quality: { reads: 1 }, split: { policy: 'frames' } } }).expect(201)).body.id as string;
    await sys.http().put(`/api/projects/${id}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${id}/uploads`).set(bearer(pm)).attach('files', dataPath('dicom/modalities/us-multiframe-8.dcm')).expect(202);
    const waiting = await eventually(async () => {
      const r = await pending(id);
      return r.total === 1 ? r.items[0] : null;
    }, 30_000);
    expect(waiting.flags).toEqual(['review-burned-in']);
    await eventually(async () => ((await sys.http().get(`/api/projects/${id}/series`).set(bearer(pm)).expect(200)).body as { qcStatus: string }[]).every((x) => x.qcStatus !== 'pending') || null, 30_000);
    await sys.app.get(TaskSplitter).split(waiting.studyId);
    expect(await tasks(id)).toEqual([]);
    await sys.http().get(`/api/projects/${id}/instances/${waiting.id}/file`).set(bearer(ann)).expect(403);
  });

  it('a task is never seen held while its lease still runs: the flag and the withdrawn lease commit together', async () => {
    const projectId = await project('held atomically', 'series');
    await sys.db.dataSource.query(`UPDATE projects SET settings = jsonb_set(settings, '{deid}', '{"burnedInHold": "none"}') WHERE id = $1`, [projectId]);
    await upload(projectId, 'held-atomic', 2, 'YES');
    const [series] = await checkedSeries(projectId, 1);
    const splitter = sys.app.get(TaskSplitter);
    await splitter.split(series.studyId);
    const [task] = await tasks(projectId);
    await sys.http().post(`/api/projects/${projectId}/tasks/next`).set(bearer(ann)).expect(200);
    // The hold raised behind the API's back (no re-split by the worker); this split holds the task. While its lease
    // is being withdrawn, another connection looks: before, it saw the task held and still in annotation.
    await sys.db.dataSource.query(`UPDATE projects SET settings = jsonb_set(settings, '{deid}', '{"burnedInHold": "declared"}') WHERE id = $1`, [projectId]);
    const routing = sys.app.get(RoutingService);
    const seen: { privacy_held: boolean; state: string }[] = [];
    const withdraw = routing.withdrawForPrivacyHold.bind(routing);
    const spy = jest.spyOn(routing, 'withdrawForPrivacyHold').mockImplementation(async (...args) => {
      seen.push(...(await sys.db.dataSource.query(`SELECT privacy_held, state FROM tasks WHERE id = $1`, [task.id])));
      return withdraw(...args);
    });
    try {
      await splitter.split(series.studyId);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toEqual([{ privacy_held: false, state: 'in_annotation' }]);
    expect(await tasks(projectId)).toEqual([expect.objectContaining({ id: task.id, privacyHeld: true, state: 'ready' })]);
  });

  it('holding a task waits for a lease change in progress instead of deadlocking with it (a release locks the read, then the task)', async () => {
    const projectId = await project('held while released', 'series');
    await sys.db.dataSource.query(`UPDATE projects SET settings = jsonb_set(settings, '{deid}', '{"burnedInHold": "none"}') WHERE id = $1`, [projectId]);
    await upload(projectId, 'held-deadlock', 2, 'YES');
    const [series] = await checkedSeries(projectId, 1);
    const splitter = sys.app.get(TaskSplitter);
    await splitter.split(series.studyId);
    const [task] = await tasks(projectId);
    const lease = (await sys.http().post(`/api/projects/${projectId}/tasks/next`).set(bearer(ann)).expect(200)).body;
    await sys.db.dataSource.query(`UPDATE projects SET settings = jsonb_set(settings, '{deid}', '{"burnedInHold": "declared"}') WHERE id = $1`, [projectId]);
    // Another transaction changes the lease as every lease change does: its read first, then (later) its task.
    const other = sys.db.dataSource.createQueryRunner();
    await other.connect();
    await other.startTransaction();
    try {
      await other.query(`SELECT 1 FROM task_reads WHERE id = $1 FOR UPDATE`, [lease.readId]);
      const holding = splitter.split(series.studyId);
      await new Promise((r) => setTimeout(r, 300));
      // Before, the hold had locked the task by now and waited for the read: this statement deadlocked with it.
      await other.query(`UPDATE tasks SET priority = priority WHERE id = $1`, [task.id]);
      await other.commitTransaction();
      await holding;
    } finally {
      if (other.isTransactionActive) await other.rollbackTransaction();
      await other.release();
    }
    expect(await tasks(projectId)).toEqual([expect.objectContaining({ id: task.id, privacyHeld: true, state: 'ready' })]);
  });

  it('a task made before its images were held is held too: leases withdrawn, nothing offered or accepted until cleared, then the late work is welcome', async () => {
    const projectId = await project('held later', 'series');
    const settings = (burnedInHold: string) => ({ settings: { quality: { reads: 1 }, split: { policy: 'series' }, deid: { burnedInHold } } });
    await sys.http().patch(`/api/projects/${projectId}`).set(bearer(pm)).send(settings('none')).expect(200);
    await upload(projectId, 'held-later-task', 2, 'YES');
    const [series] = await checkedSeries(projectId, 1);
    await sys.app.get(TaskSplitter).split(series.studyId);
    const [task] = await tasks(projectId);
    expect(task).toMatchObject({ privacyHeld: false });
    const lease = (await sys.http().post(`/api/projects/${projectId}/tasks/next`).set(bearer(ann)).expect(200)).body;
    expect(lease.taskId).toBe(task.id);

    // The project starts holding declared burned-in text: its studies are split again (routing worker) and the task,
    // made before, is held with its lease withdrawn.
    await sys.http().patch(`/api/projects/${projectId}`).set(bearer(pm)).send(settings('declared')).expect(200);
    await eventually(async () => ((await tasks(projectId))[0].privacyHeld ? true : null), 30_000);
    expect((await tasks(projectId))[0].state).toBe('ready');
    const heartbeat = await sys.http().post(`/api/projects/${projectId}/reads/${lease.readId}/heartbeat`).set(bearer(ann)).expect(409);
    expect(heartbeat.body.message).toMatch(/held for a privacy review/);
    const mask = maskBody(discMask([16, 16, 2], 8, 8, 3));
    expect((await sys.http().post(`/api/projects/${projectId}/reads/${lease.readId}/submit`).set(bearer(ann)).send({ mask }).expect(409)).body.message).toMatch(/held for a privacy review/);
    await sys.http().post(`/api/projects/${projectId}/tasks/next`).set(bearer(ann)).expect(204);
    const assigned = (await sys.http().post(`/api/projects/${projectId}/tasks/assign`).set(bearer(pm)).send({ taskIds: [task.id], userId: ann.id }).expect(200)).body;
    expect(assigned.skipped).toEqual([{ taskId: task.id, reason: 'an image of the task waits for a privacy review' }]);
    const audit = await sys.db.dataSource.query(`SELECT action FROM audit_events WHERE project_id = $1 AND action IN ('task.privacy-held', 'read.withdrawn', 'task.privacy-released') ORDER BY id`, [projectId]);
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['read.withdrawn', 'task.privacy-held']);

    // Cleared: the task is offered again, and the work done before the hold is accepted (nobody else took the read).
    await sys.http().post(`/api/projects/${projectId}/privacy-review/series/${series.id}`).set(bearer(pm)).send({ decision: 'clear' }).expect(200);
    await eventually(async () => ((await tasks(projectId))[0].privacyHeld ? null : true), 30_000);
    await sys.http().post(`/api/projects/${projectId}/reads/${lease.readId}/submit`).set(bearer(ann)).send({ mask }).expect(200);
    expect((await tasks(projectId))[0].state).not.toBe('ready');
  });
});
