// Jest global setup: makes sure a Redis is reachable for the integration and end-to-end tests.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pingRedis } from '../../libs/queue/src/redis';

export default async function globalSetup() {
  if (process.env.REDIS_URL) {
    if (!(await pingRedis(process.env.REDIS_URL, 2000))) throw new Error(`REDIS_URL=${process.env.REDIS_URL} does not answer`);
    return;
  }
  if (await pingRedis('redis://127.0.0.1:6379', 500)) {
    process.env.REDIS_URL = 'redis://127.0.0.1:6379';
    return;
  }
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('Tests need Redis: set REDIS_URL or install redis-server');
  const port = 16379 + Math.floor(Math.random() * 1000);
  const child = spawn(which.stdout.trim(), ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', mkdtempSync(join(tmpdir(), 'redis-'))], { stdio: 'ignore', detached: false });
  (globalThis as { __redis?: typeof child }).__redis = child;
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await pingRedis(url, 200)); i++) await new Promise((r) => setTimeout(r, 100));
  process.env.REDIS_URL = url;
}
