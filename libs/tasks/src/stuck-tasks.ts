// Tasks that wait on a job which will never come: the job was never queued (the enqueue after a commit failed,
// Redis was briefly down) or it failed for good (retries exhausted; a worker killed on it three times). Both the
// pre-labelling and the consensus step leave a task in a waiting state until their job moves it on, so each
// looks for such tasks on a schedule (JobName.RecoverStuckTasks) and either queues the job again or gives up on
// it with the job's reason.
import type { Job, Queue } from 'bullmq';
import type { DataSource } from 'typeorm';
import type { TaskState } from '@contour/workflow';

export interface StuckTask {
  id: string;
  projectId: string;
  reworkRound: number;
  jobId: string;
  /** The job as it is now, when BullMQ still has it. */
  job?: Job;
  /** 'missing' (never queued, or removed), 'failed' (for good) or 'completed' (yet the task did not move). */
  jobState: 'missing' | 'failed' | 'completed';
}

/** Job states in which the job will still move the task on by itself. */
const PENDING = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/** How long a task may wait in a job's state before it is looked at (the job is queued right after the commit). */
export const STUCK_AFTER_SECONDS = 120;

/**
 * Tasks in `state` for longer than `olderThanSeconds` whose job (`jobIdOf`) is not waiting, delayed or running:
 * at most `limit` of them, oldest first.
 */
export async function findStuckTasks(
  dataSource: DataSource,
  queue: Queue,
  state: TaskState,
  jobIdOf: (task: { id: string; projectId: string; reworkRound: number }) => string,
  olderThanSeconds = STUCK_AFTER_SECONDS,
  limit = 200,
): Promise<StuckTask[]> {
  const rows: { id: string; project_id: string; rework_round: number }[] = await dataSource.query(
    `SELECT id, project_id, rework_round FROM tasks WHERE state = $1 AND state_changed_at < now() - make_interval(secs => $2) ORDER BY state_changed_at LIMIT $3`,
    [state, olderThanSeconds, limit],
  );
  const stuck: StuckTask[] = [];
  for (const row of rows) {
    const task = { id: row.id, projectId: row.project_id, reworkRound: row.rework_round };
    const jobId = jobIdOf(task);
    const job = (await queue.getJob(jobId)) ?? undefined;
    const jobState = job ? await job.getState() : 'missing';
    if (PENDING.has(jobState)) continue;
    stuck.push({ id: row.id, projectId: row.project_id, reworkRound: row.rework_round, jobId, job, jobState: jobState === 'failed' ? 'failed' : jobState === 'completed' ? 'completed' : 'missing' });
  }
  return stuck;
}
