// Work that comes back to the pool, through the real API, PostgreSQL, Redis and the consensus worker: a lapsed
// lease is offered back to its holder (not a second read of the same task), a released read is not offered again to
// the person who gave it back, rework for someone who can no longer annotate goes to the pool, losing a role gives up
// that role's reads, and a reader who sent no mask counts as an empty mask in consensus. Each failed before its fix.
import { ProjectRole, Role } from '@contour/db';
import { QueueName } from '@contour/queue';
import { RoutingService, TaskSplitter } from '@contour/tasks';
import { systemActor } from '@contour/audit';
import { discMask, maskBody } from '../support/masks';
import { eventually, startSystem, TestSystem, uploadPhantomTask } from '../support/system';

type U = { id: string; token: string };
const DIMS: [number, number, number] = [16, 16, 2];

describe('reads coming back to the pool', () => {
  let sys: TestSystem;
  let pm: U, a: U, b: U, c: U, rev: U;
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing, QueueName.Consensus] });
    pm = await sys.user('pm', [Role.Manager]);
    a = await sys.user('ann-a', [Role.Annotator]);
    b = await sys.user('ann-b', [Role.Annotator]);
    c = await sys.user('ann-c', [Role.Annotator]);
    rev = await sys.user('rev', [Role.Reviewer]);
  });
  afterAll(() => sys.close());

  /** A project of `reads` reads per task, with the three annotators and the reviewer, and one ready task. */
  async function projectWithTask(name: string, quality: Record<string, unknown>, annotationTypes: unknown[] = [{ kind: 'segmentation-3d' }]) {
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name, settings: { quality } }).expect(201)).body.id as string;
    for (const u of [a, b, c]) await sys.http().put(`/api/projects/${project}/members/${u.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().put(`/api/projects/${project}/members/${rev.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
    await sys.http().post(`/api/projects/${project}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Lesion', color: '#ff0000' }], annotationTypes }).expect(201);
    const task = await uploadPhantomTask(sys, pm.token, project, name, DIMS);
    return { project, task };
  }
  const next = (project: string, u: U) => sys.http().post(`/api/projects/${project}/tasks/next`).set(bearer(u));
  const submit = (project: string, u: U, readId: string, body: Record<string, unknown>) => sys.http().post(`/api/projects/${project}/reads/${readId}/submit`).set(bearer(u)).send(body);
  const state = async (project: string, task: string) => (await sys.http().get(`/api/projects/${project}/tasks/${task}`).set(bearer(pm)).expect(200)).body.state as string;
  const expire = async (...readIds: string[]) => {
    await sys.db.dataSource.query(`UPDATE task_reads SET lease_expires_at = now() - interval '1 second' WHERE id = ANY($1)`, [readIds]);
    await sys.app.get(RoutingService).expireLeases();
  };

  it('"next task" answers the task as its claim left it, the same view that reading the task gives the same person', async () => {
    // The claim reads the task view in its own statement, whose snapshot is from before the claim: the lease and the
    // move to in_annotation are applied to it (a view from before would say "ready", with the read open and not theirs).
    const { project, task } = await projectWithTask('view-with-lease', { reads: 2 });
    const view = async (u: U) => (await sys.http().get(`/api/projects/${project}/tasks/${task}`).set(bearer(u)).expect(200)).body;
    const first = (await next(project, a).expect(200)).body;
    expect(first.task.state).toBe('in_annotation');
    expect(first.task.reads).toEqual([expect.objectContaining({ id: first.readId, state: 'leased', mine: true, leaseExpiresAt: first.leaseExpiresAt })]);
    expect(first.task).toEqual(await view(a));
    const second = (await next(project, b).expect(200)).body;
    expect(second.task.reads).toEqual([expect.objectContaining({ id: second.readId, state: 'leased', mine: true })]);
    expect(second.task).toEqual(await view(b));
  });

  it('a lapsed lease is offered back to its holder, never a second read of the same task (the late submission was a 500)', async () => {
    const { project, task } = await projectWithTask('lapsed', { reads: 2 });
    const first = (await next(project, b).expect(200)).body;
    const second = (await next(project, a).expect(200)).body;
    expect([first.taskId, second.taskId]).toEqual([task, task]);
    await expire(first.readId, second.readId);
    // A asks again: their own lapsed read comes back (the first open slot, B's, came before).
    const again = (await next(project, a).expect(200)).body;
    expect(again.readId).toBe(second.readId);
    await submit(project, a, second.readId, { mask: maskBody(discMask(DIMS, 8, 8, 3)) }).expect(200);
    const [{ n }] = await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM task_reads WHERE task_id = $1 AND (annotator_id = $2 OR previous_annotator_id = $2)`, [task, a.id]);
    expect(n).toBe(1);
    // B's own lapsed read comes back to B first.
    expect((await next(project, b).expect(200)).body.readId).toBe(first.readId);
  });

  it('a released read goes to others and is not offered again to whoever gave it back, even if it was assigned to them; a manager can assign it again', async () => {
    const { project, task } = await projectWithTask('released', { reads: 1 });
    await sys.http().post(`/api/projects/${project}/tasks/assign`).set(bearer(pm)).send({ userId: a.id, taskIds: [task] }).expect(200);
    const lease = (await next(project, a).expect(200)).body;
    expect(lease.taskId).toBe(task);
    await sys.http().post(`/api/projects/${project}/reads/${lease.readId}/release`).set(bearer(a)).expect(204);
    // Before: the reservation stayed and the same read came straight back on A's next request.
    await next(project, a).expect(204);
    const [read] = await sys.db.dataSource.query(`SELECT assigned_to, declined_by FROM task_reads WHERE id = $1`, [lease.readId]);
    expect(read).toEqual({ assigned_to: null, declined_by: [a.id] });
    const [audit] = await sys.db.dataSource.query(`SELECT details FROM audit_events WHERE action = 'read.released' AND object_id = $1`, [lease.readId]);
    expect(audit.details).toMatchObject({ taskId: task, reservationGivenUp: true });
    // Someone else takes it and gives it back too; a manager then assigns it to A again, who gets it.
    const other = (await next(project, b).expect(200)).body;
    expect(other.readId).toBe(lease.readId);
    await sys.http().post(`/api/projects/${project}/reads/${other.readId}/release`).set(bearer(b)).expect(204);
    await sys.http().post(`/api/projects/${project}/tasks/assign`).set(bearer(pm)).send({ userId: a.id, taskIds: [task] }).expect(200);
    expect((await next(project, a).expect(200)).body.readId).toBe(lease.readId);
    await next(project, b).expect(204);
  });

  it('rework for an annotator who left the project goes to the pool (it was reserved for them for good); losing the annotator role gives up held reads', async () => {
    const { project, task } = await projectWithTask('departed', { reads: 1, reviewRequired: true, maxReworkRounds: 2 });
    const lease = (await next(project, a).expect(200)).body;
    await submit(project, a, lease.readId, { mask: maskBody(discMask(DIMS, 8, 8, 3)) }).expect(200);
    await eventually(async () => ((await state(project, task)) === 'review' ? true : null), 30_000);
    await sys.http().delete(`/api/projects/${project}/members/${a.id}`).set(bearer(pm)).expect(204);
    const review = (await sys.http().post(`/api/projects/${project}/reviews/next`).set(bearer(rev)).expect(200)).body;
    await sys.http().post(`/api/projects/${project}/reads/${review.readId}/review`).set(bearer(rev)).send({ decision: 'reject', comment: 'the lesion is larger' }).expect(200);
    expect(await state(project, task)).toBe('rework');
    const rework = (await next(project, b).expect(200)).body;
    expect(rework).toMatchObject({ taskId: task, readId: lease.readId, reworkComment: 'the lesion is larger' });
    const [pooled] = await sys.db.dataSource.query(`SELECT details FROM audit_events WHERE action = 'read.released' AND object_id = $1 ORDER BY id DESC LIMIT 1`, [lease.readId]);
    expect(pooled.details).toMatchObject({ member: a.id, reason: 'rework for a person who can no longer annotate in the project' });
    // B becomes a reviewer only: the lease B holds goes back to the pool, where C gets it.
    await sys.http().put(`/api/projects/${project}/members/${b.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
    const [read] = await sys.db.dataSource.query(`SELECT state, annotator_id FROM task_reads WHERE id = $1`, [lease.readId]);
    expect(read).toEqual({ state: 'open', annotator_id: null });
    expect((await next(project, c).expect(200)).body.readId).toBe(lease.readId);
  });

  it('a live lease on a task that went back to "ready" under it (a release raced its claim) still heartbeats and submits (refused before)', async () => {
    const { project, task } = await projectWithTask('raced', { reads: 1 });
    const lease = (await next(project, a).expect(200)).body;
    // What the race leaves: the lease committed after another read's release saw no busy read and moved the task back.
    await sys.db.dataSource.query(`UPDATE tasks SET state = 'ready' WHERE id = $1`, [task]);
    await sys.http().post(`/api/projects/${project}/reads/${lease.readId}/heartbeat`).set(bearer(a)).expect(200);
    expect(await state(project, task)).toBe('in_annotation');
    await sys.db.dataSource.query(`UPDATE tasks SET state = 'ready' WHERE id = $1`, [task]);
    await submit(project, a, lease.readId, { mask: maskBody(discMask(DIMS, 8, 8, 3)) }).expect(200);
  });

  it('a reviewer whose lease lapsed and went to another reviewer is told so (409, it was a bare 403); an adjudication without a label is a 400', async () => {
    const rev2 = await sys.user('rev-2', [Role.Reviewer]);
    const { project, task } = await projectWithTask('review-lapse', { reads: 1, reviewRequired: true });
    await sys.http().put(`/api/projects/${project}/members/${rev2.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
    const lease = (await next(project, a).expect(200)).body;
    await submit(project, a, lease.readId, { mask: maskBody(discMask(DIMS, 8, 8, 3)) }).expect(200);
    await eventually(async () => ((await state(project, task)) === 'review' ? true : null), 30_000);
    const mine = (await sys.http().post(`/api/projects/${project}/reviews/next`).set(bearer(rev)).expect(200)).body;
    await expire(mine.readId);
    expect((await sys.http().post(`/api/projects/${project}/reviews/next`).set(bearer(rev2)).expect(200)).body.readId).toBe(mine.readId);
    const late = await sys.http().post(`/api/projects/${project}/reads/${mine.readId}/review`).set(bearer(rev)).send({ decision: 'approve' }).expect(409);
    expect(late.body.message).toMatch(/Your lease on this review expired and the review was given to someone else/);
    const empty = await sys.http().post(`/api/projects/${project}/reads/${mine.readId}/adjudicate`).set(bearer(rev2)).send({ comment: 'looks fine' }).expect(400);
    expect(JSON.stringify(empty.body)).toMatch(/An adjudication needs the final label/);
  });

  it('an annotator whose lease a manager gave to someone else is told so (409, it was a bare 403)', async () => {
    const { project, task } = await projectWithTask('taken-over', { reads: 1 });
    const lease = (await next(project, a).expect(200)).body;
    expect((await sys.http().post(`/api/projects/${project}/tasks/assign`).set(bearer(pm)).send({ userId: c.id, taskIds: [task] }).expect(200)).body.assigned).toEqual([task]);
    for (const late of [sys.http().post(`/api/projects/${project}/reads/${lease.readId}/heartbeat`).set(bearer(a)), submit(project, a, lease.readId, { mask: maskBody(discMask(DIMS, 8, 8, 3)) })]) {
      expect((await late.expect(409)).body.message).toMatch(/A manager gave this read to someone else/);
    }
    // Also once the new annotator holds it; someone who never held it gets a 403 (it said their lease had expired).
    expect((await next(project, c).expect(200)).body.readId).toBe(lease.readId);
    expect((await submit(project, a, lease.readId, { mask: maskBody(discMask(DIMS, 8, 8, 3)) }).expect(409)).body.message).toMatch(/A manager gave this read to someone else/);
    expect((await submit(project, b, lease.readId, { mask: maskBody(discMask(DIMS, 8, 8, 3)) }).expect(403)).body.message).toBe('This read is not leased to you');
  });

  it('assignments of one task to one person sent at once reserve one read for them (each reserved one: the task could never finish); a disabled account is refused', async () => {
    const { project, task } = await projectWithTask('assign-at-once', { reads: 2 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => sys.http().post(`/api/projects/${project}/tasks/assign`).set(bearer(pm)).send({ userId: a.id, taskIds: [task] }).expect(200)));
    expect(answers.filter((r) => r.body.assigned.length === 1)).toHaveLength(1);
    expect(answers.flatMap((r) => r.body.skipped.map((x: { reason: string }) => x.reason))).toEqual(Array(4).fill('a read of the task is already reserved for this person'));
    const reads = await sys.db.dataSource.query(`SELECT assigned_to FROM task_reads WHERE task_id = $1 AND kind = 'annotation' ORDER BY slot`, [task]);
    expect(reads.filter((r: { assigned_to: string | null }) => r.assigned_to === a.id)).toHaveLength(1);
    // The other read is still offered to someone else.
    expect((await next(project, b).expect(200)).body.taskId).toBe(task);
    await sys.db.dataSource.query(`UPDATE users SET active = false WHERE id = $1`, [c.id]);
    try {
      const refused = await sys.http().post(`/api/projects/${project}/tasks/assign`).set(bearer(pm)).send({ userId: c.id, taskIds: [task] }).expect(409);
      expect(refused.body.message).toMatch(/account is disabled/);
    } finally {
      await sys.db.dataSource.query(`UPDATE users SET active = true WHERE id = $1`, [c.id]);
    }
  });

  it("a read given back is shown to its next holder without the earlier holder's draft (its id was in the task view)", async () => {
    const { project } = await projectWithTask('draft-of-another', { reads: 1 });
    const lease = (await next(project, a).expect(200)).body;
    const draft = (await sys.http().put(`/api/projects/${project}/reads/${lease.readId}/draft`).set(bearer(a)).send({ mask: maskBody(discMask(DIMS, 8, 8, 3)) }).expect(200)).body.versionId;
    expect((await sys.http().get(`/api/projects/${project}/tasks/${lease.taskId}`).set(bearer(a)).expect(200)).body.reads[0].draftVersionId).toBe(draft);
    await sys.http().post(`/api/projects/${project}/reads/${lease.readId}/release`).set(bearer(a)).expect(204);
    const taken = (await next(project, b).expect(200)).body;
    expect(taken.readId).toBe(lease.readId);
    expect(taken.task.reads[0].draftVersionId).toBeNull();
    expect((await sys.http().get(`/api/projects/${project}/tasks/${lease.taskId}`).set(bearer(b)).expect(200)).body.reads[0].draftVersionId).toBeNull();
  });

  it('a draft save that names the draft it started from is refused (412) over a newer one saved from another tab (the stale tab overwrote it); the lease names the draft to start from, also when a lapsed read is offered back', async () => {
    const { project } = await projectWithTask('two-tabs', { reads: 1 });
    const lease = (await next(project, a).expect(200)).body;
    expect(lease.task.reads[0].draftVersionId).toBeNull();
    const put = (ifMatch: string | undefined, radius: number) => {
      const req = sys.http().put(`/api/projects/${project}/reads/${lease.readId}/draft`).set(bearer(a));
      if (ifMatch !== undefined) req.set('if-match', ifMatch);
      return req.send({ mask: maskBody(discMask(DIMS, 8, 8, radius)) });
    };
    // Both tabs started from no draft: the first save wins, the second is refused.
    const first = (await put('"none"', 3).expect(200)).body.versionId as string;
    expect((await put('"none"', 4).expect(412)).body.message).toMatch(/saved from another tab or window after this one opened it: reload the task/);
    // The winner goes on from its own save; a save without If-Match (a script) is not conditional; a bad one is a 400.
    const second = (await put(`"${first}"`, 5).expect(200)).body.versionId as string;
    await put(`"${first}"`, 6).expect(412);
    await put('"not-a-draft"', 6).expect(400);
    const third = (await put(undefined, 6).expect(200)).body.versionId as string;
    expect(third).not.toBe(second);
    // The lease lapses and is offered back to its holder: the answer names their draft, and a save from it is taken.
    await sys.db.dataSource.query(`UPDATE task_reads SET state = 'open', previous_annotator_id = annotator_id, annotator_id = NULL, lease_expires_at = NULL WHERE id = $1`, [lease.readId]);
    const back = (await next(project, a).expect(200)).body;
    expect(back.readId).toBe(lease.readId);
    expect(back.task.reads[0].draftVersionId).toBe(third);
    await put(`"${third}"`, 7).expect(200);
  });

  it("blinding holds for a manager who also annotates the task: they do not see another's read while it collects reads (they did)", async () => {
    const { project, task } = await projectWithTask('manager-reads', { reads: 2 });
    await sys.http().put(`/api/projects/${project}/members/${pm.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Manager, ProjectRole.Annotator] }).expect(204);
    const other = (await next(project, a).expect(200)).body;
    const version = (await submit(project, a, other.readId, { mask: maskBody(discMask(DIMS, 8, 8, 3)) }).expect(200)).body.versionId;
    const view = async () => (await sys.http().get(`/api/projects/${project}/tasks/${task}`).set(bearer(pm)).expect(200)).body as { labels: { id: string }[] };
    // A manager who does not read it sees everything, as before.
    expect((await view()).labels.map((l) => l.id)).toContain(version);
    await next(project, pm).expect(200);
    expect((await view()).labels.map((l) => l.id)).not.toContain(version);
    expect((await sys.http().get(`/api/projects/${project}/tasks/${task}/labels/${version}`).set(bearer(pm)).expect(403)).body.message).toMatch(/blinded/);
  });

  it('a reader who sends answers but no mask counts as an empty mask: one drawn lesion against "nothing" goes to adjudication (it was approved with agreement 1)', async () => {
    const { project, task } = await projectWithTask('no-mask', { reads: 2, agreementThreshold: 0.8, reviewRequired: false }, [{ kind: 'segmentation-3d' }, { kind: 'classification', question: 'Lesion present?', choices: ['yes', 'no'], required: false }]);
    const one = (await next(project, a).expect(200)).body;
    const two = (await next(project, b).expect(200)).body;
    await submit(project, a, one.readId, { mask: maskBody(discMask(DIMS, 8, 8, 3)), answers: { 'Lesion present?': 'yes' } }).expect(200);
    await submit(project, b, two.readId, { answers: { 'Lesion present?': 'yes' } }).expect(200);
    await eventually(async () => (['adjudication', 'approved'].includes(await state(project, task)) ? true : null), 30_000);
    expect(await state(project, task)).toBe('adjudication');
    const detail = (await sys.http().get(`/api/projects/${project}/tasks/${task}`).set(bearer(pm)).expect(200)).body;
    expect(detail.consensus[0].agreement).toBe(0);
  });

  it("a manager's new priority waits for a lease change in progress instead of deadlocking with it (it locked the task, then the reads)", async () => {
    const { project, task } = await projectWithTask('priority during release', { reads: 1 });
    const lease = (await next(project, a).expect(200)).body;
    const other = sys.db.dataSource.createQueryRunner();
    await other.connect();
    await other.startTransaction();
    try {
      await other.query(`SELECT 1 FROM task_reads WHERE id = $1 FOR UPDATE`, [lease.readId]);
      const raising = sys.http().patch(`/api/projects/${project}/tasks/${task}`).set(bearer(pm)).send({ priority: 7 }).then((r) => r.status);
      await new Promise((r) => setTimeout(r, 300));
      await other.query(`UPDATE tasks SET priority = priority WHERE id = $1`, [task]);
      await other.commitTransaction();
      expect(await raising).toBe(204);
    } finally {
      if (other.isTransactionActive) await other.rollbackTransaction();
      await other.release();
    }
    const [{ priority }] = await sys.db.dataSource.query(`SELECT priority FROM tasks WHERE id = $1`, [task]);
    expect(priority).toBe(7);
  });

  it('drafting an untouched task again waits for a claim in progress instead of deadlocking with it (it locked the task, then its move changed the open reads)', async () => {
    const { project, task } = await projectWithTask('redraft during claim', { reads: 1 });
    // The project's pre-label models changed: its untouched ready tasks are drafted again (back to pre-labelling).
    await sys.db.dataSource.query(`UPDATE projects SET settings = jsonb_set(settings, '{prelabelModels}', '["model-b"]') WHERE id = $1`, [project]);
    const [{ id: read }] = await sys.db.dataSource.query(`SELECT id FROM task_reads WHERE task_id = $1`, [task]);
    const claim = sys.db.dataSource.createQueryRunner();
    await claim.connect();
    await claim.startTransaction();
    try {
      // A claim has locked and leased the read, and is about to move its task to in_annotation.
      await claim.query(`UPDATE task_reads SET state = 'leased', annotator_id = $2 WHERE id = $1`, [read, a.id]);
      const redrafting = sys.app.get(TaskSplitter).redraft(project, systemActor('test'));
      await new Promise((r) => setTimeout(r, 300));
      await claim.query(`UPDATE tasks SET state = 'in_annotation' WHERE id = $1`, [task]);
      await claim.commitTransaction();
      // The task was taken meanwhile: it is no longer untouched, and stays with its annotator.
      expect(await redrafting).toBe(0);
    } finally {
      if (claim.isTransactionActive) await claim.rollbackTransaction();
      await claim.release();
    }
    expect(await state(project, task)).toBe('in_annotation');
  });
});
