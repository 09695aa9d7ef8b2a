// Tasks that wait on a job which will never come, with real BullMQ queues: a consensus job that was never queued
// (the enqueue after the submission's commit failed) is queued again; one whose job failed for good fails the
// task with the reason; a task whose pre-label job failed for good goes to annotators without a draft. Before the
// recovery job these tasks stayed in "consensus" or "prelabelling" for ever.
import { ProjectRole, Role } from '@contour/db';
import { PrelabelService } from '@contour/prelabel';
import { JobQueue, prelabelJobId, QueueName } from '@contour/queue';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { ConsensusService } from '@contour/tasks';
import { ctPhantomSeries } from '@contour/dicom';
import { discMask, maskBody } from '../support/masks';
import { eventually, startSystem, TestSystem } from '../support/system';

type U = { id: string; token: string };

describe('recovery of tasks stuck waiting on a job', () => {
  let sys: TestSystem;
  let pm: U;
  let ann: U;
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });

  beforeAll(async () => {
    // One attempt per job, so a failing job fails for good at once; the consensus queue is served.
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing, QueueName.Consensus, QueueName.Prelabel], env: { JOB_ATTEMPTS: '1' } });
    pm = await sys.user('pm', [Role.Manager]);
    ann = await sys.user('ann', [Role.Annotator]);
  });
  afterAll(() => sys.close());

  async function projectWithTask(name: string, settings: Record<string, unknown>) {
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name, settings: { quality: { reads: 1, reviewRequired: false }, ...settings } }).expect(201)).body.id as string;
    await sys.http().put(`/api/projects/${project}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${project}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Lesion', color: '#ff0000' }], annotationTypes: [{ kind: 'segmentation-3d' }] }).expect(201);
    const up = sys.http().post(`/api/projects/${project}/uploads`).set(bearer(pm));
    ctPhantomSeries({ seed: name, slices: 2, rows: 16, columns: 16, pixelSpacing: 8, patient: { name: `Stuck^${name}`, id: `P-${name}` } }).files.forEach((f, i) => up.attach('files', f, `${i}.dcm`));
    await up.expect(202);
    return project;
  }
  const onlyTask = async (project: string) => (await sys.http().get(`/api/projects/${project}/tasks`).set(bearer(pm)).expect(200)).body[0] as { id: string; state: string; stateReason: string | null } | undefined;
  const backdate = (taskId: string) => sys.db.dataSource.query(`UPDATE tasks SET state_changed_at = now() - interval '10 minutes' WHERE id = $1`, [taskId]);
  const submitOne = async (project: string) => {
    const lease = await sys.http().post(`/api/projects/${project}/tasks/next`).set(bearer(ann)).expect(200);
    await sys.http().post(`/api/projects/${project}/reads/${lease.body.readId}/submit`).set(bearer(ann)).send({ mask: maskBody(discMask([16, 16, 2], 8, 8, 4)) }).expect(200);
    return lease.body.taskId as string;
  };

  it('a consensus job that failed for good fails the task with the reason; one never queued is queued again and moves the task on', async () => {
    const project = await projectWithTask('consensus', {});
    await eventually(async () => (await onlyTask(project))?.state === 'ready', 30_000);
    const consensus = sys.app.get(ConsensusService);
    const queue = sys.app.get(JobQueue).queue(QueueName.Consensus);
    await queue.pause();
    const taskId = await submitOne(project);
    expect((await onlyTask(project))!.state).toBe('consensus');
    // Lose the read's mask: consensus cannot decode it and its one attempt fails.
    const [{ blob_key }] = await sys.db.dataSource.query(`SELECT blob_key FROM label_versions WHERE task_id = $1 AND kind = 'read'`, [taskId]);
    const blobs = sys.app.get<BlobStore>(BLOB_STORE);
    const saved = await blobs.getBuffer(blob_key);
    await blobs.delete(blob_key);
    await queue.resume();
    const job = await eventually(async () => {
      const j = await queue.getJob(ConsensusService.jobId({ id: taskId, reworkRound: 0 }));
      return j && (await j.getState()) === 'failed' ? j : null;
    }, 30_000);
    expect((await onlyTask(project))!.state).toBe('consensus');
    // Not yet overdue: left alone.
    expect(await consensus.recoverStuck()).toEqual({ requeued: 0, failed: 0 });
    await backdate(taskId);
    expect(await consensus.recoverStuck()).toEqual({ requeued: 0, failed: 1 });
    const failed = (await onlyTask(project))!;
    expect(failed.state).toBe('failed');
    expect(failed.stateReason).toContain(`consensus failed: ${job.failedReason}`);

    // The mask restored, a manager retries the task: its read is merged again and the task moves on (it could only
    // be cancelled, its finished read with it). Only a manager, and only a failed task.
    await blobs.put(saved);
    const retry = () => sys.http().post(`/api/projects/${project}/tasks/${taskId}/decisions/retry`).set(bearer(pm)).send({ comment: 'mask restored from backup' });
    await sys.http().post(`/api/projects/${project}/tasks/${taskId}/decisions/retry`).set(bearer(ann)).send({}).expect(403);
    expect((await retry().expect(200)).body).toEqual({ taskState: 'consensus' });
    await eventually(async () => (await onlyTask(project))?.state === 'approved', 30_000);
    expect((await retry().expect(409)).body.message).toMatch(/The task is approved; only a failed task can be retried/);
    const history = (await sys.http().get(`/api/projects/${project}/tasks/${taskId}/history`).set(bearer(pm)).expect(200)).body;
    expect(history.transitions.map((t: { event: string }) => t.event)).toEqual(expect.arrayContaining(['fail', 'retry-consensus']));

    // A task whose consensus job was never queued (lost between the commit and the enqueue).
    const second = await projectWithTask('requeue', {});
    await eventually(async () => (await onlyTask(second))?.state === 'ready', 30_000);
    await queue.pause();
    const secondTask = await submitOne(second);
    await (await queue.getJob(ConsensusService.jobId({ id: secondTask, reworkRound: 0 })))!.remove();
    await backdate(secondTask);
    expect(await consensus.recoverStuck()).toEqual({ requeued: 1, failed: 0 });
    await queue.resume();
    await eventually(async () => (await onlyTask(second))?.state === 'approved', 30_000);
  });

  it('a task that failed before its reads were in starts again when a manager retries it', async () => {
    const project = await projectWithTask('retry-early', {});
    const task = await eventually(async () => {
      const t = await onlyTask(project);
      return t?.state === 'ready' ? t : null;
    }, 30_000);
    // Failed on its way to annotators (the table allows it from created and pre-labelling; here set directly).
    await sys.db.dataSource.query(`UPDATE tasks SET state = 'failed', state_reason = 'pre-label storage unavailable' WHERE id = $1`, [task.id]);
    expect((await sys.http().post(`/api/projects/${project}/tasks/${task.id}/decisions/retry`).set(bearer(pm)).send({}).expect(200)).body).toEqual({ taskState: 'ready' });
    expect(await submitOne(project)).toBe(task.id);
  });

  it('a pre-label job that failed for good sends the task to annotators without a draft, with the reason', async () => {
    const prelabel = sys.app.get(PrelabelService);
    const queue = sys.app.get(JobQueue).queue(QueueName.Prelabel);
    await queue.pause();
    const models = (await sys.http().get('/api/models').set(bearer(pm)).expect(200)).body as { id: string; name: string }[];
    const project = await projectWithTask('prelabel', { prelabelModels: [models.find((m) => m.name === 'ct-starter-rules')!.id] });
    const task = await eventually(async () => {
      const t = await onlyTask(project);
      return t?.state === 'prelabelling' ? t : null;
    }, 30_000);
    // A project setting that names a model by something that is not an id: the job's model lookup fails.
    await sys.db.dataSource.query(`UPDATE projects SET settings = jsonb_set(settings, '{prelabelModels}', '["ct-starter-rules"]') WHERE id = $1`, [project]);
    await queue.resume();
    const failed = (models: string[]) => eventually(async () => (await (await queue.getJob(prelabelJobId(task.id, models)))?.getState()) === 'failed', 30_000);
    await failed([models.find((m) => m.name === 'ct-starter-rules')!.id]);
    expect((await onlyTask(project))!.state).toBe('prelabelling');
    // Jobs are named by the task and the project's models: for the models the project names now there is no job
    // yet, so one is queued (it fails the same way), and the next round gives up on the task.
    await backdate(task.id);
    expect(await prelabel.recoverStuck()).toEqual({ requeued: 1, released: 0 });
    await failed(['ct-starter-rules']);
    await backdate(task.id);
    expect(await prelabel.recoverStuck()).toEqual({ requeued: 0, released: 1 });
    const ready = (await onlyTask(project))!;
    expect(ready.state).toBe('ready');
    expect(ready.stateReason).toMatch(/^pre-labelling did not finish: /);
  });
});
