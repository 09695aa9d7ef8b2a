import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { CONFIG, ContourConfig } from '@contour/config';
import { JOB_HANDLER } from './job-handler';
import { JobName, jobsOfQueue, QueueName } from './jobs';
import { TerminalJobError } from './errors';
import { REDIS } from './job-queue.service';

export const SERVED_QUEUES = Symbol('ServedQueues');

type Handler = (job: Job) => Promise<unknown>;

/** Observes job outcomes (metrics). */
export interface JobObserver {
  onJobFinished(queue: QueueName, name: string, outcome: 'completed' | 'failed' | 'retry', durationMs: number): void;
}
export const JOB_OBSERVER = Symbol('JobObserver');

/**
 * Starts one BullMQ Worker per served queue and routes each job to the method decorated with
 * @JobHandler(name). It is the only place in the code base that creates Workers, and it only runs in the
 * worker process. Start-up fails when a served queue carries a job name that has no handler.
 */
@Injectable()
export class WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerHost.name);
  private readonly workers: Worker[] = [];
  private readonly connections: Redis[] = [];
  private readonly handlers = new Map<string, Handler>();

  constructor(
    @Inject(CONFIG) private readonly config: ContourConfig,
    @Inject(REDIS) private readonly connection: Redis,
    @Inject(SERVED_QUEUES) private readonly queues: QueueName[],
    @Inject(JOB_OBSERVER) private readonly observer: JobObserver,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  /** Finds every @JobHandler method among the application's providers. */
  collectHandlers(): Map<string, Handler> {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance);
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const name = this.reflector.get<JobName | undefined>(JOB_HANDLER, prototype[method]);
        if (!name) continue;
        if (this.handlers.has(name)) throw new Error(`Job ${name} has two handlers; keep exactly one`);
        this.handlers.set(name, (job) => (instance[method] as Handler).call(instance, job));
      }
    }
    return this.handlers;
  }

  onApplicationBootstrap() {
    this.collectHandlers();
    const missing = this.queues.flatMap((q) => jobsOfQueue(q).filter((name) => !this.handlers.has(name)).map((n) => `${n} (queue ${q})`));
    if (missing.length) {
      throw new Error(`No handler for job(s) ${missing.join(', ')}: add a @JobHandler or stop serving the queue`);
    }
    for (const queue of this.queues) {
      const connection = this.connection.duplicate();
      this.connections.push(connection);
      const worker = new Worker(queue, (job) => this.process(queue, job), {
        connection,
        prefix: this.config.redis.queuePrefix,
        concurrency: this.config.worker.concurrency,
        lockDuration: this.config.jobs.lockMs,
        stalledInterval: Math.max(1000, Math.floor(this.config.jobs.lockMs / 2)),
        // A job whose worker died is redelivered up to this many times before it is failed.
        maxStalledCount: 3,
        autorun: true,
      });
      worker.on('error', (err) => this.logger.error({ queue, err: err.message }, 'worker error'));
      worker.on('failed', (job, err) =>
        this.logger.warn({ queue, job: job?.id, name: job?.name, attempt: job?.attemptsMade, err: err.message }, 'job failed'),
      );
      this.workers.push(worker);
    }
    this.logger.log(`Serving queues: ${this.queues.join(', ')} (concurrency ${this.config.worker.concurrency})`);
  }

  private async process(queue: QueueName, job: Job): Promise<unknown> {
    const handler = this.handlers.get(job.name);
    if (!handler) throw new TerminalJobError(`No handler for job ${job.name} in this worker`);
    const started = performance.now();
    try {
      const result = await handler(job);
      this.observer.onJobFinished(queue, job.name, 'completed', performance.now() - started);
      return result;
    } catch (err) {
      const terminal = err instanceof TerminalJobError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      this.observer.onJobFinished(queue, job.name, terminal ? 'failed' : 'retry', performance.now() - started);
      throw err;
    }
  }

  /** SIGTERM: stop taking jobs and let the ones in progress finish (BullMQ's close waits for them). */
  async beforeApplicationShutdown(signal?: string) {
    this.logger.log(`Draining ${this.workers.length} worker(s)${signal ? ` on ${signal}` : ''}`);
    await Promise.all(this.workers.map((w) => w.close()));
    this.connections.forEach((c) => c.disconnect());
  }
}
