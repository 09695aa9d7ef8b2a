import IORedis, { Redis, RedisOptions } from 'ioredis';

/**
 * A connection suitable for BullMQ. Workers need maxRetriesPerRequest=null so a Redis restart pauses them
 * instead of failing the job being processed.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  // lazyConnect: a process that fails during start-up before using Redis leaves no socket open behind it.
  return new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: true, ...options });
}

/** Resolves when `url` answers PING within `timeoutMs`, false otherwise. Never throws. */
export async function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
