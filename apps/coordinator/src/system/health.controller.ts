import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { Public } from '@contour/auth';
import { isSchemaCurrent } from '@contour/db';
import { JobQueue, REDIS } from '@contour/queue';
import { BLOB_STORE, BlobStore } from '@contour/storage';

async function check<T>(fn: () => Promise<T>): Promise<{ ok: boolean; ms: number; detail?: T; error?: string }> {
  const started = performance.now();
  try {
    const detail = await fn();
    return { ok: true, ms: Math.round(performance.now() - started), detail };
  } catch (e) {
    return { ok: false, ms: Math.round(performance.now() - started), error: e instanceof Error ? e.message : String(e) };
  }
}

@ApiTags('system')
@Controller('api/health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly jobs: JobQueue,
  ) {}

  /** 200 when Postgres, Redis and the queues answer; 503 (with the failing part named) otherwise. */
  @Public()
  @Get()
  async health(@Res({ passthrough: true }) res: Response) {
    const [postgres, redis, queues] = await Promise.all([
      check(async () => {
        await this.dataSource.query('SELECT 1');
        return { schemaCurrent: await isSchemaCurrent(this.dataSource) };
      }),
      check(async () => this.redis.ping()),
      check(async () => {
        const out: Record<string, { counts: Record<string, number>; workers: number }> = {};
        for (const q of this.jobs.all()) {
          out[q.name] = { counts: await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'), workers: (await q.getWorkers()).length };
        }
        return out;
      }),
    ]);
    const ok = postgres.ok && redis.ok && queues.ok;
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'degraded', postgres, redis, queues, blobStore: this.blobs.describe() };
  }
}
