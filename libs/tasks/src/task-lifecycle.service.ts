// Applies state-machine events to tasks in the database: a guarded UPDATE (the task must still be in the
// state the event leaves from), a task_transitions row and an audit line, all in the caller's transaction.
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Actor, AuditService } from '@contour/audit';
import { Task, TaskTransition } from '@contour/db';
import { TaskEvent, TaskState, transition, TransitionError } from '@contour/workflow';

export interface AppliedTransition {
  task: Task;
  from: TaskState;
  to: TaskState;
}

@Injectable()
export class TaskLifecycle {
  constructor(private readonly audit: AuditService) {}

  /**
   * Moves the task along `event`. Locks the task row, so concurrent events on one task are serialised; throws
   * 409 with the state machine's explanation when the event is not allowed in the task's current state.
   */
  async apply(m: EntityManager, taskId: string, event: TaskEvent, actor: Actor, reason?: string | null, patch: Partial<Task> = {}): Promise<AppliedTransition> {
    const task = await m.getRepository(Task).createQueryBuilder('t').setLock('pessimistic_write').where('t.id = :taskId', { taskId }).getOne();
    if (!task) throw new NotFoundException(`No task ${taskId}`);
    const from = task.state as TaskState;
    let to: TaskState;
    try {
      to = transition(from, event);
    } catch (e) {
      if (e instanceof TransitionError) throw new ConflictException(e.message);
      throw e;
    }
    const changed = from !== to;
    Object.assign(task, patch, changed ? { state: to, stateChangedAt: new Date() } : {});
    await m.getRepository(Task).save(task);
    if (changed || Object.keys(patch).length) {
      await m.insert(TaskTransition, { taskId, projectId: task.projectId, fromState: from, toState: to, event, actorId: actor.id, actorName: actor.name, reason: reason ?? null });
      await this.audit.record(actor, { action: `task.${event}`, objectType: 'task', objectId: taskId, projectId: task.projectId, details: { from, to, ...(reason ? { reason } : {}) } }, m);
    }
    return { task, from, to };
  }

  /** Records the creation of a task (no previous state). */
  async created(m: EntityManager, task: Task, actor: Actor) {
    await m.insert(TaskTransition, { taskId: task.id, projectId: task.projectId, fromState: null, toState: task.state, event: 'create', actorId: actor.id, actorName: actor.name, reason: null });
  }
}
