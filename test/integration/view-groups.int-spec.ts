// Multi-plane view groups through the real ingest, geometry and routing workers on real PostgreSQL and Redis: the
// real MR series (axial) and a coronal copy of it made here (orientation, positions and UIDs rewritten; nothing
// written into the repository) are one study imaged in two planes. Their series are linked as a view group, the
// 'view-group' split gives them one task (also when one series is checked seconds after the other), a study with
// axial series only keeps one task per series, and a coronal series arriving after the axial one was checked
// links the axial one too.
import { readdirSync, readFileSync } from 'node:fs';
import { Role } from '@contour/db';
import { readDicom, syntheticUid, writePreservingPixelData } from '@contour/dicom';
import { JobName, JobQueue, QueueName } from '@contour/queue';
import { TaskSplitter } from '@contour/tasks';
import { dataPath } from '../support/env';
import { eventually, startSystem, TestSystem } from '../support/system';

type U = { id: string; token: string };
type File = { name: string; data: Buffer };

const MR_DIR = dataPath('dicom/series/mr-t1-vs-seg-001');
const IMPLICIT_LE = '1.2.840.10008.1.2';
const CORONAL_SERIES_NUMBER = 901;

/** The real axial MR series, as received. */
const axialSeries = (): File[] => readdirSync(MR_DIR).sort().map((name) => ({ name, data: readFileSync(`${MR_DIR}/${name}`) }));

/**
 * The same slices re-labelled as a coronal series of the same study (same patient, study and frame of reference):
 * rows along the patient's left, columns towards the feet, slices stepping 1.5 mm towards posterior. New series
 * and instance UIDs; the pixels are kept byte for byte.
 */
function coronalCopy(): File[] {
  const seriesUid = syntheticUid('view-groups-coronal-series');
  const files = axialSeries();
  const [x, y, z] = (readDicom(files[0].data).dataset.ImagePositionPatient as (number | string)[]).map(Number);
  return files.map(({ name, data }, k) => {
    const { dict } = readDicom(data);
    const sopUid = syntheticUid(`view-groups-coronal-${name}`);
    const set = (tag: string, vr: string, value: unknown[], target = dict.dict) => (target[tag] = { vr, Value: value } as never);
    set('0020000E', 'UI', [seriesUid]);
    set('00080018', 'UI', [sopUid]);
    set('00020003', 'UI', [sopUid], dict.meta);
    set('00200011', 'IS', [CORONAL_SERIES_NUMBER]);
    set('0008103E', 'LO', ['T1 coronal (test copy)']);
    set('00200037', 'DS', [1, 0, 0, 0, 0, -1]);
    set('00200032', 'DS', [x, y + 1.5 * k, z + 100]);
    delete dict.dict['00201041']; // Slice Location: an axial one would contradict the new plane
    return { name: `cor-${name}`, data: writePreservingPixelData(dict, data, IMPLICIT_LE) };
  });
}

describe('multi-plane view groups', () => {
  let sys: TestSystem;
  let pm: U;
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing] });
    pm = await sys.user('pm', [Role.Manager]);
  });
  afterAll(() => sys.close());

  const project = async (name: string, policy: 'view-group' | 'series') =>
    (await sys.http().post('/api/projects').set(bearer(pm)).send({ name, settings: { quality: { reads: 1 }, split: { policy } } }).expect(201)).body.id as string;
  const upload = async (projectId: string, files: File[]) => {
    const req = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    for (const f of files) req.attach('files', f.data, f.name);
    const { batchId } = (await req.expect(202)).body;
    const batch = await eventually(async () => {
      const b = (await sys.http().get(`/api/projects/${projectId}/uploads/${batchId}`).set(bearer(pm))).body;
      return b.done ? b : null;
    }, 120_000);
    expect(batch.counts).toMatchObject({ stored: files.length, quarantined: 0 });
  };
  type Listed = { id: string; seriesNumber: number; qcStatus: string; plane: string | null; viewGroup: string | null };
  /** The project's series once `count` of them have been checked (the geometry job ran). */
  const checked = (projectId: string, count: number, ready: (s: Listed[]) => boolean = () => true) =>
    eventually(async () => {
      const s = (await sys.http().get(`/api/projects/${projectId}/series`).set(bearer(pm)).expect(200)).body as Listed[];
      return s.length === count && s.every((x) => x.qcStatus !== 'pending') && ready(s) ? s.sort((a, b) => a.seriesNumber - b.seriesNumber) : null;
    }, 60_000);
  const tasksOf = async (projectId: string) =>
    ((await sys.db.dataSource.query(`SELECT kind, series_ids FROM tasks WHERE project_id = $1 ORDER BY created_at`, [projectId])) as { kind: string; series_ids: string[] }[]).map((t) => ({ kind: t.kind, seriesIds: [...t.series_ids].sort() }));

  it('an MR study in two planes is one view group, and the view-group split gives it one task', async () => {
    const projectId = await project('mr planes', 'view-group');
    await upload(projectId, [...axialSeries(), ...coronalCopy()]);
    const [axial, coronal] = await checked(projectId, 2);
    expect(axial).toMatchObject({ qcStatus: 'ok', plane: 'axial' });
    expect(coronal).toMatchObject({ qcStatus: 'ok', plane: 'coronal' });
    expect(axial.viewGroup).toEqual(expect.any(String));
    expect(coronal.viewGroup).toBe(axial.viewGroup);
    // The plane is kept with the geometry the task API hands the viewer.
    const [{ geometry }] = await sys.db.dataSource.query(`SELECT geometry FROM series WHERE id = $1`, [coronal.id]);
    expect(geometry).toMatchObject({ kind: 'volume', plane: 'coronal', dims: [512, 512, 24] });
    const tasks = await eventually(async () => {
      const t = await tasksOf(projectId);
      return t.length ? t : null;
    }, 30_000);
    expect(tasks).toEqual([{ kind: 'view-group', seriesIds: [axial.id, coronal.id].sort() }]);
    // Planes are not projection views: the task view names no view (and reads none of the 48 images for one).
    const [{ id: taskId }] = await sys.db.dataSource.query(`SELECT id FROM tasks WHERE project_id = $1`, [projectId]);
    const view = (await sys.http().get(`/api/projects/${projectId}/tasks/${taskId}`).set(bearer(pm)).expect(200)).body;
    expect(view.series.map((s: { view: string | null }) => s.view)).toEqual([null, null]);
  });

  it('the split waits for a series of the study still to be checked: a coronal series checked seconds after the axial one joins its task', async () => {
    // The coronal series' check is held back 5 s (as when its last instances are still arriving): a split run in
    // between (it ran 1.5 s after the axial check) gave the axial series a task of its own and the group a
    // second task.
    const projectId = await project('mr planes, coronal checked late', 'view-group');
    const jobs = sys.worker!.get(JobQueue);
    const add = jobs.add.bind(jobs);
    const spy = jest.spyOn(jobs, 'add').mockImplementation(async (name, data, opts) => {
      const seriesId = (data as { seriesId?: string }).seriesId;
      if (name === JobName.SeriesGeometry && seriesId) {
        const [{ series_number }] = await sys.db.dataSource.query(`SELECT series_number FROM series WHERE id = $1`, [seriesId]);
        if (series_number === CORONAL_SERIES_NUMBER) opts = { ...opts, delay: (opts?.delay ?? 0) + 5000, deduplication: { ...opts!.deduplication!, ttl: (opts?.delay ?? 0) + 5000 } };
      }
      return add(name, data, opts);
    });
    try {
      await upload(projectId, [...axialSeries(), ...coronalCopy()]);
      const [axial, coronal] = await checked(projectId, 2);
      expect(coronal.viewGroup).toBe(axial.viewGroup);
      // Both checks are done; the split runs 1.5 s after the last one.
      const tasks = await eventually(async () => {
        const t = await tasksOf(projectId);
        return t.some((x) => x.seriesIds.length === 2) ? t : null;
      }, 30_000);
      expect(tasks).toEqual([{ kind: 'view-group', seriesIds: [axial.id, coronal.id].sort() }]);
    } finally {
      spy.mockRestore();
    }
  });

  it('a study with axial series only gets no view group: one task per series', async () => {
    const projectId = await project('mr axial only', 'view-group');
    await upload(projectId, axialSeries());
    const [axial] = await checked(projectId, 1);
    expect(axial).toMatchObject({ plane: 'axial', viewGroup: null });
    expect(await eventually(async () => ((await tasksOf(projectId)).length ? tasksOf(projectId) : null), 30_000)).toEqual([{ kind: 'view-group', seriesIds: [axial.id] }]);
  });

  it('a coronal series arriving after the axial one was checked links the axial one too', async () => {
    const projectId = await project('mr planes, one after another', 'series');
    await upload(projectId, axialSeries());
    const [first] = await checked(projectId, 1);
    expect(first).toMatchObject({ plane: 'axial', viewGroup: null });
    await upload(projectId, coronalCopy());
    const [axial, coronal] = await checked(projectId, 2, (s) => s.every((x) => x.viewGroup));
    expect(axial.id).toBe(first.id);
    expect(coronal).toMatchObject({ plane: 'coronal', viewGroup: axial.viewGroup });
    // The per-series split is not affected by the group: one task per series.
    const tasks = await eventually(async () => {
      const t = await tasksOf(projectId);
      return t.length === 2 ? t : null;
    }, 30_000);
    expect(tasks.map((t) => t.seriesIds).sort()).toEqual([[axial.id], [coronal.id]].sort());
    const audit = (await sys.http().get(`/api/projects/${projectId}/audit?action=series.checked&objectId=${coronal.id}`).set(bearer(pm)).expect(200)).body as { details: Record<string, unknown> }[];
    expect(audit.at(-1)!.details).toMatchObject({ plane: 'coronal', viewGroup: axial.viewGroup, viewGroupChanged: [axial.id] });
  });

  describe('a series joining a view group after its study was split', () => {
    const taskRows = (projectId: string) =>
      sys.db.dataSource.query(`SELECT id, state, series_ids FROM tasks WHERE project_id = $1 ORDER BY created_at`, [projectId]) as Promise<{ id: string; state: string; series_ids: string[] }[]>;
    /** The axial series split alone, then the coronal one uploaded: resolves once the group's task exists. */
    async function groupedLate(name: string, beforeCoronal: (firstTaskId: string) => Promise<void> = async () => undefined) {
      const projectId = await project(name, 'view-group');
      await upload(projectId, axialSeries());
      const [axial] = await checked(projectId, 1);
      const [first] = await eventually(async () => ((await taskRows(projectId)).length === 1 ? taskRows(projectId) : null), 30_000);
      await beforeCoronal(first.id);
      await upload(projectId, coronalCopy());
      const [, coronal] = await checked(projectId, 2, (s) => s.every((x) => x.viewGroup));
      const rows = await eventually(async () => {
        const t = await taskRows(projectId);
        return t.length === 2 ? t : null;
      }, 30_000);
      expect(rows[0].id).toBe(first.id);
      expect([...rows[1].series_ids].sort()).toEqual([axial.id, coronal.id].sort());
      return { projectId, first: first.id, group: rows[1].id };
    }

    it('the earlier task nobody started is cancelled in favour of the group task (its series were annotated twice)', async () => {
      const { projectId, first, group } = await groupedLate('mr planes, grouped late');
      await eventually(async () => ((await taskRows(projectId))[0].state === 'cancelled' ? true : null), 30_000);
      expect((await taskRows(projectId))[1].state).not.toBe('cancelled');
      const [audit] = await sys.db.dataSource.query(`SELECT details FROM audit_events WHERE action = 'task.superseded' AND object_id = $1`, [first]);
      expect(audit.details).toEqual({ by: group });
      const reads = await sys.db.dataSource.query(`SELECT DISTINCT state FROM task_reads WHERE task_id = $1`, [first]);
      expect(reads).toEqual([{ state: 'closed' }]);
    });

    it('an earlier task someone has started is kept', async () => {
      const { projectId, first } = await groupedLate('mr planes, grouped late, started', async (taskId) => {
        await sys.db.dataSource.query(`UPDATE task_reads SET assigned_to = $2 WHERE task_id = $1`, [taskId, pm.id]);
      });
      // The study split once more here, to the end, so the check below does not race the worker's split.
      const [{ study_id }] = await sys.db.dataSource.query(`SELECT study_id FROM tasks WHERE id = $1`, [first]);
      await sys.app.get(TaskSplitter).split(study_id);
      expect((await taskRows(projectId)).find((t) => t.id === first)!.state).not.toBe('cancelled');
      expect(await sys.db.dataSource.query(`SELECT 1 FROM audit_events WHERE action = 'task.superseded' AND object_id = $1`, [first])).toEqual([]);
    });
  });
});
