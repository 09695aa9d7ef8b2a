import { Injectable } from '@nestjs/common';
import { IngestPipeline } from '@contour/ingest';
import { JobContext, JobHandler, JobName } from '@contour/queue';

@Injectable()
export class IngestProcessor {
  constructor(private readonly pipeline: IngestPipeline) {}

  @JobHandler(JobName.IngestFile)
  handle(job: JobContext<JobName.IngestFile>) {
    return this.pipeline.process(job.data.itemId);
  }
}
