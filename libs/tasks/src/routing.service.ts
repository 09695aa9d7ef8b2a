// Pull routing and the read life cycle: an annotator (or reviewer) asks for the next unit of work and gets
// exactly one lease, claimed with FOR UPDATE SKIP LOCKED so hundreds of people asking at once never receive
// the same read and never wait on each other. Leases expire unless the client heartbeats; expired reads go
// back to the pool (see expireLeases).
import { BadRequestException, ConflictException, ForbiddenException, Inject, Injectable, NotFoundException, PreconditionFailedException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { DataSource, EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Actor, auditActor, AuditEntry, auditRows, AuditService, systemActor } from '@contour/audit';
import { entityOf, LabelVersion, preparedQuery, Project, ProjectMember, Task, TaskRead, User } from '@contour/db';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { ageBoostSql, encodeLabelMap, LABELMAP_ENCODING, labelCounts, parseProjectSettings, SHAPES_KEY, TaskEvent, TaskState, transition, TransitionError, unknownLabels } from '@contour/workflow';
import { TaskLifecycle } from './task-lifecycle.service';
import { TaskGrid } from './task-grid.service';
import { TASK_VIEW_COLUMNS, TaskViewRows } from './task-view';
import { ConsensusService } from './consensus.service';

export type WorkKind = 'annotation' | 'review' | 'adjudication';

/** TypeORM answers UPDATE/DELETE ... RETURNING with [rows, count] and INSERT/SELECT with rows: normalise. */
export function returned<T = Record<string, unknown>>(result: unknown): T[] {
  return (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number' ? result[0] : result) as T[];
}

export interface LeasedRead {
  readId: string;
  taskId: string;
  kind: WorkKind;
  round: number;
  leaseExpiresAt: Date;
  reworkComment: string | null;
}

export interface Submission {
  /** Deflated label map on the task's grid (base64 in the API). */
  mask?: Buffer;
  answers?: Record<string, unknown>;
  idempotencyKey?: string;
}


const DEFAULT_LEASE_SECONDS = parseProjectSettings({}).quality.leaseSeconds;

/** Task states in which open read slots may be leased. */
export const LEASABLE_STATES: TaskState[] = [TaskState.Ready, TaskState.InAnnotation, TaskState.Rework, TaskState.Review, TaskState.Adjudication];

interface ClaimedRow extends Partial<Omit<TaskViewRows, 'task'>> {
  id: string;
  task_id: string;
  kind: WorkKind;
  round: number;
  lease_expires_at: Date;
  rework_comment: string | null;
  /** The task as the claim found it (before its move to in_annotation, which the claim may have made). */
  task: Record<string, unknown>;
  /** The leased read as the claim left it. */
  read: Record<string, unknown>;
}

function leasedRead(r: ClaimedRow): LeasedRead {
  return { readId: r.id, taskId: r.task_id, kind: r.kind, round: r.round, leaseExpiresAt: r.lease_expires_at, reworkComment: r.rework_comment };
}

/** Eligibility of an open slot $1 project, $2 kinds, $3 caller, $4 caller's skills, $6 leasable task states: nobody
 * reads a task twice (a read of theirs whose lease lapsed, still open, counts: they get that one back, never a second
 * one beside it), adjudicates a task they read, or reviews a task they read or adjudicated; nobody is offered again
 * work of a task they gave back (released); a task held for a privacy review is offered to nobody. The task test is a scalar subquery, a filter per slot walked: as EXISTS the
 * planner may turn it into a join driven from tasks and sort every open slot (the plan test in workflow.int-spec). */
const ELIGIBLE = `r.project_id = $1 AND r.state = 'open' AND r.kind = ANY($2)
      AND r.required_skills <@ $4::text[]
      AND (SELECT tk.state = ANY($6) AND NOT tk.privacy_held FROM tasks tk WHERE tk.id = r.task_id)
      AND NOT ($3 = ANY(r.declined_by))
      AND (r.kind <> 'annotation' OR NOT EXISTS (SELECT 1 FROM task_reads o WHERE o.task_id = r.task_id AND o.kind = 'annotation' AND o.id <> r.id
                                                  AND (o.annotator_id = $3 OR (o.previous_annotator_id = $3 AND o.state = 'open') OR $3 = ANY(o.declined_by))))
      AND (r.kind = 'annotation' OR NOT EXISTS (SELECT 1 FROM label_versions lv WHERE lv.task_id = r.task_id AND lv.author_id = $3 AND (lv.kind = 'read' OR (r.kind = 'review' AND lv.kind = 'adjudicated'))))`;
/**
 * A submission in one round trip (the function of migration 1795770000000): locks the read and its task, checks they
 * are as the caller saw them (NULL when not), inserts the label version ($3, checked and given its id by
 * prepareLabel), submits the read with its audit lines and, when it was the task's last pending annotation read,
 * moves the task ($16 -> $17 by event $18) with its transition row and audit line. Answers the pending count.
 */
const SUBMIT_SQL = `SELECT contour_submit_read($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14::jsonb, $15, $16, $17, $18) AS pending`;

interface SubmitResult {
  versionId: string;
  taskState: string;
  taskId: string;
  round: number;
  complete: boolean;
}

const ROUTING_ORDER = 'ORDER BY r.priority DESC, r.task_created_at, r.slot LIMIT 1 FOR UPDATE SKIP LOCKED';

/**
 * The pool each kind of claim walks, as a literal that the planner matches with that pool's partial index
 * (task_reads_claim for annotation, task_reads_claim_review for reviews and adjudications), of the slots whose task
 * takes work (`offered`, kept by the database): a reviewer asking while no review waited walked every open annotation
 * slot of the project (110 ms with 85,000), and every annotator's "next" the slots of tasks still being pre-labelled
 * (420 ms with 35,000 such tasks when nothing else was left).
 */
const POOL = { annotation: `r.offered AND r.kind = 'annotation'`, review: `r.offered AND r.kind <> 'annotation'` } as const;
type Pool = keyof typeof POOL;

/**
 * The whole lease in one statement (no transaction round trips): the caller's push-assigned slot if any
 * (small index), or their own read whose lease lapsed while nobody took it (their draft is on it), else the first eligible slot of the shared pool that nobody else has locked, walking the
 * claim index of its pool (POOL) in routing order instead of sorting every open slot. The first annotation lease of a
 * ready task moves it to in_annotation with its transition row; the audit lines are written alongside.
 * Parameters: $1 project, $2 kinds, $3 caller, $4 skills, $5 default lease seconds (project settings are
 * validated when written, so the stored value is an integer when present), $6 leasable task states,
 * $7 actor name, $8 actor ip, $9 ready, $10 in annotation, $11 the lease event.
 * The lapsed search says "not assigned to anyone else" (a slot assigned to the caller is theirs in `mine`, which
 * runs first) rather than "not assigned": the claim index is partial on the latter, and when the planner took it for
 * this search (its order matches, and a generic plan guesses that a caller has lapsed reads) it walked every open
 * slot of the project to find none, 30 ms with 50,000 of them, on every request. Now only the caller's own lapsed
 * slots, through task_reads_lapsed, can answer it.
 */
const claimCtes = (pool: Pool) => `WITH mine AS (
   SELECT r.id FROM task_reads r WHERE ${ELIGIBLE} AND r.assigned_to = $3 ${ROUTING_ORDER}),
 lapsed AS (
   SELECT r.id FROM task_reads r WHERE ${ELIGIBLE} AND r.previous_annotator_id = $3 AND (r.assigned_to IS NULL OR r.assigned_to = $3) AND NOT EXISTS (SELECT 1 FROM mine) ${ROUTING_ORDER}),
 pool AS (
   SELECT r.id FROM task_reads r WHERE ${ELIGIBLE} AND ${POOL[pool]} AND r.assigned_to IS NULL AND NOT EXISTS (SELECT 1 FROM mine) AND NOT EXISTS (SELECT 1 FROM lapsed) ${ROUTING_ORDER}),
 claimed AS (
   UPDATE task_reads t SET state = 'leased', annotator_id = $3, previous_annotator_id = NULL, leased_at = now(),
          lease_expires_at = now() + make_interval(secs => COALESCE((SELECT (p.settings #>> '{quality,leaseSeconds}')::int FROM projects p WHERE p.id = $1), $5))
     FROM (SELECT id FROM mine UNION ALL SELECT id FROM lapsed UNION ALL SELECT id FROM pool) c WHERE t.id = c.id
   RETURNING t.id, t.task_id, t.kind, t.round, t.lease_expires_at, t.rework_comment, (SELECT row_to_json(tk) FROM tasks tk WHERE tk.id = t.task_id) AS task, row_to_json(t) AS read),
 moved AS (
   UPDATE tasks tk SET state = $10, state_changed_at = now() FROM claimed c
    WHERE tk.id = c.task_id AND c.kind = 'annotation' AND tk.state = $9 RETURNING tk.id),
 transition AS (
   INSERT INTO task_transitions (task_id, project_id, from_state, to_state, event, actor_id, actor_name) SELECT id, $1, $9, $10, $11, $3, $7 FROM moved),
 audit AS (
   INSERT INTO audit_events (actor_id, actor_name, ip, action, object_type, object_id, project_id, details)
   SELECT $3, $7, $8, 'task.' || $11, 'task', id::text, $1, jsonb_build_object('from', $9::text, 'to', $10::text) FROM moved
   UNION ALL
   SELECT $3, $7, $8, 'read.leased', 'task_read', c.id::text, $1, jsonb_build_object('taskId', c.task_id, 'kind', c.kind, 'round', c.round) FROM claimed c)`;
export const CLAIM_SQL = { annotation: `${claimCtes('annotation')} SELECT * FROM claimed`, review: `${claimCtes('review')} SELECT * FROM claimed` };
/**
 * The claim answering the task view's rows too (TASK_VIEW_COLUMNS), as the statement's snapshot saw them: before the
 * claim, which nextWithView then applies to them.
 */
const claimViewSql = (pool: Pool) => `${claimCtes(pool)} SELECT c.*, ${TASK_VIEW_COLUMNS} FROM claimed c JOIN tasks t ON t.id = c.task_id`;
const CLAIM_VIEW_SQL = { annotation: claimViewSql('annotation'), review: claimViewSql('review') };

/**
 * Locks a task's reads (in id order), to be done before locking the task row: every lease change (claim, release,
 * heartbeat, submission, expiry) locks its read before its task, and the other order would deadlock with it. A task
 * changing state changes its open reads too (their `offered`, by trigger), so whatever moves a task that may have
 * open reads takes them first.
 */
export async function lockTaskReads(m: EntityManager, taskId: string): Promise<void> {
  await m.query(`SELECT 1 FROM task_reads WHERE task_id = $1 ORDER BY id FOR UPDATE`, [taskId]);
}

/** The lease expiry sweep: every lapsed lease back to the pool, found through task_reads_leased. */
export const EXPIRE_LEASES_SQL = `UPDATE task_reads SET state = 'open', previous_annotator_id = annotator_id, annotator_id = NULL, lease_expires_at = NULL
  WHERE id IN (SELECT id FROM task_reads WHERE state = 'leased' AND lease_expires_at < now() FOR UPDATE SKIP LOCKED)
  RETURNING id, task_id, project_id, previous_annotator_id, kind`;

/**
 * SQL: user `user` may annotate in project `project` (SQL expressions): an active account, and an admin or a member
 * with the project's annotator role (what the next-task and submit endpoints require).
 */
export const CAN_ANNOTATE = (user: string, project: string) =>
  `EXISTS (SELECT 1 FROM users u WHERE u.id = ${user} AND u.active AND ('admin' = ANY(u.roles) OR EXISTS (SELECT 1 FROM project_members pm WHERE pm.project_id = ${project} AND pm.user_id = u.id AND 'annotator' = ANY(pm.roles))))`;

/** At most this many leases remembered for their submission (a few per active annotator in practice). */
const REMEMBERED_LEASES = 10_000;

/** What the caller had to do with a read that is not theirs now, from the audit trail (RoutingService.pastHold). */
export interface PastHold {
  /** Their lease on it lapsed (and someone else may have it now). */
  lapsed: boolean;
  /** A manager's assignment took it from them. */
  reassigned: boolean;
}

/**
 * Why the caller may not act on a read (an annotation read, a review or an adjudication) that is not theirs now: a
 * 409 saying what happened when they held it (the task was cancelled, a manager gave it to someone else, their lease
 * lapsed and it went to someone else), else a 403 (it never was theirs).
 */
export function refuseRead(read: TaskRead, userId: string, what: 'read' | 'review' | 'adjudication', past: PastHold): never {
  if (read.state === 'closed' && (read.annotatorId === userId || read.previousAnnotatorId === userId)) {
    throw new ConflictException(`The task was cancelled by a manager; your ${what} is no longer needed`);
  }
  if (past.reassigned) throw new ConflictException(`A manager gave this ${what} to someone else; your changes could not be saved. Ask for the next task.`);
  if (read.previousAnnotatorId === userId || past.lapsed) {
    throw new ConflictException(`Your lease on this ${what} expired and the ${what} was given to someone else; your changes could not be saved. Ask for the next task.`);
  }
  throw new ForbiddenException(`This ${what} is not leased to you`);
}

/** Work on a task held for a privacy review is refused, with the reason (see TaskSplitter.refreshPrivacyHolds). */
function refuseIfPrivacyHeld(task: Task) {
  if (task.privacyHeld) throw new ConflictException('An image of this task is held for a privacy review (burned-in text); the task takes no work until a manager has cleared it. Ask for the next task.');
}

@Injectable()
export class RoutingService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly lifecycle: TaskLifecycle,
    private readonly audit: AuditService,
    private readonly grids: TaskGrid,
    private readonly consensus: ConsensusService,
  ) {}

  /**
   * The annotation leases this coordinator handed out, with their task, so that their submission can skip reading
   * them again: what a submission uses of a task never changes (protocol version, grid) except its state and round,
   * which the submission function checks under its lock. Taken once; a miss (another coordinator, a restart) reads.
   */
  private readonly remembered = new Map<string, { userId: string; read: TaskRead; until: number }>();

  private async leaseSeconds(projectId: string): Promise<number> {
    const project = await this.dataSource.getRepository(Project).findOneByOrFail({ id: projectId });
    return parseProjectSettings(project.settings).quality.leaseSeconds;
  }

  /** The caller's skills: their own, plus those their membership of this project adds. */
  private async skills(projectId: string, userId: string): Promise<string[]> {
    const rows: { skills: string[] }[] = await this.dataSource.query(
      `SELECT array_cat(u.skills, COALESCE(m.skills, '{}')) AS skills FROM users u LEFT JOIN project_members m ON m.user_id = u.id AND m.project_id = $1 WHERE u.id = $2`,
      [projectId, userId],
    );
    return rows[0]?.skills ?? [];
  }

  /**
   * Leases the next read for the caller (only of a task whose state takes reads: a task still being
   * pre-labelled, or cancelled, waits however its slots look): their own assigned/rework reads first, then by priority and age.
   * Eligibility: skills cover the task's, no earlier read of this task by the same person, and for reviews
   * and adjudications, not a task the caller annotated. Returns null when nothing is available.
   */
  async next(projectId: string, actor: Actor, kind: WorkKind, skills?: string[]): Promise<LeasedRead | null> {
    const r = await this.claim(projectId, actor, kind, skills, false);
    return r && leasedRead(r);
  }

  /**
   * next(), with the rows of the leased task's view (TaskQueries.taskView) read by the same statement: one round trip
   * for what an annotator's "next task" answers. The rows are as they are after the claim.
   */
  async nextWithView(projectId: string, actor: Actor, kind: WorkKind, skills?: string[]): Promise<{ lease: LeasedRead; view: TaskViewRows } | null> {
    const r = await this.claim(projectId, actor, kind, skills, true);
    if (!r) return null;
    // The statement saw the task and its reads before its own changes: the leased read as the claim left it, and the
    // task moved to in_annotation by its first annotation lease.
    const task = r.kind === 'annotation' && r.task.state === TaskState.Ready ? { ...r.task, state: TaskState.InAnnotation } : r.task;
    const reads = r.reads!.map((read) => (read.id === r.id ? r.read : read));
    return { lease: leasedRead(r), view: { task, study_uid: r.study_uid!, protocol: r.protocol!, reads, versions: r.versions!, series: r.series!, views: r.views ?? null, consensus: r.consensus!, reviews: r.reviews! } };
  }

  private async claim(projectId: string, actor: Actor, kind: WorkKind, skills: string[] | undefined, withView: boolean): Promise<ClaimedRow | null> {
    const userId = actor.id!;
    const pool: Pool = kind === 'annotation' ? 'annotation' : 'review';
    const kinds = pool === 'annotation' ? ['annotation'] : ['review', 'adjudication'];
    const [name, sql] = withView ? [`routing-claim-view-${pool}`, CLAIM_VIEW_SQL[pool]] : [`routing-claim-${pool}`, CLAIM_SQL[pool]];
    const params = [
      projectId,
      kinds,
      userId,
      skills ?? (await this.skills(projectId, userId)),
      DEFAULT_LEASE_SECONDS,
      LEASABLE_STATES,
      actor.name,
      actor.ip ?? null,
      TaskState.Ready,
      TaskState.InAnnotation,
      TaskEvent.Lease,
    ];
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const rows = await preparedQuery<ClaimedRow>(this.dataSource, name, sql, params);
        if (!rows.length) return null;
        if (rows[0].kind === 'annotation') this.remember(rows[0], userId);
        return rows[0];
      } catch (e) {
        // Two concurrent requests of one person raced for the same task: the unique index refused the second.
        if ((e as { code?: string }).code === '23505' && attempt < 2) continue;
        throw e;
      }
    }
    return null;
  }

  private remember(r: ClaimedRow, userId: string) {
    const task = entityOf<Task>(r.task);
    if (task.state === TaskState.Ready) task.state = TaskState.InAnnotation;
    const read = { id: r.id, taskId: r.task_id, projectId: task.projectId, kind: r.kind, round: r.round, state: 'leased', annotatorId: userId, leaseExpiresAt: r.lease_expires_at, task } as TaskRead;
    // Oldest first (leases of a project last about as long): the lapsed ones, then beyond the cap, are forgotten.
    const now = Date.now();
    for (const [id, entry] of this.remembered) {
      if (entry.until > now && this.remembered.size < REMEMBERED_LEASES) break;
      this.remembered.delete(id);
    }
    this.remembered.set(r.id, { userId, read, until: new Date(r.lease_expires_at).getTime() });
  }

  /** A lease remembered by next() for this caller, still within its time; forgotten either way. */
  private recall(readId: string, userId: string, projectId: string): TaskRead | null {
    const entry = this.remembered.get(readId);
    if (!entry) return null;
    this.remembered.delete(readId);
    return entry.userId === userId && entry.read.projectId === projectId && entry.until > Date.now() ? entry.read : null;
  }

  private async recordTransition(m: EntityManager, taskId: string, projectId: string, from: TaskState, to: TaskState, event: TaskEvent, actor: Actor) {
    await m.query(`INSERT INTO task_transitions (task_id, project_id, from_state, to_state, event, actor_id, actor_name) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [taskId, projectId, from, to, event, actor.id, actor.name]);
    await this.audit.record(actor, { action: `task.${event}`, objectType: 'task', objectId: taskId, projectId, details: { from, to } }, m);
  }

  /** The caller's read, leased and not expired; a clear 409 otherwise. */
  private async ownLease(m: EntityManager, projectId: string, readId: string, userId: string, lock = true, withTask = false): Promise<TaskRead> {
    const qb = m.getRepository(TaskRead).createQueryBuilder('r').where('r.id = :readId AND r.project_id = :projectId', { readId, projectId });
    // With the task joined, FOR UPDATE locks the task row too (what a submission needs), in the same statement.
    if (withTask) qb.innerJoinAndSelect('r.task', 't');
    if (lock) qb.setLock('pessimistic_write');
    return this.checkLease(m, await qb.getOne(), readId, userId);
  }

  /** The read and its task without a lock, as one prepared statement (the start of every submission). */
  private async leaseWithTask(projectId: string, readId: string, userId: string): Promise<TaskRead> {
    const [row] = await preparedQuery<{ read: Record<string, unknown>; task: Record<string, unknown> }>(
      this.dataSource,
      'routing-read-task',
      `SELECT row_to_json(r) AS read, row_to_json(t) AS task FROM task_reads r JOIN tasks t ON t.id = r.task_id WHERE r.id = $1 AND r.project_id = $2`,
      [readId, projectId],
    );
    return this.checkLease(this.dataSource.manager, row ? { ...entityOf<TaskRead>(row.read), task: entityOf<Task>(row.task) } : null, readId, userId);
  }

  private async checkLease(m: EntityManager, read: TaskRead | null, readId: string, userId: string): Promise<TaskRead> {
    if (!read) throw new NotFoundException(`No read ${readId} in this project`);
    if (read.state === 'leased' && read.annotatorId === userId) return read;
    if (read.state === 'submitted' && read.annotatorId === userId) throw new ConflictException('This read is already submitted');
    if (read.state === 'open' && read.previousAnnotatorId === userId) {
      // The lease lapsed but nobody else took the read: the work is still welcome.
      return read;
    }
    return this.refuse(m, read, userId, 'read');
  }

  /**
   * Refuses the caller a read that is not theirs now, with what happened to it (refuseRead). What they had to do with
   * it comes from the audit trail, through `m` (the caller's transaction may hold the read locked: a second pooled
   * connection per refusal could starve the pool), and only when the read itself does not tell.
   */
  async refuse(m: EntityManager, read: TaskRead, userId: string, what: 'read' | 'review' | 'adjudication'): Promise<never> {
    const told = (read.state === 'closed' && (read.annotatorId === userId || read.previousAnnotatorId === userId)) || read.previousAnnotatorId === userId;
    return refuseRead(read, userId, what, told ? { lapsed: false, reassigned: false } : await this.pastHold(m, read, userId));
  }

  /**
   * Whether the caller held this read before and lost it, from the audit trail (through the audit table's object
   * index): their lease lapsed (or was withdrawn for a privacy hold), or a manager's assignment took it from them.
   */
  private async pastHold(m: EntityManager, read: Pick<TaskRead, 'id' | 'taskId'>, userId: string): Promise<PastHold> {
    const [row] = await m.query(
      `SELECT COALESCE(bool_or(action <> 'task.reassigned'), false) AS lapsed, COALESCE(bool_or(action = 'task.reassigned'), false) AS reassigned FROM audit_events
        WHERE (object_type = 'task_read' AND object_id = $1 AND ((action = 'read.lease-expired' AND details ->> 'previousHolder' = $3) OR (action = 'read.withdrawn' AND details ->> 'holder' = $3)))
           OR (object_type = 'task' AND object_id = $2 AND action = 'task.reassigned' AND details ->> 'readId' = $1 AND details ->> 'from' = $3)`,
      [read.id, read.taskId, userId],
    );
    return { lapsed: row.lapsed, reassigned: row.reassigned };
  }

  async heartbeat(projectId: string, readId: string, actor: Actor): Promise<{ leaseExpiresAt: Date }> {
    const lease = await this.leaseSeconds(projectId);
    return this.dataSource.transaction(async (m) => {
      const read = await this.ownLease(m, projectId, readId, actor.id!, true, true);
      refuseIfPrivacyHeld(read.task!);
      const rows = returned<{ lease_expires_at: Date }>(
        await m.query(`UPDATE task_reads SET state = 'leased', annotator_id = $2, previous_annotator_id = NULL, lease_expires_at = now() + make_interval(secs => $3) WHERE id = $1 RETURNING lease_expires_at`, [read.id, actor.id, lease]),
      );
      // A task that went back to "ready" (its last lease lapsed, or another read's lapse or release raced this read's
      // claim) is being annotated again, or the renewed read could not be submitted.
      if (read.kind === 'annotation' && read.task!.state === TaskState.Ready) await this.lifecycle.apply(m, read.taskId, TaskEvent.Lease, actor, read.state === 'open' ? 'lease renewed after it lapsed' : 'heartbeat of a lease the task went back to ready under', {}, read.task!);
      if (read.state === 'open') {
        // The lease had lapsed (a laptop asleep) and nobody took the read: it is the caller's again.
        await this.audit.record(actor, { action: 'read.lease-renewed', objectType: 'task_read', objectId: read.id, projectId, details: { taskId: read.taskId, kind: read.kind, afterLapse: true } }, m);
      }
      return { leaseExpiresAt: rows[0].lease_expires_at };
    });
  }

  /**
   * Gives the read back to the pool without submitting (a case the caller cannot or should not read): it goes to
   * others, and the caller is not offered work of this task again unless a manager assigns it to them. A read
   * reserved for the caller (a manager's assignment, their rework) loses its reservation.
   */
  async release(projectId: string, readId: string, actor: Actor): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const read = await this.ownLease(m, projectId, readId, actor.id!);
      await m.query(
        `UPDATE task_reads SET state = 'open', annotator_id = NULL, previous_annotator_id = NULL, assigned_to = NULL, lease_expires_at = NULL, leased_at = NULL,
                declined_by = CASE WHEN $2 = ANY(declined_by) THEN declined_by ELSE array_append(declined_by, $2) END WHERE id = $1`,
        [read.id, actor.id],
      );
      await this.audit.record(actor, { action: 'read.released', objectType: 'task_read', objectId: read.id, projectId, details: { taskId: read.taskId, ...(read.assignedTo ? { reservationGivenUp: true } : {}) } }, m);
      await this.maybeBackToReady(m, read.taskId, projectId, actor);
    });
  }

  /** When no annotation read of the task is leased or submitted any more, the task waits in "ready" again. */
  private async maybeBackToReady(m: EntityManager, taskId: string, projectId: string, actor: Actor) {
    const busy = await m.query(`SELECT 1 FROM task_reads WHERE task_id = $1 AND kind = 'annotation' AND state IN ('leased', 'submitted') LIMIT 1`, [taskId]);
    if (busy.length) return;
    const moved = await m.query(`UPDATE tasks SET state = $2, state_changed_at = now() WHERE id = $1 AND state = $3 RETURNING id`, [taskId, TaskState.Ready, TaskState.InAnnotation]);
    if (moved[1] ?? moved.length) await this.recordTransition(m, taskId, projectId, TaskState.InAnnotation, TaskState.Ready, TaskEvent.AllLeasesLapsed, actor);
  }

  /** Expired leases go back to the pool; the previous holder may still submit until someone else takes the read. */
  async expireLeases(): Promise<number> {
    const actor = systemActor('lease-expiry');
    return this.dataSource.transaction(async (m) => {
      const rows: { id: string; task_id: string; project_id: string; previous_annotator_id: string; kind: string }[] = await m.query(EXPIRE_LEASES_SQL);
      const list = returned<(typeof rows)[number]>(rows);
      if (!list.length) return 0;
      await this.audit.recordMany(actor, list.map((r) => ({ action: 'read.lease-expired', objectType: 'task_read', objectId: r.id, projectId: r.project_id, details: { taskId: r.task_id, previousHolder: r.previous_annotator_id, kind: r.kind } })), m);
      for (const taskId of new Set(list.filter((r) => r.kind === 'annotation').map((r) => r.task_id))) {
        await this.maybeBackToReady(m, taskId, list.find((r) => r.task_id === taskId)!.project_id, actor);
      }
      return list.length;
    });
  }

  /**
   * Routing by age: every open or leased read's priority carries the points its task earned by waiting (project
   * routing settings, `ageBoost`), recomputed on a schedule. Only reads whose points changed are written, in
   * batches that skip rows someone holds locked (a claim or a submission in flight): those catch up next run.
   * Returns how many reads moved.
   */
  async agePriorities(batch = 2000): Promise<number> {
    const projects: { id: string; settings: unknown }[] = await this.dataSource.query(
      `SELECT p.id, p.settings FROM projects p WHERE EXISTS (SELECT 1 FROM task_reads r WHERE r.project_id = p.id AND r.state IN ('open', 'leased'))`,
    );
    let total = 0;
    for (const project of projects) {
      const { agePointsPerDay, ageMaxPoints } = parseProjectSettings(project.settings).routing;
      let moved = 0;
      for (;;) {
        const rows = returned<{ id: string }>(
          await this.dataSource.query(
            `WITH due AS (
               SELECT id, ${ageBoostSql('task_created_at', 2, 3)} AS boost
                 FROM task_reads WHERE project_id = $1 AND state IN ('open', 'leased') AND age_boost <> ${ageBoostSql('task_created_at', 2, 3)}
                LIMIT $4 FOR UPDATE SKIP LOCKED)
             UPDATE task_reads r SET priority = r.priority - r.age_boost + d.boost, age_boost = d.boost FROM due d WHERE r.id = d.id RETURNING r.id`,
            [project.id, agePointsPerDay, ageMaxPoints, batch],
          ),
        );
        moved += rows.length;
        if (rows.length < batch) break;
      }
      if (moved) await this.audit.record(systemActor('ageing'), { action: 'routing.aged', objectType: 'project', objectId: project.id, projectId: project.id, details: { reads: moved, agePointsPerDay, ageMaxPoints } });
      total += moved;
    }
    return total;
  }

  /**
   * A label version checked against the task's grid and protocol (its mask stored in the blob store), with its
   * id chosen here: ready to insert, and the audit line that goes with it.
   */
  private async prepareLabel(m: EntityManager, task: Task, read: TaskRead | null, kind: string, actor: Actor, submission: Submission): Promise<{ version: LabelVersion; audit: AuditEntry }> {
    let blobKey: string | null = null;
    let grid: Record<string, unknown> | null = null;
    let stats: Record<string, unknown> = {};
    if (submission.mask) {
      const { map, grid: taskGrid, allowedLabels } = await this.grids.decodeForTask(task, submission.mask, m);
      const voxels = labelCounts(map);
      const unknown = unknownLabels(voxels, allowedLabels);
      if (unknown.length) throw new BadRequestException(`The mask uses label value(s) ${unknown.join(', ')} that the protocol does not define (defined: ${allowedLabels.join(', ') || 'none'})`);
      blobKey = (await this.blobs.put(encodeLabelMap(map))).key;
      grid = taskGrid as unknown as Record<string, unknown>;
      stats = { voxels };
    } else if (!submission.answers || Object.keys(submission.answers).length === 0) {
      throw new BadRequestException('A submission needs a mask, answers, or both');
    }
    // A read or an adjudication is final: every required question of the protocol must be answered.
    const complete = kind === 'read' || kind === 'adjudicated';
    const answers = (await this.grids.checkAnswers(task, submission.answers, { complete, m })) ?? {};
    if (answers[SHAPES_KEY]) stats = { ...stats, shapes: (answers[SHAPES_KEY] as unknown[]).length };
    const version = m.create(LabelVersion, {
      id: randomUUID(),
      taskId: task.id,
      projectId: task.projectId,
      kind,
      readId: read?.id ?? null,
      authorId: actor.id,
      model: null,
      round: read?.round ?? task.reworkRound,
      protocolVersion: task.protocolVersion,
      blobKey,
      encoding: LABELMAP_ENCODING,
      grid,
      answers,
      stats,
      segBlobKey: null,
      idempotencyKey: submission.idempotencyKey ?? null,
    });
    const audit: AuditEntry = { action: `label.${kind}.saved`, objectType: 'label_version', objectId: version.id, projectId: task.projectId, details: { taskId: task.id, readId: read?.id ?? null, stats } };
    return { version, audit };
  }

  /** Stores a mask (validated against the task's grid and protocol) as an immutable label version. */
  /**
   * Whether a submission is the label `version` holds (the same mask voxel for voxel, the same answers as checked): a
   * decision sent again is answered with its outcome, a different one refused.
   */
  async sameLabel(m: EntityManager, task: Task, version: LabelVersion, submission: Submission): Promise<boolean> {
    if (Boolean(submission.mask) !== Boolean(version.blobKey)) return false;
    if (submission.mask) {
      const { map } = await this.grids.decodeForTask(task, submission.mask, m);
      if (!encodeLabelMap(map).equals(await this.blobs.getBuffer(version.blobKey!))) return false;
    }
    const answers = (await this.grids.checkAnswers(task, submission.answers, { complete: false, m })) ?? {};
    return isDeepStrictEqual(answers, version.answers ?? {});
  }

  async storeLabel(m: EntityManager, task: Task, read: TaskRead | null, kind: string, actor: Actor, submission: Submission): Promise<LabelVersion> {
    const { version, audit } = await this.prepareLabel(m, task, read, kind, actor, submission);
    // insert, not save: the id is set, and save would first look for an existing row with it.
    await m.insert(LabelVersion, version as QueryDeepPartialEntity<LabelVersion>);
    await this.audit.record(actor, audit, m);
    return version;
  }

  /** Auto-save of work in progress: a new read-draft version, referenced by the read. */
  /**
   * Saves a draft of the caller's read. `baseDraftId` (optional: the draft the caller's copy started from, null for
   * none) makes the save conditional: when the read's draft has moved on since (saved from another tab or window of
   * the same person), the save is refused with 412 instead of silently replacing the newer draft with older work.
   */
  async saveDraft(projectId: string, readId: string, actor: Actor, submission: Submission, baseDraftId?: string | null): Promise<{ versionId: string }> {
    return this.dataSource.transaction(async (m) => {
      const read = await this.ownLease(m, projectId, readId, actor.id!);
      if (baseDraftId !== undefined && (await this.ownDraftId(m, read, actor.id!)) !== baseDraftId) {
        throw new PreconditionFailedException('This read’s draft was saved from another tab or window after this one opened it: reload the task to continue from the newer draft (the changes made here were not saved)');
      }
      const task = await m.findOneByOrFail(Task, { id: read.taskId });
      const version = await this.storeLabel(m, task, read, 'read-draft', actor, { ...submission, idempotencyKey: undefined });
      await m.update(TaskRead, read.id, { draftVersionId: version.id });
      return { versionId: version.id };
    });
  }

  /** The read's current draft when the caller wrote it (what the task view shows them as draftVersionId), else null. */
  private async ownDraftId(m: EntityManager, read: TaskRead, userId: string): Promise<string | null> {
    if (!read.draftVersionId) return null;
    const [own] = await m.query(`SELECT 1 FROM label_versions WHERE id = $1 AND author_id = $2`, [read.draftVersionId, userId]);
    return own ? read.draftVersionId : null;
  }

  /**
   * Submits a read. Idempotent by key: a retried request returns the first result. When the last of the k
   * reads of the round is in, the task moves to consensus and the consensus job is queued.
   */
  async submit(projectId: string, readId: string, actor: Actor, given: Submission): Promise<{ versionId: string; taskState: string; duplicate: boolean }> {
    // An Idempotency-Key is the caller's own: stored under their id, so another person who happens to send the same
    // key is not refused (keys were one namespace for the whole deployment, and a 409 told them someone had used it).
    const submission = given.idempotencyKey ? { ...given, idempotencyKey: `${actor.id}:${given.idempotencyKey}` } : given;
    let result: SubmitResult;
    try {
      // The usual case (the caller's lease, the task taking reads) needs neither BEGIN nor COMMIT: the submission
      // function locks and re-checks what was read here. Anything else, or a change in between, takes the locked path.
      result = (await this.submitUnlocked(projectId, readId, actor, submission)) ?? (await this.submitLocked(projectId, readId, actor, submission));
    } catch (e) {
      // A retried request (same Idempotency-Key) finds its read already submitted, or the key already stored:
      // answer with the first result. Looked up only when the submission failed, so the happy path skips it.
      const prior = submission.idempotencyKey ? await this.dataSource.getRepository(LabelVersion).findOneBy({ idempotencyKey: submission.idempotencyKey }) : null;
      if (!prior) throw e;
      if (prior.readId !== readId || prior.authorId !== actor.id) {
        // Someone's key met this submission: that is the answer only when the key is what refused it (its unique index);
        // a submission refused for its own reason (already submitted, lease lapsed) says that reason.
        const code = (e as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (e as { code?: string }).code;
        throw code === '23505' ? new ConflictException('You already used this Idempotency-Key for another submission: send a new key with each new submission') : e;
      }
      const task = await this.dataSource.getRepository(Task).findOneByOrFail({ id: prior.taskId });
      // The first attempt may have committed and then failed to queue the consensus job: queue it (a no-op if it is there).
      if (task.state === TaskState.Consensus) await this.consensus.queue(task);
      return { versionId: prior.id, taskState: task.state, duplicate: true };
    }
    if (result.complete) await this.consensus.queue({ id: result.taskId, reworkRound: result.round });
    return { versionId: result.versionId, taskState: result.taskState, duplicate: false };
  }

  /** The submission of a read leased to the caller of a task in annotation or rework; null for every other case. */
  private async submitUnlocked(projectId: string, readId: string, actor: Actor, submission: Submission): Promise<SubmitResult | null> {
    const read = this.recall(readId, actor.id!, projectId) ?? (await this.leaseWithTask(projectId, readId, actor.id!));
    const task = read.task!;
    if (read.state !== 'leased' || read.kind !== 'annotation' || task.privacyHeld || (task.state !== TaskState.InAnnotation && task.state !== TaskState.Rework)) return null;
    return this.writeSubmission(this.dataSource.manager, read, task, actor, submission);
  }

  /** Every case, in a transaction holding the read and the task: lapsed leases, clear refusals. */
  private submitLocked(projectId: string, readId: string, actor: Actor, submission: Submission): Promise<SubmitResult> {
    return this.dataSource.transaction(async (m) => {
      const read = await this.ownLease(m, projectId, readId, actor.id!, true, true);
      if (read.kind !== 'annotation') throw new ConflictException(`This is a ${read.kind}: use the ${read.kind} endpoint`);
      refuseIfPrivacyHeld(read.task!);
      let task = read.task!;
      if (task.state === TaskState.Ready && (read.previousAnnotatorId === actor.id || read.state === 'leased')) {
        // A lapsed lease nobody took: the late work restarts annotation rather than being lost. Or a live lease of a
        // task that went back to "ready" meanwhile: another read's lease lapsed or was released while this one was
        // being claimed, and that check did not see the claim yet (nothing locks the task there).
        const why = read.state === 'leased' ? 'submission of a lease the task went back to ready under' : 'late submission after the lease lapsed';
        task = (await this.lifecycle.apply(m, task.id, TaskEvent.Lease, actor, why, {}, task)).task;
      }
      if (task.state !== TaskState.InAnnotation && task.state !== TaskState.Rework) throw new ConflictException(`The task is ${task.state}; it no longer takes reads`);
      const result = await this.writeSubmission(m, read, task, actor, submission);
      // Both rows are locked by this transaction since ownLease: they cannot have changed.
      if (!result) throw new ConflictException('The read or its task changed while it was being submitted; ask for the next task');
      return result;
    });
  }

  /**
   * Checks the submission against the task (prepareLabel) and writes it with SUBMIT_SQL; null when the read or the
   * task is no longer as `read` and `task` show them.
   */
  private async writeSubmission(m: EntityManager, read: TaskRead, task: Task, actor: Actor, submission: Submission): Promise<SubmitResult | null> {
    const { version, audit } = await this.prepareLabel(m, task, read, 'read', actor, submission);
    const audits: AuditEntry[] = [audit, { action: 'read.submitted', objectType: 'task_read', objectId: read.id, projectId: task.projectId, details: { taskId: task.id, versionId: version.id, round: read.round } }];
    // The task's next state should this be the last read of the round, from the state machine (the task is in
    // annotation or rework here, both of which take the event).
    const event = task.state === TaskState.Rework ? TaskEvent.ReworkSubmitted : TaskEvent.ReadsComplete;
    let next: TaskState;
    try {
      next = transition(task.state as TaskState, event);
    } catch (e) {
      if (e instanceof TransitionError) throw new ConflictException(e.message);
      throw e;
    }
    const [{ pending }] = await preparedQuery<{ pending: number | null }>(m.queryRunner ? m : this.dataSource, 'routing-submit', SUBMIT_SQL, [
      read.id,
      actor.id,
      version.id,
      task.id,
      auditActor(actor),
      auditRows(audits),
      task.projectId,
      version.round,
      version.protocolVersion,
      version.blobKey,
      version.encoding,
      version.grid === null ? null : JSON.stringify(version.grid),
      JSON.stringify(version.answers),
      JSON.stringify(version.stats),
      version.idempotencyKey,
      task.state,
      next,
      event,
    ]);
    if (pending === null) return null;
    return { versionId: version.id, taskState: pending === 0 ? next : task.state, taskId: task.id, round: task.reworkRound, complete: pending === 0 };
  }

  /**
   * Push routing: reserve one annotation slot of each task for a named person: an open slot, else one reserved for
   * someone else (reassigned), else a lease taken over. Skipped with the reason: a task the person already reads or
   * has reserved (a second reservation could never be claimed: nobody reads a task twice), and one whose skills
   * they lack (the slot would never be offered to them).
   */
  async assign(projectId: string, taskIds: string[], userId: string, actor: Actor): Promise<{ assigned: string[]; skipped: { taskId: string; reason: string }[] }> {
    const member = await this.dataSource.getRepository(ProjectMember).findOneBy({ projectId, userId });
    if (!member || !member.roles.includes('annotator' as never)) throw new ConflictException('Tasks can only be assigned to annotators of this project');
    // A disabled account cannot sign in: its reservation would wait for nobody.
    const user = await this.dataSource.getRepository(User).findOneBy({ id: userId });
    if (!user?.active) throw new ConflictException(`${user?.username ?? 'This person'}'s account is disabled: tasks can only be assigned to people who can sign in`);
    const skills = await this.skills(projectId, userId);
    const assigned: string[] = [];
    const skipped: { taskId: string; reason: string }[] = [];
    for (const taskId of taskIds) {
      await this.dataSource.transaction(async (m) => {
        const task = await m.findOneBy(Task, { id: taskId, projectId });
        if (!task) return skipped.push({ taskId, reason: 'no such task in this project' });
        if (task.privacyHeld) return skipped.push({ taskId, reason: 'an image of the task waits for a privacy review' });
        // Every read of the task, locked before anything is looked at: two assignments at once each found no
        // reservation for the person (the check locks only what it finds), and both reserved a slot for them.
        await lockTaskReads(m, taskId);
        const slots = () => m.getRepository(TaskRead).createQueryBuilder('r').setLock('pessimistic_write').where(`r.task_id = :taskId AND r.kind = 'annotation'`, { taskId });
        const mine = await slots().andWhere(`(r.annotator_id = :userId OR (r.state = 'open' AND (r.assigned_to = :userId OR r.previous_annotator_id = :userId)))`, { userId }).getOne();
        if (mine) {
          const reason = mine.annotatorId === userId ? 'this person already has a read of the task' : mine.assignedTo === userId ? 'a read of the task is already reserved for this person' : "this person's lease on a read of the task lapsed; it is offered back to them first";
          return skipped.push({ taskId, reason });
        }
        const missing = task.requiredSkills.filter((s) => !skills.includes(s));
        if (missing.length) return skipped.push({ taskId, reason: `this person lacks the skill(s) the task requires: ${missing.join(', ')}` });
        const slot: TaskRead | null =
          (await slots().andWhere(`r.state = 'open' AND r.assigned_to IS NULL`).orderBy('r.slot').getOne()) ??
          (await slots().andWhere(`r.state = 'open'`).orderBy('r.slot').getOne()) ??
          (await slots().andWhere(`r.state = 'leased'`).orderBy('r.leased_at').getOne());
        if (!slot) return skipped.push({ taskId, reason: `no read of the task is open (task is ${task.state})` });
        const previous = slot.annotatorId ?? slot.assignedTo;
        await m.update(TaskRead, slot.id, { state: 'open', assignedTo: userId, annotatorId: null, previousAnnotatorId: null, leaseExpiresAt: null });
        // A manager's assignment overrides the person's earlier "give back" of this task.
        await m.query(`UPDATE task_reads SET declined_by = array_remove(declined_by, $2) WHERE task_id = $1 AND $2 = ANY(declined_by)`, [taskId, userId]);
        await this.audit.record(actor, { action: previous ? 'task.reassigned' : 'task.assigned', objectType: 'task', objectId: taskId, projectId, details: { to: userId, from: previous, readId: slot.id } }, m);
        assigned.push(taskId);
      });
    }
    return { assigned, skipped };
  }

  /**
   * A task became held for a privacy review: its leases are withdrawn (the reads go back to the pool, where nobody is
   * offered them while the task is held) and an annotation task whose last lease this was waits in "ready". An
   * annotator's work is still accepted after the images are cleared while nobody else took the read, as after a
   * lapsed lease. Returns the reads withdrawn.
   */
  async withdrawForPrivacyHold(m: EntityManager, taskId: string, projectId: string, actor: Actor): Promise<number> {
    const rows = returned<{ id: string; kind: string; previous_annotator_id: string | null }>(
      await m.query(
        `UPDATE task_reads SET state = 'open', previous_annotator_id = CASE WHEN kind = 'annotation' THEN annotator_id END, annotator_id = NULL, lease_expires_at = NULL, leased_at = NULL
          WHERE task_id = $1 AND state = 'leased' RETURNING id, kind, previous_annotator_id`,
        [taskId],
      ),
    );
    if (!rows.length) return 0;
    await this.audit.recordMany(actor, rows.map((r) => ({ action: 'read.withdrawn', objectType: 'task_read', objectId: r.id, projectId, details: { taskId, kind: r.kind, holder: r.previous_annotator_id, reason: 'an image of the task is held for a privacy review' } })), m);
    if (rows.some((r) => r.kind === 'annotation')) await this.maybeBackToReady(m, taskId, projectId, actor);
    return rows.length;
  }

  /**
   * A person leaves the project (or, with `kinds`, loses the role that work needs): the reads reserved for them
   * (assignments, their rework) and the ones they hold go back to the pool for others, and an unfinished annotation
   * task whose last lease this was waits in "ready".
   */
  async releaseMember(m: EntityManager, projectId: string, userId: string, actor: Actor, change: { kinds?: WorkKind[]; reason?: string } = {}): Promise<number> {
    const rows = returned<{ id: string; task_id: string; kind: string }>(
      await m.query(
        `UPDATE task_reads SET state = 'open', assigned_to = NULL, annotator_id = NULL, previous_annotator_id = NULL, lease_expires_at = NULL, leased_at = NULL
          WHERE project_id = $1 AND ((state = 'open' AND assigned_to = $2) OR (state = 'leased' AND annotator_id = $2) OR (state = 'open' AND previous_annotator_id = $2))
            AND ($3::text[] IS NULL OR kind = ANY($3))
          RETURNING id, task_id, kind`,
        [projectId, userId, change.kinds ?? null],
      ),
    );
    if (!rows.length) return 0;
    const reason = change.reason ?? 'member removed from the project';
    await this.audit.recordMany(actor, rows.map((r) => ({ action: 'read.released', objectType: 'task_read', objectId: r.id, projectId, details: { taskId: r.task_id, kind: r.kind, reason, member: userId } })), m);
    for (const taskId of new Set(rows.filter((r) => r.kind === 'annotation').map((r) => r.task_id))) await this.maybeBackToReady(m, taskId, projectId, actor);
    return rows.length;
  }

  /** lockTaskReads: a task's reads, locked before the task. */
  async lockReads(m: EntityManager, taskId: string): Promise<void> {
    await lockTaskReads(m, taskId);
  }

  async setPriority(projectId: string, taskId: string, priority: number, actor: Actor) {
    await this.dataSource.transaction(async (m) => {
      await this.lockReads(m, taskId);
      const [old] = await m.query(`SELECT priority FROM tasks WHERE id = $1 AND project_id = $2 FOR UPDATE`, [taskId, projectId]);
      if (!old) throw new NotFoundException(`No task ${taskId} in this project`);
      // Set outright: the draft's uncertainty points are no longer a part of it (a later draft adds its own).
      await m.query(`UPDATE tasks SET priority = $2, uncertainty_points = 0 WHERE id = $1`, [taskId, priority]);
      // The reads move with the task: rework (+100) and adjudication (+50) slots keep their lead over the task's.
      await m.query(`UPDATE task_reads SET priority = priority + $2 WHERE task_id = $1`, [taskId, priority - old.priority]);
      await this.audit.record(actor, { action: 'task.priority', objectType: 'task', objectId: taskId, projectId, details: { priority } }, m);
    });
  }

  /** Is the caller allowed to see this user's identity? (Annotators see pseudonymous ids of others.) */
  async displayName(userId: string): Promise<string> {
    return (await this.dataSource.getRepository(User).findOneBy({ id: userId }))?.username ?? userId;
  }
}
