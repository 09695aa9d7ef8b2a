import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SeriesGeometryService } from '@contour/ingest';
import { JobName, JobQueue, QueueName } from '@contour/queue';

/**
 * Repeating jobs, declared by the coordinator (idempotent upsert) and run by whichever worker serves the queue; and,
 * once at start-up, the geometry of series stored before their frame numbers were kept, built again.
 */
@Injectable()
export class Schedules implements OnApplicationBootstrap {
  private readonly logger = new Logger(Schedules.name);

  constructor(
    private readonly jobs: JobQueue,
    private readonly geometry: SeriesGeometryService,
  ) {}

  async onApplicationBootstrap() {
    await this.jobs.queue(QueueName.Routing).upsertJobScheduler('expire-leases', { every: 15_000 }, { name: JobName.ExpireLeases, data: {} });
    await this.jobs.queue(QueueName.Routing).upsertJobScheduler('recover-stuck-tasks', { every: 60_000 }, { name: JobName.RecoverStuckTasks, data: {} });
    // Ageing moves a read by a point every few hours at the default 10 points a day: every 10 minutes is plenty.
    await this.jobs.queue(QueueName.Routing).upsertJobScheduler('age-priorities', { every: 600_000 }, { name: JobName.AgePriorities, data: {} });
    // In the background: start-up does not wait on a scan of the series.
    void this.geometry.rebuildStale().catch((e: Error) => this.logger.warn(`could not look for series to rebuild: ${e.message}`));
  }
}
