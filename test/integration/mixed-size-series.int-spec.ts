// A 2D series whose images differ in size (a PA and a lateral radiograph in one series), through the real API,
// ingest, routing, consensus and export workers on real PostgreSQL and Redis. Its geometry check fails (the images
// cannot be stacked into one volume), and before, that kept the whole series out: no task under any policy. Now
// the image policy reads each image by itself, on its own grid: the task says so (imageSource 'instance'), the
// image's own volume is served, masks are checked against its size, and the COCO and DICOM SEG exports use it.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ProjectRole, Role } from '@contour/db';
import { largeImage } from '@contour/dicom';
import { QueueName } from '@contour/queue';
import { readNifti } from '@contour/volume';
import { runExport } from '../support/exports';
import { maskBody } from '../support/masks';
import { binary, eventually, startSystem, TestSystem } from '../support/system';

type U = { id: string; token: string };
const run = promisify(execFile);

/** Stored value of pixel (x, y) of each view: different patterns, so a swapped image would show. */
const VIEWS = {
  PA: { rows: 32, columns: 40, value: (x: number, y: number) => 100 + x + 50 * y },
  LL: { rows: 36, columns: 24, value: (x: number, y: number) => 3000 - 2 * x - 7 * y },
} as const;

describe('a 2D series of images of different sizes', () => {
  let sys: TestSystem;
  let pm: U, ann: U, outsider: U;
  let projectId: string;
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing, QueueName.Consensus, QueueName.Export] });
    pm = await sys.user('pm', [Role.Manager]);
    ann = await sys.user('ann', [Role.Annotator]);
    outsider = await sys.user('outsider', [Role.Annotator]);
    projectId = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'chest radiographs', settings: { quality: { reads: 1, reviewRequired: false }, split: { policy: 'image' } } }).expect(201)).body.id;
    await sys.http().put(`/api/projects/${projectId}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${projectId}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Opacity', color: '#ff0000' }], annotationTypes: [{ kind: 'segmentation-2d' }] }).expect(201);
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    for (const [i, [view, v]] of Object.entries(VIEWS).entries()) {
      up.attach('files', largeImage({ seed: `mixed-${view}`, studySeed: 'mixed', seriesSeed: 'mixed', modality: 'DX', view, instanceNumber: i + 1, rows: v.rows, columns: v.columns, pixelValue: v.value }), `${view}.dcm`);
    }
    await up.expect(202);
  });
  afterAll(() => sys.close());

  const tasks = async () => (await sys.http().get(`/api/projects/${projectId}/tasks`).set(bearer(pm)).expect(200)).body as { id: string; state: string; kind: string; instanceId: string }[];

  it('fails its geometry check, yet makes one task per image, each drawn on its own image and checked against its size', async () => {
    const [series] = await eventually(async () => {
      const list = (await sys.http().get(`/api/projects/${projectId}/series`).set(bearer(pm)).expect(200)).body as { id: string; qcStatus: string; qcIssues: { code: string }[] }[];
      return list.length === 1 && list[0].qcStatus !== 'pending' ? list : null;
    }, 30_000);
    expect(series.qcStatus).toBe('failed');
    expect(series.qcIssues.map((i) => i.code)).toContain('mixed-dimensions');
    const made = await eventually(async () => {
      const t = await tasks();
      return t.length === 2 && t.every((x) => x.state === 'ready') ? t : null;
    }, 30_000);
    expect(made.map((t) => t.kind)).toEqual(['image', 'image']);
    // The series cannot be one volume: asking for it says why instead of failing.
    const refused = await sys.http().get(`/api/projects/${projectId}/series/${series.id}/volume`).set(bearer(ann)).expect(409);
    expect(refused.body.message).toMatch(/different matrix sizes/);

    const instances = (await sys.http().get(`/api/projects/${projectId}/instances`).set(bearer(pm)).expect(200)).body.items as { id: string; rows: number; columns: number }[];
    const seen = new Set<string>();
    for (let k = 0; k < 2; k++) {
      const lease = (await sys.http().post(`/api/projects/${projectId}/tasks/next`).set(bearer(ann)).expect(200)).body;
      const instance = instances.find((i) => i.id === lease.task.instanceId)!;
      const view = instance.columns === VIEWS.PA.columns ? VIEWS.PA : VIEWS.LL;
      seen.add(instance.id);
      expect(lease.task.imageSource).toBe('instance');
      expect(lease.task.grid).toMatchObject({ dims: [view.columns, view.rows, 1], z0: 0 });
      // The image's own volume: its size, its pixels (x fastest, then y), audited.
      const nifti = readNifti((await sys.http().get(`/api/projects/${projectId}/instances/${instance.id}/volume`).set(bearer(ann)).buffer(true).parse(binary).expect(200)).body);
      expect(nifti.dims.slice(0, 3)).toEqual([view.columns, view.rows, 1]);
      const expected = Array.from({ length: view.rows * view.columns }, (_, i) => view.value(i % view.columns, Math.floor(i / view.columns)));
      expect(Array.from(nifti.data as ArrayLike<number>)).toEqual(expected);
      // A mask the size of the other image is refused, naming both sizes; its own size is taken.
      const other = view === VIEWS.PA ? VIEWS.LL : VIEWS.PA;
      const wrong = await sys.http().post(`/api/projects/${projectId}/reads/${lease.readId}/submit`).set(bearer(ann)).send({ mask: maskBody(new Uint8Array(other.columns * other.rows)) }).expect(400);
      expect(wrong.body.message).toMatch(/does not fit this task/);
      const mask = new Uint8Array(view.columns * view.rows);
      for (let y = 4; y < 12; y++) for (let x = 4; x < 10; x++) mask[x + view.columns * y] = 1;
      await sys.http().post(`/api/projects/${projectId}/reads/${lease.readId}/submit`).set(bearer(ann)).send({ mask: maskBody(mask) }).expect(200);
    }
    expect(seen.size).toBe(2);
    const audit = await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE project_id = $1 AND action = 'instance.volume.read' AND actor_id = $2`, [projectId, ann.id]);
    expect(audit[0].n).toBe(2);
  });

  it('serves an image volume to project members only, and only of images of the project', async () => {
    const [instance] = (await sys.http().get(`/api/projects/${projectId}/instances`).set(bearer(pm)).expect(200)).body.items as { id: string }[];
    await sys.http().get(`/api/projects/${projectId}/instances/${instance.id}/volume`).set(bearer(outsider)).expect(403);
    const other = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'another' }).expect(201)).body.id;
    expect((await sys.http().get(`/api/projects/${other}/instances/${instance.id}/volume`).set(bearer(pm)).expect(404)).body.message).toMatch(/No instance/);
    await sys.http().get(`/api/projects/${projectId}/instances/not-a-uuid/volume`).set(bearer(pm)).expect(400);
  });

  it('exports each image at its own size (COCO) and a valid DICOM SEG on each', async () => {
    await eventually(async () => ((await tasks()).every((t) => t.state === 'approved') ? true : null), 30_000);
    const { files } = await runExport(sys, projectId, pm.token, { options: { formats: ['coco', 'dicom-seg'] } });
    const coco = JSON.parse(Buffer.from(files['coco/annotations.json']).toString());
    expect(coco.images.map((i: { width: number; height: number }) => `${i.width}x${i.height}`).sort()).toEqual(['24x36', '40x32']);
    expect(coco.annotations.map((a: { area: number }) => a.area)).toEqual([48, 48]);
    const segs = Object.keys(files).filter((f) => f.startsWith('dicom-seg/'));
    expect(segs).toHaveLength(2);
    const dir = mkdtempSync(join(tmpdir(), 'mixed-seg-'));
    for (const f of segs) {
      const path = join(dir, f.replace(/\//g, '_'));
      writeFileSync(path, files[f]);
      const { stdout, stderr } = await run('/usr/bin/dciodvfy', [path]).catch((e: { stdout: string; stderr: string }) => e);
      expect(`${stdout}${stderr}`.split('\n').filter((l) => /^Error/.test(l))).toEqual([]);
    }
  });
});
