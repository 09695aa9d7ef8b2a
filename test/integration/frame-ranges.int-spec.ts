// Frame-range tasks of a series of ultrasound cines of different lengths, through the real ingest and routing
// workers on real PostgreSQL and Redis: the real 8-frame cine of the shared data and a 4-frame copy of it made here
// (its first four frames, a new SOP Instance UID; nothing written into the repository). Each cine is cut by its own
// length: the 4-frame one was cut by the 8-frame one's (ranges past its end, which its viewer could not open). A split
// made since adds no second task over frames that already have one cut the old way.
import { readFileSync } from 'node:fs';
import * as dcmjs from 'dcmjs';
import { Role } from '@contour/db';
import { readDicom, syntheticUid } from '@contour/dicom';
import { QueueName } from '@contour/queue';
import { TaskSplitter } from '@contour/tasks';
import { dataPath } from '../support/env';
import { eventually, startSystem, TestSystem } from '../support/system';

type U = { id: string; token: string };

/** The first `frames` frames of the 8-frame RGB cine (uncompressed) as a new instance of the same series. */
function shorterCine(source: Buffer, frames: number): Buffer {
  const { dict, dataset } = readDicom(source);
  const frameBytes = Number(dataset.Rows) * Number(dataset.Columns) * Number(dataset.SamplesPerPixel) * (Number(dataset.BitsAllocated) / 8);
  const pixels = dict.dict['7FE00010'].Value![0] as ArrayBuffer;
  const uid = syntheticUid('frame-ranges-short-cine');
  dict.dict['7FE00010'] = { vr: 'OB', Value: [pixels.slice(0, frames * frameBytes)] } as never;
  dict.dict['00280008'] = { vr: 'IS', Value: [frames] } as never;
  dict.dict['00080018'] = { vr: 'UI', Value: [uid] } as never;
  dict.meta['00020003'] = { vr: 'UI', Value: [uid] } as never;
  dict.dict['00200013'] = { vr: 'IS', Value: [2] } as never;
  return Buffer.from((dict as dcmjs.data.DicomDict).write());
}

describe('frame ranges of cines of different lengths', () => {
  let sys: TestSystem;
  let pm: U;
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });
  const cine8 = readFileSync(dataPath('dicom/modalities/us-multiframe-8.dcm'));

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing] });
    pm = await sys.user('pm', [Role.Manager]);
  });
  afterAll(() => sys.close());

  type Row = { id: string; splitKey: string; instanceId: string; frameStart: number; frameEnd: number; studyId: string };
  const frameTasks = async (projectId: string): Promise<Row[]> =>
    sys.db.dataSource.query(
      `SELECT id, split_key AS "splitKey", instance_id AS "instanceId", frame_start AS "frameStart", frame_end AS "frameEnd", study_id AS "studyId" FROM tasks WHERE project_id = $1 AND kind = 'frames' AND state <> 'cancelled' ORDER BY instance_id, frame_start`,
      [projectId],
    );

  it('each cine is cut by its own length, and a later split adds nothing over frames cut the old way', async () => {
    const projectId = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'cines', settings: { quality: { reads: 1 }, split: { policy: 'frames', framesPerTask: 6 }, deid: { burnedInHold: 'none' } } }).expect(201)).body.id as string;
    await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm)).attach('files', cine8, 'cine8.dcm').attach('files', shorterCine(cine8, 4), 'cine4.dcm').expect(202);
    const tasks = await eventually(async () => {
      const t = await frameTasks(projectId);
      return t.length >= 3 ? t : null;
    }, 30_000);
    const instances: { id: string; numberOfFrames: number }[] = (await sys.http().get(`/api/projects/${projectId}/instances`).set(bearer(pm)).expect(200)).body.items;
    const long = instances.find((i) => i.numberOfFrames === 8)!.id;
    const short = instances.find((i) => i.numberOfFrames === 4)!.id;
    // The short cine had 0-5 and 6-7 before (cut by the long one's 8 frames): two ranges past its end.
    expect(tasks.map((t) => [t.instanceId, t.frameStart, t.frameEnd])).toEqual(
      [
        [long, 0, 5],
        [long, 6, 7],
        [short, 0, 3],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0])) || Number(a[1]) - Number(b[1])),
    );

    // A project split the old way: the short cine's tasks are 0-5 and 6-7. Split again: nothing is added over them.
    const old = tasks.find((t) => t.instanceId === short)!;
    await sys.db.dataSource.query(`UPDATE tasks SET frame_end = 5, split_key = $2 WHERE id = $1`, [old.id, `frames:${short}:0-5`]);
    await sys.db.dataSource.query(
      `INSERT INTO tasks (project_id, study_id, series_ids, instance_id, frame_start, frame_end, kind, split_key, modality, state, required_skills, reads_required, protocol_version)
       SELECT project_id, study_id, series_ids, instance_id, 6, 7, kind, $2, modality, state, required_skills, reads_required, protocol_version FROM tasks WHERE id = $1`,
      [old.id, `frames:${short}:6-7`],
    );
    await sys.app.get(TaskSplitter).split(old.studyId);
    expect((await frameTasks(projectId)).filter((t) => t.instanceId === short).map((t) => t.splitKey)).toEqual([`frames:${short}:0-5`, `frames:${short}:6-7`]);
  });
});
