// The queue driver against real Redis: handlers are found by decorator, a missing handler stops start-up,
// transient errors are retried with backoff, terminal ones are not, and shutdown waits for the running job.
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Job } from 'bullmq';
import { ConfigModule, ContourConfig, loadConfig } from '@contour/config';
import { JobHandler, JobName, JobQueue, QueueModule, QueueName, TerminalJobError } from '@contour/queue';
import { redisUrl, uniquePrefix } from '../support/env';
import { eventually } from '../support/system';

const calls: { id: string; attempt: number }[] = [];
let behaviour: (job: Job) => Promise<unknown> = async () => 'ok';

@Injectable()
class FakeIngest {
  @JobHandler(JobName.IngestFiles)
  handle(job: Job) {
    calls.push({ id: job.id!, attempt: job.attemptsMade });
    return behaviour(job);
  }

  @JobHandler(JobName.DicomWebImport)
  handleImport() {
    return undefined;
  }
}

const config = (): ContourConfig =>
  loadConfig({ REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('wh'), JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '20', LOG_LEVEL: 'silent', JWT_SECRET: 'x'.repeat(40), DATABASE_URL: 'postgres://unused@127.0.0.1/unused' });

async function boot(c: ContourConfig, withHandler: boolean) {
  @Module({ imports: [ConfigModule.forRoot(c), QueueModule, QueueModule.withWorkers([QueueName.Ingest], { useValue: { onJobFinished() {} } })], providers: withHandler ? [FakeIngest] : [] })
  class TestWorkerModule {}
  return NestFactory.createApplicationContext(TestWorkerModule, { logger: false });
}

describe('WorkerHost', () => {
  beforeEach(() => {
    calls.length = 0;
  });

  it('refuses to start when a served queue has a job without a handler', async () => {
    await expect(boot(config(), false)).rejects.toThrow(/No handler for job\(s\) ingest.files \(queue ingest\), ingest.dicomweb-import \(queue ingest\)/);
  });

  it('retries transient errors with backoff, then succeeds', async () => {
    const app = await boot(config(), true);
    let n = 0;
    behaviour = async () => {
      if (++n < 3) throw new Error('database connection lost');
      return 'done';
    };
    const job = await app.get(JobQueue).add(JobName.IngestFiles, { itemIds: ['a'] }, { jobId: 'retry-me' });
    await eventually(async () => (await job.getState()) === 'completed');
    expect(calls.map((c) => c.attempt)).toEqual([0, 1, 2]);
    await app.close();
  });

  it('does not retry a terminal error', async () => {
    const app = await boot(config(), true);
    behaviour = async () => {
      throw new TerminalJobError('corrupt input');
    };
    const job = await app.get(JobQueue).add(JobName.IngestFiles, { itemIds: ['b'] });
    await eventually(async () => (await job.getState()) === 'failed');
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toHaveLength(1);
    await app.close();
  });

  it('deduplicates jobs by id', async () => {
    const app = await boot(config(), true);
    behaviour = async () => 'ok';
    const q = app.get(JobQueue);
    const a = await q.add(JobName.IngestFiles, { itemIds: ['c'] }, { jobId: 'same' });
    await q.add(JobName.IngestFiles, { itemIds: ['c'] }, { jobId: 'same' });
    await eventually(async () => (await a.getState()) === 'completed');
    expect(calls).toHaveLength(1);
    await app.close();
  });

  it('on shutdown, finishes the job in progress before closing', async () => {
    const c = config();
    const app = await boot(c, true);
    let finished = false;
    behaviour = async () => {
      await new Promise((r) => setTimeout(r, 500));
      finished = true;
      return 'ok';
    };
    const job = await app.get(JobQueue).add(JobName.IngestFiles, { itemIds: ['d'] });
    await eventually(async () => calls.length === 1, 5000, 10);
    await app.close();
    expect(finished).toBe(true);
    const again = await boot(c, true);
    expect(await again.get(JobQueue).queue(QueueName.Ingest).getJobState(job.id!)).toBe('completed');
    await again.close();
  });
});
