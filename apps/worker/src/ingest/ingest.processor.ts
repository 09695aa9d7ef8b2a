import { Injectable } from '@nestjs/common';
import { DicomWebImporter, IngestPipeline, newAftercare } from '@contour/ingest';
import { JobContext, JobHandler, JobName } from '@contour/queue';

@Injectable()
export class IngestProcessor {
  constructor(
    private readonly pipeline: IngestPipeline,
    private readonly importer: DicomWebImporter,
  ) {}

  /**
   * Items are processed one after another; each is idempotent, so a redelivered chunk skips finished ones.
   * An item that still fails on the job's last attempt is quarantined with the error, so neither it nor the
   * rest of its chunk is lost. What storing them left (received files to delete, series to check) is done once for
   * the chunk, also when an item fails.
   */
  @JobHandler(JobName.IngestFiles)
  async handle(job: JobContext<JobName.IngestFiles>) {
    const outcomes = [];
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const after = newAftercare();
    try {
      for (const [i, itemId] of job.data.itemIds.entries()) {
        try {
          outcomes.push(await this.pipeline.process(itemId, after));
        } catch (e) {
          if (!lastAttempt) throw e;
          outcomes.push(await this.pipeline.quarantineById(itemId, 'processing-failed', `Processing failed after ${job.attemptsMade + 1} attempts (${(e as Error).message}); an admin can re-process it from the quarantine once the cause is fixed`));
        }
        if (job.data.itemIds.length > 1) await job.updateProgress(Math.round(((i + 1) / job.data.itemIds.length) * 100));
      }
    } finally {
      await this.pipeline.finish(after);
    }
    return outcomes;
  }

  @JobHandler(JobName.DicomWebImport)
  import(job: JobContext<JobName.DicomWebImport>) {
    return this.importer.run(job.data, (p) => job.updateProgress(p), (data) => job.updateData(data));
  }
}
