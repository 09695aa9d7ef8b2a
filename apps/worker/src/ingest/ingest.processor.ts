import { Injectable } from '@nestjs/common';
import { DicomWebImporter, IngestPipeline } from '@contour/ingest';
import { JobContext, JobHandler, JobName } from '@contour/queue';

@Injectable()
export class IngestProcessor {
  constructor(
    private readonly pipeline: IngestPipeline,
    private readonly importer: DicomWebImporter,
  ) {}

  /** Items are processed one after another; each is idempotent, so a redelivered chunk skips finished ones. */
  @JobHandler(JobName.IngestFiles)
  async handle(job: JobContext<JobName.IngestFiles>) {
    const outcomes = [];
    for (const [i, itemId] of job.data.itemIds.entries()) {
      outcomes.push(await this.pipeline.process(itemId));
      if (job.data.itemIds.length > 1) await job.updateProgress(Math.round(((i + 1) / job.data.itemIds.length) * 100));
    }
    return outcomes;
  }

  @JobHandler(JobName.DicomWebImport)
  import(job: JobContext<JobName.DicomWebImport>) {
    return this.importer.run(job.data, (p) => job.updateProgress(p));
  }
}
