// A whole project driven through the API with real PostgreSQL, Redis and worker: k = 3 blinded reads, one
// disagreement that goes to adjudication, one rejection that returns to its annotators and comes back, lease
// expiry and reassignment, push assignment, role and membership checks, real concurrency on the claim query,
// and one task's audit trail read back in order.
import { readdirSync, readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { ConsensusMetrics, pairMeans, readerScores } from '@contour/consensus';
import { ProjectRole, Role, Task } from '@contour/db';
import { ctPhantomSeries } from '@contour/dicom';
import { JobName, JobQueue, QueueName } from '@contour/queue';
import { CLAIM_SQL, ConsensusService, RoutingService } from '@contour/tasks';
import { dataPath } from '../support/env';
import { discMask, maskBody } from '../support/masks';
import { eventually, startSystem, TestSystem } from '../support/system';

type U = { id: string; token: string };

describe('work routing and consensus', () => {
  let sys: TestSystem;
  let projectId: string;
  let pm: U, r1: U, outsider: U;
  const ann: U[] = [];
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing, QueueName.Consensus] });
    pm = await sys.user('pm', [Role.Manager]);
    r1 = await sys.user('rev1', [Role.Reviewer], ['body-ct']);
    outsider = await sys.user('stranger', [Role.Annotator]);
    for (let i = 1; i <= 5; i++) ann.push(await sys.user(`ann${i}`, [Role.Annotator], i === 5 ? [] : ['body-ct']));
    const settings = { quality: { reads: 3, agreementThreshold: 0.8, mergeMethod: 'staple', reviewRequired: true, maxReworkRounds: 2, leaseSeconds: 600 }, requiredSkills: { CT: ['body-ct'] } };
    projectId = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'workflow', settings }).expect(201)).body.id;
    for (const a of ann) await sys.http().put(`/api/projects/${projectId}/members/${a.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().put(`/api/projects/${projectId}/members/${r1.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
    await sys
      .http()
      .post(`/api/projects/${projectId}/protocols`)
      .set(bearer(pm))
      .send({ labels: [{ id: 1, name: 'Lesion', color: '#ff0000', code: { value: '52988006', scheme: 'SCT', meaning: 'Lesion' } }], annotationTypes: [{ kind: 'segmentation-3d' }], instructions: 'Outline every lesion.' })
      .expect(201);
  });
  afterAll(() => sys.close());

  const tasks = async () => (await sys.http().get(`/api/projects/${projectId}/tasks`).set(bearer(pm)).expect(200)).body as { id: string; state: string; readsSubmitted: number }[];
  const next = (u: U) => sys.http().post(`/api/projects/${projectId}/tasks/next`).set(bearer(u));
  const submit = (u: U, readId: string, mask: Uint8Array, key?: string) => {
    const req = sys.http().post(`/api/projects/${projectId}/reads/${readId}/submit`).set(bearer(u));
    if (key) req.set('idempotency-key', key);
    return req.send({ mask: maskBody(mask) });
  };
  const taskState = async (id: string) => (await sys.http().get(`/api/projects/${projectId}/tasks/${id}`).set(bearer(pm)).expect(200)).body.state as string;
  const CT: [number, number, number] = [512, 512, 3];

  let taskA: string;

  it('ingested studies are checked, split into tasks with k open reads, and wait in "ready"', async () => {
    const dir = dataPath('dicom/series/ct-3slice');
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    for (const f of readdirSync(dir)) up.attach('files', readFileSync(`${dir}/${f}`), f);
    await up.expect(202);
    const list = await eventually(async () => {
      const t = await tasks();
      return t.length === 1 && t[0].state === 'ready' ? t : null;
    }, 30_000);
    taskA = list[0].id;
    // Splitting again creates nothing twice.
    await sys.http().post(`/api/projects/${projectId}/split`).set(bearer(pm)).expect(202);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await tasks()).toHaveLength(1);
    const [{ n }] = await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM task_reads WHERE task_id = $1 AND kind = 'annotation'`, [taskA]);
    expect(n).toBe(3);
    // The checked series' NIfTI is built ahead of its first use (nobody has opened it yet).
    const [{ series_ids }] = await sys.db.dataSource.query(`SELECT series_ids FROM tasks WHERE id = $1`, [taskA]);
    await eventually(async () => (await sys.db.dataSource.query(`SELECT volume_blob_key FROM series WHERE id = $1`, [series_ids[0]]))[0].volume_blob_key, 30_000);
  });

  it('routes by skill and membership: no skill, no task; non-members and reviewers are refused', async () => {
    await next(ann[4]).expect(204);
    await next(outsider).expect(403);
    await next(r1).expect(403);
    await sys.http().get(`/api/projects/${projectId}/tasks`).set(bearer(ann[0])).expect(403);
  });

  const leases: Record<string, string> = {};

  it('k = 3 blinded reads: three annotators each lease one read; a fourth gets nothing', async () => {
    for (const a of ann.slice(0, 3)) {
      const res = await next(a).expect(200);
      expect(res.body.taskId).toBe(taskA);
      expect(res.body.task.protocol.labels[0].name).toBe('Lesion');
      leases[a.id] = res.body.readId;
    }
    await next(ann[3]).expect(204);
    expect(await taskState(taskA)).toBe('in_annotation');
  });

  it('blinding: nobody sees another annotator\u2019s read while the task collects reads', async () => {
    const first = await submit(ann[0], leases[ann[0].id], discMask(CT, 256, 256, 40), 'a0-round0').expect(200);
    expect(first.body.taskState).toBe('in_annotation');
    // The same request again (a retry) returns the same version and creates nothing.
    const retry = await submit(ann[0], leases[ann[0].id], discMask(CT, 256, 256, 40), 'a0-round0').expect(200);
    expect(retry.body.versionId).toBe(first.body.versionId);
    const asOther = await sys.http().get(`/api/projects/${projectId}/tasks/${taskA}`).set(bearer(ann[1])).expect(200);
    expect(asOther.body.labels.map((l: { id: string }) => l.id)).not.toContain(first.body.versionId);
    expect(asOther.body.reads.every((r: { mine: boolean }) => r.mine)).toBe(true);
    const res = await sys.http().get(`/api/projects/${projectId}/tasks/${taskA}/labels/${first.body.versionId}`).set(bearer(ann[1])).expect(403);
    expect(res.body.message).toMatch(/blinded/);
    await sys.http().get(`/api/projects/${projectId}/tasks/${taskA}/labels/${first.body.versionId}`).set(bearer(ann[0])).expect(200);
    await sys.http().get(`/api/projects/${projectId}/tasks/${taskA}`).set(bearer(ann[3])).expect(403);
  });

  it('refuses a mask for another grid or with a label the protocol lacks', async () => {
    const wrong = await submit(ann[1], leases[ann[1].id], new Uint8Array(10)).expect(400);
    expect(wrong.body.message).toMatch(/has 10 voxels but the grid 512x512x3 has 786432/);
    const badLabel = await submit(ann[1], leases[ann[1].id], discMask(CT, 256, 256, 40, 7)).expect(400);
    expect(badLabel.body.message).toMatch(/label value\(s\) 7 that the protocol does not define/);
    // An Idempotency-Key longer than any real one is a 400 (it was a 500 from the index), and nothing is stored.
    const long = await submit(ann[1], leases[ann[1].id], discMask(CT, 258, 256, 40), 'k'.repeat(8000)).expect(400);
    expect(long.body.message).toMatch(/Idempotency-Key header has 8000 characters; at most 200/);
  });

  it('the third read completes the task; consensus agrees; the task waits for review', async () => {
    // Idempotency-Keys are each person's own: the key another annotator used is no conflict (it refused this read
    // with "already used for another submission"), and the read is stored as a new one.
    const second = await submit(ann[1], leases[ann[1].id], discMask(CT, 258, 256, 40), 'a0-round0').expect(200);
    expect(second.body.duplicate).toBe(false);
    // A submission refused for its own reason says that reason, whatever key it carries.
    const resent = await submit(ann[0], leases[ann[0].id], discMask(CT, 256, 256, 40));
    expect(resent.status).toBe(409);
    const withOthersKey = await submit(ann[0], leases[ann[0].id], discMask(CT, 256, 256, 40), 'a1-round0');
    expect({ status: withOthersKey.status, message: withOthersKey.body.message }).toEqual({ status: 409, message: resent.body.message });
    expect(resent.body.message).not.toMatch(/Idempotency-Key/);
    const last = await submit(ann[2], leases[ann[2].id], discMask(CT, 256, 254, 41)).expect(200);
    expect(last.body.taskState).toBe('consensus');
    await eventually(async () => (await taskState(taskA)) === 'review', 30_000);
    const detail = (await sys.http().get(`/api/projects/${projectId}/tasks/${taskA}`).set(bearer(pm))).body;
    expect(detail.agreement).toBeGreaterThan(0.9);
    expect(detail.consensus[0].method).toBe('staple');
    expect(detail.labels.map((l: { kind: string }) => l.kind)).toEqual(['read', 'read', 'read', 'merged']);
    // Reads no longer collected: an annotator is still refused another's read, and told why (not that reads are blinded).
    const othersRead = detail.labels.find((l: { kind: string; authorId: string }) => l.kind === 'read' && l.authorId !== ann[1].id).id;
    const refused = await sys.http().get(`/api/projects/${projectId}/tasks/${taskA}/labels/${othersRead}`).set(bearer(ann[1])).expect(403);
    expect(refused.body.message).toBe('Only the project\u2019s managers, and its reviewers who did not read the task themselves once it is in consensus, adjudication, review, rework, escalated, approved, see other people\u2019s work on a task');
  });

  it('a reviewer who did not annotate rejects with a comment; the task returns to its annotators', async () => {
    await sys.http().post(`/api/projects/${projectId}/reviews/next`).set(bearer(ann[0])).expect(403);
    const lease = await sys.http().post(`/api/projects/${projectId}/reviews/next`).set(bearer(r1)).expect(200);
    expect(lease.body.kind).toBe('review');
    const asReviewer = lease.body.task;
    expect(asReviewer.labels.filter((l: { kind: string }) => l.kind === 'read')).toHaveLength(3);
    await sys.http().post(`/api/projects/${projectId}/reads/${lease.body.readId}/review`).set(bearer(r1)).send({ decision: 'reject' }).expect(400);
    const rej = await sys.http().post(`/api/projects/${projectId}/reads/${lease.body.readId}/review`).set(bearer(r1)).send({ decision: 'reject', comment: 'Include the rim on the lower slice' }).expect(200);
    expect(rej.body.taskState).toBe('rework');
    // Each annotator gets their own read back first, with the comment; others cannot take it.
    await next(ann[3]).expect(204);
    for (const a of ann.slice(0, 3)) {
      const res = await next(a).expect(200);
      expect(res.body.taskId).toBe(taskA);
      expect(res.body.reworkComment).toBe('Include the rim on the lower slice');
      expect(res.body.round).toBe(1);
      leases[a.id] = res.body.readId;
    }
  });

  it('the reworked reads come back through consensus to review, and the reviewer approves', async () => {
    for (const [i, a] of ann.slice(0, 3).entries()) await submit(a, leases[a.id], discMask(CT, 256 + i, 256, 44)).expect(200);
    await eventually(async () => (await taskState(taskA)) === 'review', 30_000);
    const lease = await sys.http().post(`/api/projects/${projectId}/reviews/next`).set(bearer(r1)).expect(200);
    const ok = await sys.http().post(`/api/projects/${projectId}/reads/${lease.body.readId}/review`).set(bearer(r1)).send({ decision: 'approve', comment: 'Good' }).expect(200);
    expect(ok.body.taskState).toBe('approved');
    // The same decision sent again (a retry after a lost response) answers with the outcome; another is refused (both were a bare 403).
    const again = await sys.http().post(`/api/projects/${projectId}/reads/${lease.body.readId}/review`).set(bearer(r1)).send({ decision: 'approve', comment: 'Good' }).expect(200);
    expect(again.body).toMatchObject({ taskState: 'approved', duplicate: true });
    const other = await sys.http().post(`/api/projects/${projectId}/reads/${lease.body.readId}/review`).set(bearer(r1)).send({ decision: 'reject', comment: 'No' }).expect(409);
    expect(other.body.message).toMatch(/You already decided this review \(approved\)/);
  });

  let taskB: string;

  it('a disagreement below the threshold goes to adjudication, which shows where readers disagree', async () => {
    const phantom = ctPhantomSeries({ seed: 'disagree', slices: 5, rows: 64, columns: 64, pixelSpacing: 4, patient: { name: 'Doe^Jane', id: 'P-DIS' } });
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    phantom.files.forEach((f, i) => up.attach('files', f, `p${i}.dcm`));
    await up.expect(202);
    taskB = (await eventually(async () => (await tasks()).find((t) => t.id !== taskA && t.state === 'ready'), 30_000)).id;
    const dims: [number, number, number] = [64, 64, 5];
    const masks = [discMask(dims, 20, 20, 8), discMask(dims, 22, 20, 8), discMask(dims, 44, 44, 8)];
    for (const [i, a] of ann.slice(0, 3).entries()) {
      const res = await next(a).expect(200);
      expect(res.body.taskId).toBe(taskB);
      await submit(a, res.body.readId, masks[i]).expect(200);
    }
    await eventually(async () => (await taskState(taskB)) === 'adjudication', 30_000);
    const lease = await sys.http().post(`/api/projects/${projectId}/reviews/next`).set(bearer(r1)).expect(200);
    expect(lease.body.kind).toBe('adjudication');
    const c = lease.body.task.consensus[0];
    expect(c.agreement).toBeLessThan(0.8);
    expect(c.disagreement.labels[0].regions.length).toBeGreaterThanOrEqual(2);
    expect(c.disagreement.labels[0].slices.map((s: { z: number }) => s.z)).toEqual([0, 1, 2, 3, 4]);
    const adj = await sys.http().post(`/api/projects/${projectId}/reads/${lease.body.readId}/adjudicate`).set(bearer(r1)).send({ mask: maskBody(masks[0]) }).expect(200);
    expect(adj.body.taskState).toBe('review');
    const retried = await sys.http().post(`/api/projects/${projectId}/reads/${lease.body.readId}/adjudicate`).set(bearer(r1)).send({ mask: maskBody(masks[0]) }).expect(200);
    expect(retried.body).toMatchObject({ taskState: 'review', versionId: adj.body.versionId, duplicate: true });
    // A different label sent afterwards is refused (it was answered "duplicate" and dropped), and nothing changes.
    const different = await sys.http().post(`/api/projects/${projectId}/reads/${lease.body.readId}/adjudicate`).set(bearer(r1)).send({ mask: maskBody(masks[1]) }).expect(409);
    expect(different.body.message).toMatch(/You already adjudicated this task; a second, different label is not taken/);
    expect((await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM label_versions WHERE task_id = $1 AND kind = 'adjudicated'`, [taskB]))[0].n).toBe(1);
    // The adjudicator does not review their own adjudication (they were offered it before the fix): another reviewer does.
    const own = await sys.http().post(`/api/projects/${projectId}/reviews/next`).set(bearer(r1));
    expect(own.status === 204 || own.body.taskId !== taskB).toBe(true);
    if (own.status === 200) await sys.http().post(`/api/projects/${projectId}/reads/${own.body.readId}/release`).set(bearer(r1)).expect(204);
    const r2 = await sys.user('rev2', [Role.Reviewer], ['body-ct']);
    await sys.http().put(`/api/projects/${projectId}/members/${r2.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
    const other = await sys.http().post(`/api/projects/${projectId}/reviews/next`).set(bearer(r2)).expect(200);
    expect(other.body).toMatchObject({ taskId: taskB, kind: 'review' });
    await sys.http().post(`/api/projects/${projectId}/reads/${other.body.readId}/release`).set(bearer(r2)).expect(204);
  });

  it('consensus judges a task by its own number of reads: lowering the project\'s to 1 does not wave three disagreeing reads through (it did before)', async () => {
    const phantom = ctPhantomSeries({ seed: 'reads-changed', slices: 3, rows: 32, columns: 32, pixelSpacing: 8, patient: { name: 'Kay^Reads', id: 'P-READS' } });
    const known = new Set((await tasks()).map((t) => t.id));
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    phantom.files.forEach((f, i) => up.attach('files', f, `k${i}.dcm`));
    await up.expect(202);
    const task = (await eventually(async () => (await tasks()).find((t) => !known.has(t.id) && t.state === 'ready'), 30_000)).id;
    const queue = sys.app.get(JobQueue).queue(QueueName.Consensus);
    await queue.pause();
    try {
      const dims: [number, number, number] = [32, 32, 3];
      const masks = [discMask(dims, 8, 8, 5), discMask(dims, 24, 24, 5), discMask(dims, 8, 24, 5)];
      for (const [i, a] of ann.slice(0, 3).entries()) {
        const res = await eventually(async () => {
          const r = await next(a).expect(200);
          if (r.body.taskId === task) return r;
          await sys.http().post(`/api/projects/${projectId}/reads/${r.body.readId}/release`).set(bearer(a)).expect(204);
          return null;
        }, 10_000);
        await submit(a, res.body.readId, masks[i]).expect(200);
      }
      const [{ settings }] = await sys.db.dataSource.query(`SELECT settings FROM projects WHERE id = $1`, [projectId]);
      await sys.db.dataSource.query(`UPDATE projects SET settings = jsonb_set(settings, '{quality,reads}', '1') WHERE id = $1`, [projectId]);
      await sys.app.get(ConsensusService).run(task);
      await sys.db.dataSource.query(`UPDATE projects SET settings = $2 WHERE id = $1`, [projectId, settings]);
      expect(await taskState(task)).toBe('adjudication');
      // Out of the way of the tests below.
      await sys.db.dataSource.query(`UPDATE task_reads SET state = 'closed' WHERE task_id = $1 AND state = 'open'`, [task]);
    } finally {
      await queue.resume();
    }
  });

  it('lease expiry: the read goes back to the pool; a late submission is accepted only if nobody took it', async () => {
    const phantom = ctPhantomSeries({ seed: 'lease', slices: 3, rows: 32, columns: 32, pixelSpacing: 8, patient: { name: 'Roe^Rick', id: 'P-LEASE' } });
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    phantom.files.forEach((f, i) => up.attach('files', f, `l${i}.dcm`));
    await up.expect(202);
    const taskC = (await eventually(async () => (await tasks()).find((t) => ![taskA, taskB].includes(t.id) && t.state === 'ready'), 30_000)).id;
    const dims: [number, number, number] = [32, 32, 3];
    const routing = sys.app.get(RoutingService);
    const a = await next(ann[3]).expect(200);
    expect(a.body.taskId).toBe(taskC);
    const expire = () => sys.db.dataSource.query(`UPDATE task_reads SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [a.body.readId]);
    await expire();
    expect(await routing.expireLeases()).toBe(1);
    expect(await taskState(taskC)).toBe('ready');
    // Nobody took it: the late submission is welcome.
    await submit(ann[3], a.body.readId, discMask(dims, 16, 16, 5)).expect(200);
    // Now the same with someone else taking the expired read first.
    const b = await next(ann[0]).expect(200);
    expect(b.body.taskId).toBe(taskC);
    await sys.db.dataSource.query(`UPDATE task_reads SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [b.body.readId]);
    await routing.expireLeases();
    const c = await next(ann[1]).expect(200);
    expect(c.body.readId).toBe(b.body.readId);
    const late = await submit(ann[0], b.body.readId, discMask(dims, 16, 16, 5)).expect(409);
    expect(late.body.message).toMatch(/lease on this read expired and the read was given to someone else/);
    const heartbeat = await sys.http().post(`/api/projects/${projectId}/reads/${c.body.readId}/heartbeat`).set(bearer(ann[1])).expect(200);
    expect(new Date(heartbeat.body.leaseExpiresAt).getTime()).toBeGreaterThan(Date.now() + 500_000);
  });

  /** A new 16x16x2 study's task, leased to `u` (every other open read in the project is taken by `u` first). */
  async function freshTaskLeasedTo(u: U, seed: string, patient: { name: string; id: string }) {
    const phantom = ctPhantomSeries({ seed, slices: 2, rows: 16, columns: 16, pixelSpacing: 8, patient });
    const known = new Set((await tasks()).map((t) => t.id));
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    phantom.files.forEach((f, i) => up.attach('files', f, `${seed}${i}.dcm`));
    await up.expect(202);
    const taskId = (await eventually(async () => (await tasks()).find((t) => !known.has(t.id) && t.state === 'ready'), 30_000)).id;
    const lease = await eventually(async () => {
      const res = await next(u).expect(200);
      return res.body.taskId === taskId ? res : null;
    }, 10_000);
    return { taskId, readId: lease.body.readId as string };
  }

  it('a task cancelled while its read is leased refuses the submission with the reason, though the coordinator remembers the lease', async () => {
    const { taskId: taskF, readId } = await freshTaskLeasedTo(ann[2], 'cancelled', { name: 'Cox^Cancel', id: 'P-CANCEL' });
    await sys.http().post(`/api/projects/${projectId}/tasks/${taskF}/decisions/cancel`).set(bearer(pm)).send({ comment: 'wrong body part' }).expect(200);
    // The submission starts from the lease this coordinator remembers (task in annotation); the submission function
    // finds the task cancelled under its lock and the locked path answers why.
    const refused = await submit(ann[2], readId, new Uint8Array(16 * 16 * 2)).expect(409);
    expect(refused.body.message).toMatch(/cancelled by a manager/);
    expect(await taskState(taskF)).toBe('cancelled');
    const [{ n }] = await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM label_versions WHERE task_id = $1 AND kind = 'read'`, [taskF]);
    expect(n).toBe(0);
  });

  it('a heartbeat after the lease lapsed (a laptop asleep) renews it while nobody took the read, and the work is accepted (refused before the fix)', async () => {
    const { taskId: taskE, readId: mineId } = await freshTaskLeasedTo(ann[3], 'lapse', { name: 'Lee^Lapse', id: 'P-LAPSE' });
    const mine = { body: { readId: mineId } };
    await sys.db.dataSource.query(`UPDATE task_reads SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [mine.body.readId]);
    await sys.app.get(RoutingService).expireLeases();
    expect(await taskState(taskE)).toBe('ready');
    await sys.http().post(`/api/projects/${projectId}/reads/${mine.body.readId}/heartbeat`).set(bearer(ann[3])).expect(200);
    expect(await taskState(taskE)).toBe('in_annotation');
    await submit(ann[3], mine.body.readId, discMask([16, 16, 2], 8, 8, 3)).expect(200);
    const audit = await sys.db.dataSource.query(`SELECT action FROM audit_events WHERE object_id = $1 AND action = 'read.lease-renewed'`, [mine.body.readId]);
    expect(audit).toHaveLength(1);
  });

  it('push routing: a manager assigns a task to a named annotator, who gets it first', async () => {
    const phantom = ctPhantomSeries({ seed: 'push', slices: 2, rows: 16, columns: 16, pixelSpacing: 8, patient: { name: 'Poe^Pat', id: 'P-PUSH' } });
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    phantom.files.forEach((f, i) => up.attach('files', f, `q${i}.dcm`));
    await up.expect(202);
    const before = new Set((await tasks()).map((t) => t.id));
    const taskD = (await eventually(async () => {
      const t = await tasks();
      return t.length > before.size - 0 ? t.find((x) => x.state === 'ready' && x.readsSubmitted === 0 && ![taskA, taskB].includes(x.id) && x.id !== [...before].find((id) => id === x.id)) : null;
    }, 30_000)).id;
    const res = await sys.http().post(`/api/projects/${projectId}/tasks/assign`).set(bearer(pm)).send({ userId: ann[2].id, taskIds: [taskD] }).expect(200);
    expect(res.body.assigned).toEqual([taskD]);
    await sys.http().post(`/api/projects/${projectId}/tasks/assign`).set(bearer(pm)).send({ userId: r1.id, taskIds: [taskD] }).expect(409);
    expect((await next(ann[2]).expect(200)).body.taskId).toBe(taskD);
  });

  it('push routing, the hard cases: no second reservation for one person, none without the skills, a reserved slot reassigned, a leaving member\'s slot freed (all stranded reads before)', async () => {
    const phantom = ctPhantomSeries({ seed: 'push-hard', slices: 2, rows: 16, columns: 16, pixelSpacing: 8, patient: { name: 'Hard^Push', id: 'P-PUSH2' } });
    const known = new Set((await tasks()).map((t) => t.id));
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    phantom.files.forEach((f, i) => up.attach('files', f, `h${i}.dcm`));
    await up.expect(202);
    const task = (await eventually(async () => (await tasks()).find((t) => !known.has(t.id) && t.state === 'ready'), 30_000)).id;
    const assign = (u: U) => sys.http().post(`/api/projects/${projectId}/tasks/assign`).set(bearer(pm)).send({ userId: u.id, taskIds: [task] }).expect(200);
    const reservedFor = async () => (await sys.db.dataSource.query(`SELECT assigned_to FROM task_reads WHERE task_id = $1 AND kind = 'annotation' AND assigned_to IS NOT NULL ORDER BY slot`, [task])).map((r: { assigned_to: string }) => r.assigned_to);
    expect((await assign(ann[0])).body.assigned).toEqual([task]);
    expect((await assign(ann[0])).body.skipped).toEqual([{ taskId: task, reason: 'a read of the task is already reserved for this person' }]);
    expect((await assign(ann[4])).body.skipped).toEqual([{ taskId: task, reason: 'this person lacks the skill(s) the task requires: body-ct' }]);
    await assign(ann[1]);
    await assign(ann[2]);
    expect(await reservedFor()).toEqual([ann[0].id, ann[1].id, ann[2].id]);
    // Every slot is reserved: the next assignment takes one over.
    expect((await assign(ann[3])).body.assigned).toEqual([task]);
    expect((await reservedFor()).sort()).toEqual([ann[1].id, ann[2].id, ann[3].id].sort());
    // ann[3] leaves the project: the slot reserved for them goes back to the pool.
    await sys.http().delete(`/api/projects/${projectId}/members/${ann[3].id}`).set(bearer(pm)).expect(204);
    expect((await reservedFor()).sort()).toEqual([ann[1].id, ann[2].id].sort());
    const [released] = await sys.db.dataSource.query(`SELECT details FROM audit_events WHERE action = 'read.released' AND details ->> 'taskId' = $1`, [task]);
    expect(released.details).toMatchObject({ reason: 'member removed from the project', member: ann[3].id });
    await sys.http().put(`/api/projects/${projectId}/members/${ann[3].id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    // Out of the way of the tests below.
    await sys.db.dataSource.query(`UPDATE task_reads SET state = 'closed' WHERE task_id = $1`, [task]);
  });

  it('the audit trail of one task reads back in order', async () => {
    const h = (await sys.http().get(`/api/projects/${projectId}/tasks/${taskA}/history`).set(bearer(pm)).expect(200)).body;
    expect(h.transitions.map((t: { event: string }) => t.event)).toEqual(['create', 'skip-prelabel', 'lease', 'reads-complete', 'agreement-reached', 'reject', 'rework-submitted', 'agreement-reached', 'approve']);
    expect(h.transitions.find((t: { event: string }) => t.event === 'reject')).toMatchObject({ actor: 'rev1', reason: 'Include the rim on the lower slice' });
    const actions = h.audit.map((a: { action: string }) => a.action);
    expect(actions.indexOf('task.created')).toBeLessThan(actions.indexOf('read.submitted'));
    expect(actions.filter((a: string) => a === 'read.submitted')).toHaveLength(6);
    // Each round's merged label and each reviewer's decision have their own lines (neither had one).
    expect(actions.filter((a: string) => a === 'label.merged.saved')).toHaveLength(2);
    expect(h.audit.filter((a: { action: string }) => a.action === 'review.decided').map((a: { details: { decision: string; round: number } }) => [a.details.decision, a.details.round])).toEqual([['rejected', 0], [expect.stringMatching(/^(approved|edited-approved)$/), 1]]);
    expect(h.task).toMatchObject({ rejectionCount: 1, reworkRound: 1 });
    const ids = h.audit.map((a: { id: string }) => Number(a.id));
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
  });

  it('managers see progress, time in state, agreement and per-annotator rejection rates', async () => {
    const s = (await sys.http().get(`/api/projects/${projectId}/stats`).set(bearer(pm)).expect(200)).body;
    expect(s.byState.find((x: { state: string }) => x.state === 'approved').n).toBe(1);
    expect(s.reviews).toEqual({ rejected: 1, reviews: 2 });
    expect(s.timeInState.map((x: { state: string }) => x.state)).toEqual(expect.arrayContaining(['ready', 'in_annotation', 'consensus', 'review', 'rework']));
    const a1 = s.annotators.find((a: { username: string }) => a.username === 'ann1');
    expect(a1.reads).toBeGreaterThanOrEqual(3);
    expect(a1.meanDiceVsConsensus).toBeGreaterThan(0.5);
    // Each of the three read task A in the round the reviewer rejected, and in no other rejected round.
    for (const name of ['ann1', 'ann2', 'ann3']) {
      const a = s.annotators.find((x: { username: string }) => x.username === name);
      expect(a).toMatchObject({ rejected: 1, rejectionRate: 1 / a.reads });
    }
    // Annotator against annotator: every pair of the three readers, pooled over the rounds they shared.
    const pairNames = s.agreement.pairs.dice.map((p: { a: { username: string }; b: { username: string } }) => [p.a.username, p.b.username].sort().join('+'));
    expect(pairNames).toEqual(expect.arrayContaining(['ann1+ann2', 'ann1+ann3', 'ann2+ann3']));
    for (const p of s.agreement.pairs.dice) {
      expect(p.comparisons).toBeGreaterThanOrEqual(1);
      expect(p.meanDice).toBeGreaterThan(0);
      expect(p.meanDice).toBeLessThanOrEqual(1);
    }
    // The same numbers as pooling every stored consensus result's metrics (the scores each result wrote beside it).
    const metrics: ConsensusMetrics[] = (await sys.db.dataSource.query(`SELECT metrics FROM consensus_results WHERE project_id = $1`, [projectId])).map((r: { metrics: ConsensusMetrics }) => r.metrics);
    expect(metrics.length).toBeGreaterThanOrEqual(2);
    const scores = metrics.flatMap((m) => readerScores(m));
    const expectedPairs = pairMeans(scores.filter((x) => x.kind === 'pair-dice').map((x) => ({ a: x.readerA!, b: x.readerB!, tasks: 1, sum: x.value })));
    expect(s.agreement.pairs.dice.map((p: { a: { userId: string }; b: { userId: string }; comparisons: number; meanDice: number }) => ({ a: p.a.userId, b: p.b.userId, tasks: p.comparisons, mean: p.meanDice }))).toEqual(
      expectedPairs.map((p) => ({ ...p, mean: expect.closeTo(p.mean, 12) })),
    );
    for (const a of s.annotators) {
      const mine = scores.filter((x) => x.kind === 'vs-merged' && x.readerA === a.userId).map((x) => x.value);
      if (mine.length) expect(a.meanDiceVsConsensus).toBeCloseTo(mine.reduce((x, y) => x + y, 0) / mine.length, 12);
      else expect(a.meanDiceVsConsensus).toBeNull();
    }
    await sys.http().get(`/api/projects/${projectId}/stats`).set(bearer(r1)).expect(403);
  });

  it('a manager\'s new priority moves the reads with the task: rework and adjudication slots keep their lead (they were flattened before)', async () => {
    const [study] = await sys.db.dataSource.query(`SELECT study_id, series_ids FROM tasks WHERE id = $1`, [taskA]);
    const [{ id: task }] = await sys.db.dataSource.query(
      `INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, priority, reads_required) VALUES ($1, $2, $3, 'series', 'priority-1', 'CT', 'rework', 10, 1) RETURNING id`,
      [projectId, study.study_id, study.series_ids],
    );
    await sys.db.dataSource.query(
      `INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at, priority) VALUES ($1, $2, 'annotation', 0, 'open', now(), 110), ($1, $2, 'adjudication', 0, 'open', now(), 60)`,
      [task, projectId],
    );
    await sys.http().patch(`/api/projects/${projectId}/tasks/${task}`).set(bearer(pm)).send({ priority: 25 }).expect(204);
    const reads = await sys.db.dataSource.query(`SELECT kind, priority FROM task_reads WHERE task_id = $1 ORDER BY kind`, [task]);
    expect(reads).toEqual([
      { kind: 'adjudication', priority: 75 },
      { kind: 'annotation', priority: 125 },
    ]);
    expect((await sys.db.dataSource.query(`SELECT priority FROM tasks WHERE id = $1`, [task]))[0].priority).toBe(25);
    await sys.db.dataSource.query(`UPDATE tasks SET state = 'cancelled' WHERE id = $1`, [task]);
    await sys.db.dataSource.query(`UPDATE task_reads SET state = 'closed' WHERE task_id = $1`, [task]);
  });

  it('tasks rise by the points they earned waiting (project routing settings): an old task overtakes a newer one of higher priority (age was ignored before)', async () => {
    const settings = { quality: { reads: 1 }, routing: { agePointsPerDay: 24, ageMaxPoints: 50 } };
    const aged = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'ageing', settings }).expect(201)).body.id as string;
    await sys.http().put(`/api/projects/${aged}/members/${ann[4].id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    const [study] = await sys.db.dataSource.query(`SELECT study_id, series_ids FROM tasks WHERE id = $1`, [taskA]);
    const add = async (key: string, priority: number, age: string) => {
      const [{ id }] = await sys.db.dataSource.query(
        `INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, priority, reads_required, created_at) VALUES ($1, $2, $3, 'series', $4, 'CT', 'ready', $5, 1, now() - $6::interval) RETURNING id`,
        [aged, study.study_id, study.series_ids, key, priority, age],
      );
      await sys.db.dataSource.query(`INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at, priority) VALUES ($1, $2, 'annotation', 0, 'open', now() - $4::interval, $3)`, [id, aged, priority, age]);
      return id as string;
    };
    const old = await add('aged-old', 0, '3 days');
    const recent = await add('aged-new', 30, '1 hour');
    const reads = async () => Object.fromEntries((await sys.db.dataSource.query(`SELECT task_id, priority, age_boost FROM task_reads WHERE project_id = $1`, [aged])).map((r: { task_id: string; priority: number; age_boost: number }) => [r.task_id, [r.priority, r.age_boost]]));
    const routing = sys.app.get(RoutingService);
    expect(await routing.agePriorities()).toBeGreaterThanOrEqual(2);
    // 72 hours at one point an hour, capped at 50; the newer task earned one point.
    expect(await reads()).toEqual({ [old]: [50, 50], [recent]: [31, 1] });
    // Idempotent: nothing moves until more time has passed.
    await routing.agePriorities();
    expect(await reads()).toEqual({ [old]: [50, 50], [recent]: [31, 1] });
    // A manager's priority moves the read and keeps its age points; a lower cap takes points back.
    await sys.http().patch(`/api/projects/${aged}/tasks/${old}`).set(bearer(pm)).send({ priority: -5 }).expect(204);
    expect((await reads())[old]).toEqual([45, 50]);
    await sys.http().patch(`/api/projects/${aged}`).set(bearer(pm)).send({ settings: { ...settings, routing: { agePointsPerDay: 24, ageMaxPoints: 10 } } }).expect(200);
    await routing.agePriorities();
    expect(await reads()).toEqual({ [old]: [5, 10], [recent]: [31, 1] });
    await sys.http().patch(`/api/projects/${aged}`).set(bearer(pm)).send({ settings }).expect(200);
    await routing.agePriorities();
    // The old task goes first although the manager ranked it lower, and the run is in the audit log.
    expect((await sys.http().post(`/api/projects/${aged}/tasks/next`).set(bearer(ann[4])).expect(200)).body.taskId).toBe(old);
    const audit = await sys.db.dataSource.query(`SELECT details FROM audit_events WHERE project_id = $1 AND action = 'routing.aged' ORDER BY id`, [aged]);
    expect(audit[0].details).toMatchObject({ reads: 2, agePointsPerDay: 24, ageMaxPoints: 50 });
    // The coordinator schedules the job (every 10 minutes) on the routing queue.
    const schedulers = await sys.app.get(JobQueue).queue(QueueName.Routing).getJobSchedulers();
    expect(schedulers.map((j) => j.name)).toContain(JobName.AgePriorities);
    await sys.http().patch(`/api/projects/${aged}`).set(bearer(pm)).send({ settings: { ...settings, routing: { agePointsPerDay: -1 } } }).expect(400);
    // A review slot opened for the old task carries its points at once (it waited for the next ageing run before).
    const ds = sys.app.get(DataSource);
    const task = await ds.getRepository(Task).findOneByOrFail({ id: old });
    await ds.transaction((m) => sys.app.get(ConsensusService).openSlot(m, task, 'review'));
    const [review] = await ds.query(`SELECT priority, age_boost FROM task_reads WHERE task_id = $1 AND kind = 'review'`, [old]);
    expect(review).toEqual({ priority: -5 + 50, age_boost: 50 });
  });

  it('200 annotators asking at once: no read handed out twice, none lost', async () => {
    // 40 tasks x 3 reads = 120 open reads for 200 concurrent requests.
    const ids: string[] = await sys.db.dataSource.query(
      `INSERT INTO users (username, display_name, password_hash, roles, skills) SELECT 'load' || g, 'load' || g, 'x', '{annotator}', '{body-ct}' FROM generate_series(1, 200) g RETURNING id`,
    ).then((rows: { id: string }[]) => rows.map((r) => r.id));
    await sys.db.dataSource.query(`INSERT INTO project_members (project_id, user_id, roles) SELECT $1, unnest($2::uuid[]), '{annotator}'`, [projectId, ids]);
    const [study] = await sys.db.dataSource.query(`SELECT study_id FROM tasks WHERE id = $1`, [taskA]);
    const [series] = await sys.db.dataSource.query(`SELECT series_ids FROM tasks WHERE id = $1`, [taskA]);
    await sys.db.dataSource.query(
      `WITH t AS (INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, required_skills, reads_required)
                  SELECT $1, $2, $3, 'series', 'load-' || g, 'CT', 'ready', '{body-ct}', 3 FROM generate_series(1, 40) g RETURNING id, created_at)
       INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at, required_skills, priority)
       SELECT t.id, $1, 'annotation', s, 'open', t.created_at, '{body-ct}', 1000 FROM t, generate_series(0, 2) s`,
      [projectId, study.study_id, series.series_ids],
    );
    const routing = sys.app.get(RoutingService);
    const results = await Promise.all(ids.map((id, i) => routing.next(projectId, { id, name: `load${i + 1}` }, 'annotation')));
    const loadTasks = new Set((await sys.db.dataSource.query(`SELECT id FROM tasks WHERE split_key LIKE 'load-%'`)).map((r: { id: string }) => r.id));
    const got = results.filter((r) => r !== null);
    // Every open read of the load tasks was handed out, each exactly once (a few requests took reads left
    // open by the earlier tests).
    expect(got.filter((r) => loadTasks.has(r!.taskId))).toHaveLength(120);
    expect(new Set(got.map((r) => r!.readId)).size).toBe(got.length);
    const [{ dup }] = await sys.db.dataSource.query(`SELECT count(*)::int AS dup FROM (SELECT task_id, annotator_id FROM task_reads WHERE annotator_id IS NOT NULL AND kind = 'annotation' GROUP BY 1, 2 HAVING count(*) > 1) d`);
    expect(dup).toBe(0);
    const [{ open }] = await sys.db.dataSource.query(`SELECT count(*)::int AS open FROM task_reads r JOIN tasks t ON t.id = r.task_id WHERE t.split_key LIKE 'load-%' AND r.state = 'open'`);
    expect(open).toBe(0);
  });

  it('the claim walks the routing index from the top instead of sorting every open read', async () => {
    // Regression: the old index led with kind and stored priority ascending, so every "next" sorted all open
    // reads of the project (60 ms each with 20,000 of them; the routing benchmark ran at 34 ops/s).
    const [study] = await sys.db.dataSource.query(`SELECT study_id, series_ids FROM tasks WHERE id = $1`, [taskA]);
    await sys.db.dataSource.query(
      `WITH t AS (INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, reads_required)
                  SELECT $1, $2, $3, 'series', 'plan-' || g, 'CT', 'ready', 1 FROM generate_series(1, 5000) g RETURNING id, created_at)
       INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at, priority)
       SELECT t.id, $1, 'annotation', 0, 'open', t.created_at, (random() * 10)::int FROM t`,
      [projectId, study.study_id, study.series_ids],
    );
    await sys.db.dataSource.query('ANALYZE task_reads');
    const params = [projectId, ['annotation'], ann[0].id, ['body-ct'], 600, ['ready', 'in_annotation', 'rework', 'review', 'adjudication'], 'ann1', null, 'ready', 'in_annotation', 'lease'];
    const plan = (await sys.db.dataSource.query(`EXPLAIN ${CLAIM_SQL.annotation}`, params)).map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
    // The caller's few assigned slots through their own index; the pool through the claim index, unsorted.
    expect(plan).toContain('task_reads_assigned');
    const pool = plan.slice(plan.indexOf('CTE pool'), plan.indexOf('CTE claimed'));
    expect(pool).toContain('task_reads_claim');
    expect(pool).not.toMatch(/\bSort\b/);
    // Regression: the search for the caller's own lapsed reads matched the claim index's predicate and order, and
    // the generic plan of the prepared statement (what the coordinator runs) walked every open slot of the project
    // through it to find none: 30 ms per "next" with 50,000 open slots (the routing benchmark fell from 623 to 215 ops/s).
    const runner = sys.db.dataSource.createQueryRunner();
    try {
      // Its guess, which stale statistics make (no lapsed reads seen yet), is played here by making sorts dear: the
      // claim index must be out of reach of this search whatever the planner believes.
      await runner.query('SET plan_cache_mode = force_generic_plan');
      await runner.query('SET enable_sort = off');
      await runner.query(`PREPARE claim_plan AS ${CLAIM_SQL.annotation}`);
      const literal = (v: unknown): string => (v === null ? 'NULL' : Array.isArray(v) ? `ARRAY[${v.map(literal).join(', ')}]` : typeof v === 'number' ? String(v) : `'${v}'`);
      const generic = (await runner.query(`EXPLAIN EXECUTE claim_plan(${params.map(literal).join(', ')})`)).map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
      const lapsed = generic.slice(generic.indexOf('CTE lapsed'), generic.indexOf('CTE pool'));
      expect(lapsed).toContain('task_reads_lapsed');
      expect(lapsed).not.toContain('task_reads_claim');
    } finally {
      await runner.query('DEALLOCATE ALL; RESET enable_sort; RESET plan_cache_mode');
      await runner.release();
    }
    await sys.db.dataSource.query(`DELETE FROM tasks WHERE split_key LIKE 'plan-%'`);
  });
});
