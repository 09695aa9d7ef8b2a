// A colour ultrasound cine (the real 30-frame RGB file of the shared data, 320x240, JPEG) through the real ingest
// and routing workers on real PostgreSQL and Redis, under each split policy: held for a privacy look, cleared by a
// manager, split, and every task's image fetched over HTTP as the viewer fetches it (the volume its `imageSource`
// names, as .nii.gz and as .nii), by the manager and by the annotator leased it. The series volume answered 500
// ("The data holds 6912000 values but dims [320, 240, 30] need 2304000"): the annotator was handed a task whose image
// never loaded.
import { ProjectRole, Role } from '@contour/db';
import { QueueName } from '@contour/queue';
import { readNifti } from '@contour/volume';
import { dataPath } from '../support/env';
import { binary, eventually, startSystem, TestSystem } from '../support/system';

type U = { id: string; token: string };
type TaskDetail = { id: string; kind: string; imageSource: 'series' | 'instance'; instanceId: string | null; frameStart: number | null; frameEnd: number | null; grid: { dims: number[]; z0: number } | null; series: { id: string }[] };

describe('a colour ultrasound cine', () => {
  let sys: TestSystem;
  let pm: U, ann: U;
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing] });
    pm = await sys.user('pm', [Role.Manager]);
    ann = await sys.user('ann', [Role.Annotator]);
  });
  afterAll(() => sys.close());

  /** The volume the viewer loads for `task` (apps/web task-images.ts), read back; fails on any status but 200. */
  async function imageOf(projectId: string, task: TaskDetail, u: U, format: '' | '?format=nii') {
    const path = task.imageSource === 'instance' ? `instances/${task.instanceId}` : `series/${task.series[0].id}`;
    const res = await sys.http().get(`/api/projects/${projectId}/${path}/volume${format}`).set(bearer(u)).buffer(true).parse(binary);
    if (res.status !== 200) throw new Error(`${path}/volume${format} as ${u === pm ? 'manager' : 'annotator'}: ${res.status} ${res.body.toString()}`);
    return readNifti(res.body as Buffer);
  }

  /** The task's image is its frames in the cine's picture, and the task's mask grid fits it as the viewer checks. */
  function expectLoadsFor(task: TaskDetail, image: ReturnType<typeof readNifti>) {
    const dims = image.dims.slice(0, 3);
    expect(dims).toEqual([320, 240, 30]);
    expect(image.data.length).toBe(320 * 240 * 30);
    expect(Array.from(image.data as ArrayLike<number>).some((v) => v > 0)).toBe(true);
    expect(task.grid).not.toBeNull();
    const { dims: g, z0 } = task.grid!;
    expect([g[0], g[1]]).toEqual([dims[0], dims[1]]);
    expect(z0 + g[2]).toBeLessThanOrEqual(dims[2]);
  }

  it.each([
    ['series', 'series', [[null, null]]],
    ['frames', 'frames', [[0, 11], [12, 23], [24, 29]]],
    ['image', 'image', [[null, null]]],
  ] as const)('split per %s: %s tasks, each of whose images loads for the manager and for the annotator', async (policy, kind, ranges) => {
    // The default privacy hold: an ultrasound image waits for a manager's look at its burned-in text.
    const projectId = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: `colour cine ${policy}`, settings: { quality: { reads: 1 }, split: { policy, framesPerTask: 12 } } }).expect(201)).body.id as string;
    await sys.http().put(`/api/projects/${projectId}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${projectId}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Lesion', color: '#ff0000' }], annotationTypes: [{ kind: 'segmentation-3d' }] }).expect(201);
    await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm)).attach('files', dataPath('dicom/modalities/us-color-30frames-jpeg.dcm')).expect(202);
    const held = await eventually(async () => {
      const r = (await sys.http().get(`/api/projects/${projectId}/privacy-review`).set(bearer(pm)).expect(200)).body as { total: number; items: { id: string; seriesId: string }[] };
      return r.total === 1 ? r.items[0] : null;
    }, 30_000);
    const [series] = await eventually(async () => {
      const list = (await sys.http().get(`/api/projects/${projectId}/series`).set(bearer(pm)).expect(200)).body as { id: string; qcStatus: string }[];
      return list.length === 1 && list[0].qcStatus === 'ok' ? list : null;
    }, 30_000);
    const [{ kind: seriesKind }] = await sys.db.dataSource.query(`SELECT geometry ->> 'kind' AS kind FROM series WHERE id = $1`, [series.id]);
    expect(seriesKind).toBe('multi-frame-2d');
    await sys.http().post(`/api/projects/${projectId}/privacy-review/${held.id}`).set(bearer(pm)).send({ decision: 'clear', comment: 'no text on it' }).expect(200);
    // Cleared: the routing worker splits the study again and the tasks are made.
    const listed = await eventually(async () => {
      const t = (await sys.http().get(`/api/projects/${projectId}/tasks`).set(bearer(pm)).expect(200)).body as { id: string; state: string }[];
      return t.length === ranges.length && t.every((x) => x.state === 'ready') ? t : null;
    }, 30_000);
    const tasks: TaskDetail[] = [];
    for (const { id } of listed) tasks.push((await sys.http().get(`/api/projects/${projectId}/tasks/${id}`).set(bearer(pm)).expect(200)).body);
    tasks.sort((a, b) => (a.frameStart ?? 0) - (b.frameStart ?? 0));
    expect(tasks.map((t) => [t.kind, t.frameStart, t.frameEnd])).toEqual(ranges.map(([s, e]) => [kind, s, e]));
    for (const task of tasks) {
      expect(task.series.map((s) => s.id)).toEqual([series.id]);
      for (const format of ['', '?format=nii'] as const) expectLoadsFor(task, await imageOf(projectId, task, pm, format));
    }
    // The annotator's next task loads for the annotator.
    const lease = (await sys.http().post(`/api/projects/${projectId}/tasks/next`).set(bearer(ann)).expect(200)).body as { task: TaskDetail };
    expect(lease.task.kind).toBe(kind);
    expectLoadsFor(lease.task, await imageOf(projectId, lease.task, ann, '?format=nii'));
  });
});
