// Pre-label jobs queued again for tasks that already had one (a redraft after the project's models changed, a
// failed task retried): a job is named by its task and model versions, and a finished or failed job of that name
// would make adding it again a no-op (the task then waited in pre-labelling for the stuck-task recovery).
import { JOB_QUEUE, JobName, JobQueue, prelabelJobId } from '@contour/queue';

export async function queuePrelabelAgain(jobs: JobQueue, taskIds: string[], models: readonly string[]): Promise<void> {
  const queue = jobs.queue(JOB_QUEUE[JobName.PrelabelTask]);
  for (const taskId of taskIds) {
    const earlier = await queue.getJob(prelabelJobId(taskId, models));
    if (earlier && ['completed', 'failed'].includes(await earlier.getState())) await earlier.remove();
  }
  await jobs.addBulk(JobName.PrelabelTask, taskIds.map((taskId) => ({ data: { taskId, lane: 'batch' as const }, options: { jobId: prelabelJobId(taskId, models), priority: 10 } })));
}
