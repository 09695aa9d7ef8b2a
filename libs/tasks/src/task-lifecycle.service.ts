// Applies state-machine events to tasks in the database: a guarded UPDATE (the task must still be in the
// state the event leaves from), a task_transitions row and an audit line, all in the caller's transaction.
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Actor, auditActor, auditInsertSql, auditRows } from '@contour/audit';
import { Task, TaskTransition } from '@contour/db';
import { TaskEvent, TaskState, transition, TransitionError } from '@contour/workflow';

export interface AppliedTransition {
  task: Task;
  from: TaskState;
  to: TaskState;
}

@Injectable()
export class TaskLifecycle {
  /**
   * Moves the task along `event`. Locks the task row, so concurrent events on one task are serialised; throws
   * 409 with the state machine's explanation when the event is not allowed in the task's current state. A
   * caller that already holds the task row locked (SELECT ... FOR UPDATE in this transaction) passes it as
   * `locked` and saves the round trip.
   */
  async apply(m: EntityManager, taskId: string, event: TaskEvent, actor: Actor, reason?: string | null, patch: Partial<Task> = {}, locked?: Task): Promise<AppliedTransition> {
    const task = locked ?? (await m.getRepository(Task).createQueryBuilder('t').setLock('pessimistic_write').where('t.id = :taskId', { taskId }).getOne());
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
    if (!changed && !Object.keys(patch).length) return { task, from, to };
    const update: Partial<Task> = { ...patch, ...(changed ? { state: to, stateChangedAt: new Date() } : {}) };
    // The task row, its transition row and its audit line in one statement.
    const columns = Object.keys(update).map((property) => {
      const column = m.connection.getMetadata(Task).findColumnWithPropertyName(property);
      if (!column) throw new Error(`Task has no column for ${property}`);
      return column.databaseName;
    });
    const audit = { action: `task.${event}`, objectType: 'task', objectId: taskId, projectId: task.projectId, details: { from, to, ...(reason ? { reason } : {}) } };
    await m.query(
      `WITH moved AS (UPDATE tasks SET ${columns.map((c, i) => `"${c}" = $${i + 9}`).join(', ')} WHERE id = $1 RETURNING id),
            transition AS (INSERT INTO task_transitions (task_id, project_id, from_state, to_state, event, actor_id, actor_name, reason)
                           SELECT $1, $2, $3, $4, $5, ($7::jsonb ->> 'id')::uuid, $7::jsonb ->> 'name', $6 FROM moved)
       ${auditInsertSql(7, 8)}`,
      [taskId, task.projectId, from, to, event, reason ?? null, auditActor(actor), auditRows([audit]), ...Object.values(update)],
    );
    Object.assign(task, update);
    return { task, from, to };
  }

  /** Records the creation of a task (no previous state). */
  async created(m: EntityManager, task: Task, actor: Actor) {
    await m.insert(TaskTransition, { taskId: task.id, projectId: task.projectId, fromState: null, toState: task.state, event: 'create', actorId: actor.id, actorName: actor.name, reason: null });
  }
}
