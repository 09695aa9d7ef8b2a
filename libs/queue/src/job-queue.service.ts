import { Inject, Injectable } from '@nestjs/common';
import { Job, JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CONFIG, ContourConfig } from '@contour/config';
import { ALL_QUEUES, JOB_QUEUE, JobName, JobPayloads, QueueName } from './jobs';

export const REDIS = Symbol('Redis');

/** Options a producer may set; attempts, backoff and retention come from one place (defaultJobOptions). */
export type AddOptions = Pick<JobsOptions, 'jobId' | 'priority' | 'delay' | 'lifo' | 'deduplication'>;

export function defaultJobOptions(config: ContourConfig): JobsOptions {
  return {
    attempts: config.jobs.attempts,
    backoff: { type: 'exponential', delay: config.jobs.backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 5000 },
    removeOnFail: { age: 14 * 24 * 3600, count: 20000 },
  };
}

/** Producer side of every queue. Both processes use it; only the worker process consumes. */
@Injectable()
export class JobQueue {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    @Inject(CONFIG) private readonly config: ContourConfig,
    @Inject(REDIS) private readonly connection: Redis,
  ) {}

  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.connection,
        prefix: this.config.redis.queuePrefix,
        defaultJobOptions: defaultJobOptions(this.config),
      });
      this.queues.set(name, queue);
    }
    return queue;
  }

  all(): Queue[] {
    return ALL_QUEUES.map((q) => this.queue(q));
  }

  add<N extends JobName>(name: N, data: JobPayloads[N], options: AddOptions = {}): Promise<Job<JobPayloads[N]>> {
    return this.queue(JOB_QUEUE[name]).add(name, data, options);
  }

  async addBulk<N extends JobName>(name: N, items: { data: JobPayloads[N]; options?: AddOptions }[]): Promise<Job[]> {
    if (items.length === 0) return [];
    return this.queue(JOB_QUEUE[name]).addBulk(items.map((i) => ({ name, data: i.data, opts: i.options })));
  }

  /**
   * Closes the producers. Called by QueueModule at application shutdown, after the workers have drained (a draining
   * job may still queue its follow-up jobs), and before the Redis connection closes.
   */
  async close() {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
