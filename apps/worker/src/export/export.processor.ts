import { Injectable } from '@nestjs/common';
import { ExportService } from '@contour/export';
import { JobContext, JobHandler, JobName } from '@contour/queue';

@Injectable()
export class ExportProcessor {
  constructor(private readonly exports: ExportService) {}

  @JobHandler(JobName.ExportDataset)
  handle(job: JobContext<JobName.ExportDataset>) {
    return this.exports.run(job.data.exportId, (p) => job.updateProgress(p), job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
  }
}
