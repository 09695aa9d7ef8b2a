import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Job, QueueEvents } from 'bullmq';
import { Inject } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, ContourConfig } from '@contour/config';
import { Metrics } from '@contour/observability';
import { ALL_QUEUES, JobQueue, REDIS } from '@contour/queue';

/**
 * Turns BullMQ's event stream into Prometheus metrics at the coordinator: job durations (from the job's own
 * processedOn/finishedOn, whichever worker ran it) and, at scrape time, queue depth per state.
 */
@Injectable()
export class QueueMetricsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('QueueMetrics');
  private readonly events: QueueEvents[] = [];
  private readonly connections: Redis[] = [];

  constructor(
    @Inject(CONFIG) private readonly config: ContourConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly jobs: JobQueue,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit() {
    for (const name of ALL_QUEUES) {
      const connection = this.redis.duplicate();
      this.connections.push(connection);
      const events = new QueueEvents(name, { connection, prefix: this.config.redis.queuePrefix });
      const observe = async (jobId: string, outcome: 'completed' | 'failed') => {
        const job = await Job.fromId(this.jobs.queue(name), jobId).catch(() => undefined);
        if (!job?.processedOn || !job.finishedOn) return;
        this.metrics.observeJob(name, job.name, outcome, job.finishedOn - job.processedOn);
      };
      events.on('completed', ({ jobId }) => void observe(jobId, 'completed'));
      events.on('failed', ({ jobId }) => void observe(jobId, 'failed'));
      events.on('error', (err) => this.logger.warn(`queue events (${name}): ${err.message}`));
      this.events.push(events);
    }
  }

  async refreshDepth() {
    for (const q of this.jobs.all()) {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
      for (const [state, n] of Object.entries(counts)) this.metrics.queueDepth.set({ queue: q.name, state }, n);
    }
  }

  async onModuleDestroy() {
    await Promise.all(this.events.map((e) => e.close()));
    this.connections.forEach((c) => c.disconnect());
  }
}
