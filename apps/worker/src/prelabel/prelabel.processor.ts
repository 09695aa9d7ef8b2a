import { Injectable } from '@nestjs/common';
import { PrelabelService } from '@contour/prelabel';
import { JobContext, JobHandler, JobName } from '@contour/queue';

@Injectable()
export class PrelabelProcessor {
  constructor(private readonly prelabel: PrelabelService) {}

  /** One job per task (a whole volume: seconds of work), never per patch. */
  @JobHandler(JobName.PrelabelTask)
  handle(job: JobContext<JobName.PrelabelTask>) {
    return this.prelabel.run(job.data.taskId, job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
  }
}
