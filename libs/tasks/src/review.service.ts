// Review, adjudication and a manager's decisions on escalated tasks. A rejection sends the task back to the
// annotators whose reads made it, with the reviewer's comment, until the project's rework limit; then the
// task escalates to the managers.
import { BadRequestException, ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Actor, AuditService, systemActor } from '@contour/audit';
import { LabelVersion, Project, Review, Task, TaskRead } from '@contour/db';
import { JobQueue } from '@contour/queue';
import { afterRejection, parseProjectSettings, TaskEvent, TaskState } from '@contour/workflow';
import { ConsensusService } from './consensus.service';
import { queuePrelabelAgain } from './prelabel-jobs';
import { CAN_ANNOTATE, returned, RoutingService, Submission } from './routing.service';
import { TaskLifecycle } from './task-lifecycle.service';

export type ReviewDecision = 'approve' | 'edit-approve' | 'reject';
export const MANAGER_DECISIONS = ['cancel', 'reopen', 'approve', 'retry'] as const;
export type ManagerDecision = (typeof MANAGER_DECISIONS)[number];

@Injectable()
export class ReviewService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly lifecycle: TaskLifecycle,
    private readonly routing: RoutingService,
    private readonly consensus: ConsensusService,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
  ) {}

  /**
   * The caller's review or adjudication slot, locked with its task. `decided`: the caller already submitted it (a
   * retried request, e.g. after a network error): the caller answers with the first outcome instead of a 403.
   */
  private async leasedSlot(m: EntityManager, projectId: string, readId: string, userId: string, kind: 'review' | 'adjudication'): Promise<{ read: TaskRead; task: Task; decided?: boolean }> {
    const read = await m.getRepository(TaskRead).createQueryBuilder('r').setLock('pessimistic_write').where('r.id = :readId AND r.project_id = :projectId', { readId, projectId }).getOne();
    if (!read) throw new NotFoundException(`No ${kind} ${readId} in this project`);
    if (read.kind !== kind) throw new ConflictException(`This is ${read.kind === 'annotation' ? 'an annotation read' : `a ${read.kind}`}, not a ${kind}`);
    if (read.state === 'submitted' && read.annotatorId === userId) {
      const task = await m.getRepository(Task).findOneByOrFail({ id: read.taskId });
      return { read, task, decided: true };
    }
    // A lapsed lease nobody else took is accepted; anything else is refused with the reason.
    const lapsedButFree = read.previousAnnotatorId === userId && read.state === 'open';
    if ((read.annotatorId !== userId || read.state !== 'leased') && !lapsedButFree) await this.routing.refuse(m, read, userId, kind);
    const task = await m.getRepository(Task).createQueryBuilder('t').setLock('pessimistic_write').where('t.id = :id', { id: read.taskId }).getOneOrFail();
    return { read, task };
  }

  async review(projectId: string, readId: string, actor: Actor, decision: ReviewDecision, comment: string, submission: Submission = {}) {
    if (decision === 'reject' && !comment.trim()) throw new BadRequestException('A rejection needs a comment telling the annotator what to fix');
    if (decision === 'edit-approve' && !submission.mask && !submission.answers) throw new BadRequestException('Edit-and-approve needs the edited mask or answers');
    return this.dataSource.transaction(async (m) => {
      const { read, task, decided } = await this.leasedSlot(m, projectId, readId, actor.id!, 'review');
      if (decided) {
        const wanted = decision === 'approve' ? 'approved' : decision === 'edit-approve' ? 'edited-approved' : 'rejected';
        const prior = await m.getRepository(Review).findOne({ where: { taskId: task.id, reviewerId: actor.id! }, order: { createdAt: 'DESC' } });
        if (prior?.decision !== wanted) throw new ConflictException(`You already decided this review (${prior?.decision ?? 'submitted'}); a second, different decision is not taken`);
        return { taskState: task.state, duplicate: true };
      }
      if (task.state !== TaskState.Review) throw new ConflictException(`The task is ${task.state}, not waiting for review`);
      const project = await m.findOneByOrFail(Project, { id: projectId });
      const settings = parseProjectSettings(project.settings);
      let versionId: string | null = null;
      if (decision === 'edit-approve') versionId = (await this.routing.storeLabel(m, task, read, 'review-edit', actor, submission)).id;
      const outcome = decision === 'approve' ? 'approved' : decision === 'edit-approve' ? 'edited-approved' : 'rejected';
      await m.insert(Review, { taskId: task.id, projectId, reviewerId: actor.id!, decision: outcome, comment, round: task.reworkRound, labelVersionId: versionId });
      // The decision itself (an edit-and-approve and a plain approve were both only the task's "approve" transition).
      await this.audit.record(actor, { action: 'review.decided', objectType: 'task', objectId: task.id, projectId, details: { taskId: task.id, decision: outcome, round: task.reworkRound, comment, labelVersionId: versionId } }, m);
      await m.update(TaskRead, read.id, { state: 'submitted', annotatorId: actor.id, submittedAt: new Date(), labelVersionId: versionId, leaseExpiresAt: null });
      if (decision !== 'reject') {
        // A reason the task had while it waited (no reviewer could take it) is over once someone reviewed it.
        const { to } = await this.lifecycle.apply(m, task.id, TaskEvent.Approve, actor, comment || null, { stateReason: null });
        return { taskState: to };
      }
      const event = afterRejection(task.reworkRound, settings.quality.maxReworkRounds);
      if (event === TaskEvent.RejectBeyondLimit) {
        const { to } = await this.lifecycle.apply(m, task.id, event, actor, `rejected after ${task.reworkRound} rework round(s): ${comment}`, { rejectionCount: task.rejectionCount + 1, stateReason: comment });
        return { taskState: to };
      }
      const { to } = await this.lifecycle.apply(m, task.id, event, actor, comment, { rejectionCount: task.rejectionCount + 1, reworkRound: task.reworkRound + 1, stateReason: null });
      await this.reopenForRework(m, task, comment);
      return { taskState: to };
    });
  }

  /**
   * Every annotation read goes back to its own annotator (assigned, first in their queue), with the comment; it keeps
   * the points its task earned by waiting. A read whose annotator can no longer annotate in the project (left it, lost
   * the role, account disabled) goes to the pool instead, for anyone else (reserved for them, it waited forever).
   */
  private async reopenForRework(m: EntityManager, task: Task, comment: string) {
    const reopened: { id: string; reserved_for: string | null; was: string | null }[] = returned(
      await m.query(
        `UPDATE task_reads r SET state = 'open', assigned_to = CASE WHEN ${CAN_ANNOTATE('r.annotator_id', 'r.project_id')} THEN r.annotator_id END,
                annotator_id = NULL, previous_annotator_id = NULL, round = $2,
                rework_comment = $3, priority = $4 + r.age_boost, lease_expires_at = NULL, submitted_at = NULL
          FROM task_reads old WHERE old.id = r.id AND r.task_id = $1 AND r.kind = 'annotation'
          RETURNING r.id, r.assigned_to AS reserved_for, old.annotator_id AS was`,
        [task.id, task.reworkRound + 1, comment, task.priority + 100],
      ),
    );
    const pooled = reopened.filter((r) => r.was && !r.reserved_for);
    if (pooled.length) {
      await this.audit.recordMany(systemActor('routing'), pooled.map((r) => ({ action: 'read.released', objectType: 'task_read', objectId: r.id, projectId: task.projectId, details: { taskId: task.id, kind: 'annotation', reason: 'rework for a person who can no longer annotate in the project', member: r.was } })), m);
    }
  }

  async adjudicate(projectId: string, readId: string, actor: Actor, submission: Submission, comment = '') {
    return this.dataSource.transaction(async (m) => {
      const { read, task, decided } = await this.leasedSlot(m, projectId, readId, actor.id!, 'adjudication');
      if (decided) {
        // The same adjudication sent again is answered with its outcome; a different one is refused (it was answered
        // "duplicate" too, and its label dropped without a word).
        const prior = read.labelVersionId ? await m.findOneBy(LabelVersion, { id: read.labelVersionId }) : null;
        if (!prior || !(await this.routing.sameLabel(m, task, prior, submission))) throw new ConflictException('You already adjudicated this task; a second, different label is not taken (the reviewer can edit it)');
        return { taskState: task.state, versionId: read.labelVersionId, duplicate: true };
      }
      if (task.state !== TaskState.Adjudication) throw new ConflictException(`The task is ${task.state}, not waiting for adjudication`);
      const project = await m.findOneByOrFail(Project, { id: projectId });
      const settings = parseProjectSettings(project.settings);
      const version = await this.routing.storeLabel(m, task, read, 'adjudicated', actor, submission);
      await m.update(TaskRead, read.id, { state: 'submitted', annotatorId: actor.id, submittedAt: new Date(), labelVersionId: version.id, leaseExpiresAt: null });
      const { to } = await this.lifecycle.apply(m, task.id, settings.quality.reviewRequired ? TaskEvent.Adjudicated : TaskEvent.AdjudicatedNoReview, actor, comment || null);
      if (to === TaskState.Review) await this.consensus.openSlot(m, task, 'review');
      return { taskState: to, versionId: version.id };
    });
  }

  /**
   * Manager decisions: cancel a task, send an escalated task back for rework, approve it as it is, or retry a failed
   * one (see retry()).
   */
  async managerDecision(projectId: string, taskId: string, actor: Actor, decision: ManagerDecision, comment: string) {
    if (decision === 'retry') return this.retry(projectId, taskId, actor, comment);
    return this.dataSource.transaction(async (m) => {
      // The task's reads before the task itself (RoutingService.lockReads): a cancel closes them and a reopen opens
      // them after moving the task, and a claim in flight holds its read while it waits for the task.
      await this.routing.lockReads(m, taskId);
      const task = await m.findOneBy(Task, { id: taskId, projectId });
      if (!task) throw new NotFoundException(`No task ${taskId} in this project`);
      const event = decision === 'cancel' ? TaskEvent.Cancel : decision === 'reopen' ? TaskEvent.ManagerReopen : TaskEvent.ManagerApprove;
      if (decision === 'approve') {
        // Approving stands in for the review, and nobody reviews their own work: a manager who also annotated the task
        // (or adjudicated it) approved their own read when it escalated.
        const [own] = await m.query(`SELECT kind FROM task_reads WHERE task_id = $1 AND annotator_id = $2 AND kind IN ('annotation', 'adjudication') AND state = 'submitted' LIMIT 1`, [taskId, actor.id]);
        if (own) throw new ForbiddenException(`You ${own.kind === 'annotation' ? 'annotated' : 'adjudicated'} this task, so you cannot approve it: another manager decides, or reopen it for rework`);
      }
      const patch = decision === 'reopen' ? { reworkRound: task.reworkRound + 1 } : {};
      const { to } = await this.lifecycle.apply(m, taskId, event, actor, comment || null, patch);
      if (decision === 'reopen') await this.reopenForRework(m, task, comment || 'Reopened by a manager');
      if (decision === 'cancel') await m.query(`UPDATE task_reads SET state = 'closed', lease_expires_at = NULL WHERE task_id = $1 AND state IN ('open', 'leased')`, [taskId]);
      // The move itself is audited as task.<event> with the comment (task.manager-approve, task.manager-reopen): a second
      // line of the same name was written for those two. A cancel by a manager keeps its own line beside task.cancel.
      if (decision === 'cancel') await this.audit.record(actor, { action: 'task.manager-cancel', objectType: 'task', objectId: taskId, projectId, details: { comment } }, m);
      return { taskState: to };
    });
  }

  /**
   * A failed task tried again once its cause is fixed (a blob restored, an outage over): one whose reads were all
   * in (its consensus failed) has them merged again by a new consensus job; one that failed earlier starts again
   * from "created" (pre-labelled again when the project has models). Without this, a failed task could only be
   * cancelled, its finished reads with it.
   */
  private async retry(projectId: string, taskId: string, actor: Actor, comment: string) {
    const project = await this.dataSource.getRepository(Project).findOneByOrFail({ id: projectId });
    const models = parseProjectSettings(project.settings).prelabelModels;
    const outcome = await this.dataSource.transaction(async (m) => {
      await this.routing.lockReads(m, taskId);
      const locked = await m.getRepository(Task).createQueryBuilder('t').setLock('pessimistic_write').where('t.id = :taskId AND t.project_id = :projectId', { taskId, projectId }).getOne();
      if (!locked) throw new NotFoundException(`No task ${taskId} in this project`);
      if (locked.state !== TaskState.Failed) throw new ConflictException(`The task is ${locked.state}; only a failed task can be retried`);
      const [{ waiting }] = await m.query(`SELECT count(*) FILTER (WHERE state <> 'submitted')::int AS waiting FROM task_reads WHERE task_id = $1 AND kind = 'annotation'`, [taskId]);
      const readsIn = waiting === 0;
      const { to } = await this.lifecycle.apply(m, taskId, readsIn ? TaskEvent.RetryConsensus : TaskEvent.Retry, actor, comment || null, { stateReason: null });
      let next = to;
      if (!readsIn) next = (await this.lifecycle.apply(m, taskId, models.length ? TaskEvent.StartPrelabel : TaskEvent.SkipPrelabel, actor, models.length ? null : 'no pre-label model configured')).to;
      await this.audit.record(actor, { action: 'task.manager-retry', objectType: 'task', objectId: taskId, projectId, details: { comment, to: next } }, m);
      return { task: locked, readsIn, to: next };
    });
    // After the commit: the job that failed for good still holds its id, so it is removed before the new one.
    if (outcome.readsIn) await this.consensus.requeue(outcome.task);
    else if (models.length) await queuePrelabelAgain(this.jobs, [taskId], models);
    return { taskState: outcome.to };
  }
}
