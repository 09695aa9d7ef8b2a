// Review decisions beyond approve/reject, through the real API, PostgreSQL, Redis and the consensus worker: a
// reviewer who edits and approves leaves a 'review-edit' version that becomes the task's final label; rejections
// past the project's rework limit escalate the task to the managers, who send it back once more or approve it as it
// is; every step is refused to the wrong role and lands in the task's history and audit trail.
import { ProjectRole, Role } from '@contour/db';
import { QueueName } from '@contour/queue';
import { discMask, maskBody } from '../support/masks';
import { eventually, startSystem, TestSystem, uploadPhantomTask } from '../support/system';

type U = { id: string; token: string };
const DIMS: [number, number, number] = [16, 16, 2];

describe('edit-and-approve and escalation', () => {
  let sys: TestSystem;
  let pm: U, ann: U, rev: U;
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing, QueueName.Consensus] });
    pm = await sys.user('pm', [Role.Manager]);
    ann = await sys.user('ann', [Role.Annotator]);
    rev = await sys.user('rev', [Role.Reviewer]);
  });
  afterAll(() => sys.close());

  async function projectWithTask(name: string) {
    const settings = { quality: { reads: 1, reviewRequired: true, maxReworkRounds: 1 } };
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name, settings }).expect(201)).body.id as string;
    await sys.http().put(`/api/projects/${project}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().put(`/api/projects/${project}/members/${rev.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
    await sys.http().post(`/api/projects/${project}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Lesion', color: '#ff0000' }], annotationTypes: [{ kind: 'segmentation-3d' }] }).expect(201);
    const task = await uploadPhantomTask(sys, pm.token, project, name, DIMS);
    return { project, task };
  }
  const state = async (project: string, task: string) => (await sys.http().get(`/api/projects/${project}/tasks/${task}`).set(bearer(pm)).expect(200)).body.state as string;
  const waitFor = (project: string, task: string, wanted: string) => eventually(async () => ((await state(project, task)) === wanted ? true : null), 30_000);
  /** The annotator takes the task (their own rework first) and submits a disc of `radius`. */
  const annotate = async (project: string, radius: number) => {
    const lease = (await sys.http().post(`/api/projects/${project}/tasks/next`).set(bearer(ann)).expect(200)).body as { readId: string; reworkComment: string | null };
    await sys.http().post(`/api/projects/${project}/reads/${lease.readId}/submit`).set(bearer(ann)).send({ mask: maskBody(discMask(DIMS, 8, 8, radius)) }).expect(200);
    return lease;
  };
  /** The reviewer takes the next review and decides; the response must have `status`. */
  const review = async (project: string, body: Record<string, unknown>, status = 200) => {
    const slot = (await sys.http().post(`/api/projects/${project}/reviews/next`).set(bearer(rev)).expect(200)).body as { readId: string };
    return sys.http().post(`/api/projects/${project}/reads/${slot.readId}/review`).set(bearer(rev)).send(body).expect(status);
  };

  it("edit-and-approve: the reviewer's edited mask is stored as a 'review-edit' version by the reviewer and the task is approved", async () => {
    const { project, task } = await projectWithTask('edit-approve');
    await annotate(project, 3);
    await waitFor(project, task, 'review');
    // An edit needs the edited work, and an edited mask must fit the task's grid like any other.
    const slot = (await sys.http().post(`/api/projects/${project}/reviews/next`).set(bearer(rev)).expect(200)).body as { readId: string };
    expect((await sys.http().post(`/api/projects/${project}/reads/${slot.readId}/review`).set(bearer(rev)).send({ decision: 'edit-approve', comment: 'tightened' }).expect(400)).body.message).toMatch(/needs the edited mask or answers/);
    await sys.http().post(`/api/projects/${project}/reads/${slot.readId}/review`).set(bearer(rev)).send({ decision: 'edit-approve', comment: 'wrong grid', mask: maskBody(new Uint8Array(10)) }).expect(400);
    // Only a reviewer of the project may decide.
    await sys.http().post(`/api/projects/${project}/reads/${slot.readId}/review`).set(bearer(ann)).send({ decision: 'approve', comment: '' }).expect(403);
    const edited = discMask(DIMS, 8, 8, 5);
    const done = await sys.http().post(`/api/projects/${project}/reads/${slot.readId}/review`).set(bearer(rev)).send({ decision: 'edit-approve', comment: 'the lesion is larger', mask: maskBody(edited) }).expect(200);
    expect(done.body.taskState).toBe('approved');
    const view = (await sys.http().get(`/api/projects/${project}/tasks/${task}`).set(bearer(pm)).expect(200)).body;
    const edit = view.labels.find((l: { kind: string }) => l.kind === 'review-edit');
    expect(edit).toMatchObject({ kind: 'review-edit', stats: { voxels: { 1: edited.reduce((n, v) => n + (v ? 1 : 0), 0) } } });
    const [stored] = await sys.db.dataSource.query(`SELECT author_id, kind FROM label_versions WHERE id = $1`, [edit.id]);
    expect(stored).toEqual({ author_id: rev.id, kind: 'review-edit' });
    const [decision] = await sys.db.dataSource.query(`SELECT decision, comment, label_version_id FROM reviews WHERE task_id = $1`, [task]);
    expect(decision).toEqual({ decision: 'edited-approved', comment: 'the lesion is larger', label_version_id: edit.id });
  });

  it('rejections past the rework limit escalate to the managers, who reopen it once more and then approve it as it is', async () => {
    const { project, task } = await projectWithTask('escalation');
    await annotate(project, 3);
    await waitFor(project, task, 'review');
    await review(project, { decision: 'reject', comment: 'include the rim' });
    await waitFor(project, task, 'rework');
    // While the annotator reworks it, their auto-saved draft is theirs (and the managers'): the reviewer saw it.
    const rework = (await sys.http().post(`/api/projects/${project}/tasks/next`).set(bearer(ann)).expect(200)).body as { readId: string; reworkComment: string | null };
    await sys.http().put(`/api/projects/${project}/reads/${rework.readId}/draft`).set(bearer(ann)).send({ mask: maskBody(discMask(DIMS, 8, 8, 2)) }).expect(200);
    const kinds = async (u: U) => ((await sys.http().get(`/api/projects/${project}/tasks/${task}`).set(bearer(u)).expect(200)).body.labels as { kind: string }[]).map((l) => l.kind);
    expect(await kinds(pm)).toContain('read-draft');
    expect(await kinds(ann)).toContain('read-draft');
    expect(await kinds(rev)).not.toContain('read-draft');
    expect(await kinds(rev)).toContain('read');
    // Round 1 (the limit): back to the same annotator with the comment.
    expect(rework.reworkComment).toBe('include the rim');
    await sys.http().post(`/api/projects/${project}/reads/${rework.readId}/submit`).set(bearer(ann)).send({ mask: maskBody(discMask(DIMS, 8, 8, 4)) }).expect(200);
    await waitFor(project, task, 'review');
    expect((await review(project, { decision: 'reject', comment: 'still missing the rim' })).body.taskState).toBe('escalated');
    const escalated = (await sys.http().get(`/api/projects/${project}/tasks/${task}/history`).set(bearer(pm)).expect(200)).body.task;
    expect(escalated).toMatchObject({ state: 'escalated', rejectionCount: 2, reworkRound: 1 });
    // Nobody is offered an escalated task; only managers decide on it.
    await sys.http().post(`/api/projects/${project}/tasks/next`).set(bearer(ann)).expect(204);
    await sys.http().post(`/api/projects/${project}/reviews/next`).set(bearer(rev)).expect(204);
    await sys.http().post(`/api/projects/${project}/tasks/${task}/decisions/approve`).set(bearer(rev)).send({ comment: 'fine by me' }).expect(403);
    await sys.http().post(`/api/projects/${project}/tasks/${task}/decisions/approve`).set(bearer(ann)).send({ comment: 'fine by me' }).expect(403);
    // The manager sends it back once more: the annotator sees the manager's comment.
    expect((await sys.http().post(`/api/projects/${project}/tasks/${task}/decisions/reopen`).set(bearer(pm)).send({ comment: 'see the reviewer notes' }).expect(200)).body.taskState).toBe('rework');
    expect((await annotate(project, 5)).reworkComment).toBe('see the reviewer notes');
    await waitFor(project, task, 'review');
    expect((await review(project, { decision: 'reject', comment: 'rim again' })).body.taskState).toBe('escalated');
    // Approved as it is by the manager; an approved task takes no further decision.
    expect((await sys.http().post(`/api/projects/${project}/tasks/${task}/decisions/approve`).set(bearer(pm)).send({ comment: 'good enough for training' }).expect(200)).body.taskState).toBe('approved');
    await sys.http().post(`/api/projects/${project}/tasks/${task}/decisions/reopen`).set(bearer(pm)).send({ comment: 'again' }).expect(409);
    const history = (await sys.http().get(`/api/projects/${project}/tasks/${task}/history`).set(bearer(pm)).expect(200)).body;
    expect(history.transitions.map((t: { to: string }) => t.to)).toEqual(['created', 'ready', 'in_annotation', 'consensus', 'review', 'rework', 'consensus', 'review', 'escalated', 'rework', 'consensus', 'review', 'escalated', 'approved']);
    expect(history.task).toMatchObject({ rejectionCount: 3, reworkRound: 2 });
    const actions = history.audit.map((a: { action: string }) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['task.manager-reopen', 'task.manager-approve']));
    expect(actions.indexOf('task.manager-reopen')).toBeLessThan(actions.indexOf('task.manager-approve'));
    // Each decision is one audit line (both were written twice).
    expect(actions.filter((a: string) => a === 'task.manager-reopen')).toHaveLength(1);
    expect(actions.filter((a: string) => a === 'task.manager-approve')).toHaveLength(1);
    const stats = (await sys.http().get(`/api/projects/${project}/stats`).set(bearer(pm)).expect(200)).body;
    expect(stats.reviews).toEqual({ rejected: 3, reviews: 3 });
    // The task list's count is the dashboard's, without the rest of the statistics.
    expect((await sys.http().get(`/api/projects/${project}/tasks/counts`).set(bearer(pm)).expect(200)).body).toEqual(stats.byState);
  });

  it('a manager who annotated an escalated task cannot approve it (self-review); another manager can', async () => {
    const settings = { quality: { reads: 1, reviewRequired: true, maxReworkRounds: 0 } };
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'self-approval', settings }).expect(201)).body.id as string;
    await sys.http().put(`/api/projects/${project}/members/${pm.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Manager, ProjectRole.Annotator] }).expect(204);
    await sys.http().put(`/api/projects/${project}/members/${rev.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
    const pm2 = await sys.user('pm2', [Role.Manager]);
    await sys.http().put(`/api/projects/${project}/members/${pm2.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Manager] }).expect(204);
    await sys.http().post(`/api/projects/${project}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Lesion', color: '#ff0000' }], annotationTypes: [{ kind: 'segmentation-3d' }] }).expect(201);
    const task = await uploadPhantomTask(sys, pm.token, project, 'self-approval', DIMS);
    const lease = (await sys.http().post(`/api/projects/${project}/tasks/next`).set(bearer(pm)).expect(200)).body as { readId: string };
    await sys.http().post(`/api/projects/${project}/reads/${lease.readId}/submit`).set(bearer(pm)).send({ mask: maskBody(discMask(DIMS, 8, 8, 3)) }).expect(200);
    await waitFor(project, task, 'review');
    expect((await review(project, { decision: 'reject', comment: 'not the lesion' })).body.taskState).toBe('escalated');
    const refused = await sys.http().post(`/api/projects/${project}/tasks/${task}/decisions/approve`).set(bearer(pm)).send({ comment: 'mine is fine' }).expect(403);
    expect(refused.body.message).toMatch(/You annotated this task, so you cannot approve it/);
    expect(await state(project, task)).toBe('escalated');
    expect((await sys.http().post(`/api/projects/${project}/tasks/${task}/decisions/approve`).set(bearer(pm2)).send({ comment: 'looked at it' }).expect(200)).body.taskState).toBe('approved');
  });

  it("a review that no reviewer of the project may take says so in the task list (it waited with nobody told); a reviewer added later takes it, and the reason goes", async () => {
    const settings = { quality: { reads: 2, reviewRequired: true, agreementThreshold: 0.99 } };
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'only-reviewer', settings }).expect(201)).body.id as string;
    const ann2 = await sys.user('ann2', [Role.Annotator]);
    for (const u of [ann, ann2]) await sys.http().put(`/api/projects/${project}/members/${u.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().put(`/api/projects/${project}/members/${rev.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
    await sys.http().post(`/api/projects/${project}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Lesion', color: '#ff0000' }], annotationTypes: [{ kind: 'segmentation-3d' }] }).expect(201);
    const task = await uploadPhantomTask(sys, pm.token, project, 'only-reviewer', DIMS);
    for (const [u, radius] of [[ann, 3], [ann2, 6]] as const) {
      const lease = (await sys.http().post(`/api/projects/${project}/tasks/next`).set(bearer(u)).expect(200)).body as { readId: string };
      await sys.http().post(`/api/projects/${project}/reads/${lease.readId}/submit`).set(bearer(u)).send({ mask: maskBody(discMask(DIMS, 8, 8, radius)) }).expect(200);
    }
    await waitFor(project, task, 'adjudication');
    const slot = (await sys.http().post(`/api/projects/${project}/reviews/next`).set(bearer(rev)).expect(200)).body as { readId: string };
    expect((await sys.http().post(`/api/projects/${project}/reads/${slot.readId}/adjudicate`).set(bearer(rev)).send({ mask: maskBody(discMask(DIMS, 8, 8, 4)) }).expect(200)).body.taskState).toBe('review');
    const row = async () => ((await sys.http().get(`/api/projects/${project}/tasks`).set(bearer(pm)).expect(200)).body as { id: string; stateReason: string | null }[]).find((t) => t.id === task)!;
    expect((await row()).stateReason).toMatch(/waiting for a reviewer: every reviewer of the project annotated or adjudicated this task/);
    const audit = (await sys.http().get(`/api/projects/${project}/audit?action=task.no-eligible-reviewer`).set(bearer(pm)).expect(200)).body as { objectId: string }[];
    expect(audit.map((a) => a.objectId)).toEqual([task]);
    await sys.http().post(`/api/projects/${project}/reviews/next`).set(bearer(rev)).expect(204);
    const rev2 = await sys.user('rev2', [Role.Reviewer]);
    await sys.http().put(`/api/projects/${project}/members/${rev2.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
    const review = (await sys.http().post(`/api/projects/${project}/reviews/next`).set(bearer(rev2)).expect(200)).body as { readId: string; taskId: string };
    expect(review.taskId).toBe(task);
    expect((await sys.http().post(`/api/projects/${project}/reads/${review.readId}/review`).set(bearer(rev2)).send({ decision: 'approve', comment: '' }).expect(200)).body.taskState).toBe('approved');
    expect((await row()).stateReason).toBeNull();
  });
});
