import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { CONFIG, ContourConfig, requireRuntime } from '@contour/config';
import { JobQueue, REDIS } from './job-queue.service';
import { JOB_OBSERVER, JobObserver, SERVED_QUEUES, WorkerHost } from './worker-host.service';
import { QueueName } from './jobs';
import { createRedis } from './redis';

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [CONFIG],
      useFactory: (config: ContourConfig) => createRedis(requireRuntime(config).redisUrl, { connectionName: 'contour' }),
    },
    JobQueue,
  ],
  exports: [REDIS, JobQueue],
})
export class QueueModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly jobs: JobQueue,
  ) {}

  /**
   * Runs after every beforeApplicationShutdown, i.e. after the workers drained (jobs still in progress at SIGTERM
   * may queue follow-up jobs until they finish): then the producers close, then the connection.
   */
  async onApplicationShutdown() {
    await this.jobs.close();
    await closeRedis(this.redis);
  }

  /** Adds the consumer side. Only the worker application imports this. */
  static withWorkers(queues: QueueName[], observer: { useExisting: unknown } | { useValue: JobObserver }): DynamicModule {
    return {
      module: QueueWorkersModule,
      imports: [DiscoveryModule],
      providers: [{ provide: SERVED_QUEUES, useValue: queues }, { provide: JOB_OBSERVER, ...observer } as never, WorkerHost],
      exports: [WorkerHost],
    };
  }
}

@Module({})
export class QueueWorkersModule {}

export async function closeRedis(redis: Redis) {
  await redis.quit().catch(() => redis.disconnect());
}
