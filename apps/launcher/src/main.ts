// `npm start`: one command that runs the whole of Contour on one machine with embedded defaults.
//   - PostgreSQL: DATABASE_URL, or an embedded PGlite under CONTOUR_DATA_DIR/pgdata served on a local port;
//   - Redis: REDIS_URL, or a Redis already answering on 127.0.0.1:6379, or a private redis-server it launches;
//   - JWT_SECRET: given, or generated once and kept under CONTOUR_DATA_DIR;
// then it starts the coordinator and CONTOUR_WORKERS worker processes and stops everything on Ctrl-C.
import 'reflect-metadata';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '@contour/config';
import { createDataSource, migrate, startEmbeddedPostgres } from '@contour/db';
import { pingRedis } from '@contour/queue';

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
let stopping = false;

function say(line: string) {
  process.stdout.write(`[contour] ${line}\n`);
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
    srv.on('error', rej);
  });
}

async function ensureRedis(dataDir: string): Promise<string> {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  if (await pingRedis('redis://127.0.0.1:6379')) {
    say('Using the Redis answering on 127.0.0.1:6379');
    return 'redis://127.0.0.1:6379';
  }
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0 || !which.stdout.trim()) {
    throw new Error('Redis is needed: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL=redis://host:6379');
  }
  const port = await freePort();
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const redis = spawn(which.stdout.trim(), ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
  cleanups.push(() => {
    redis.kill('SIGTERM');
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await pingRedis(url, 200)) {
      say(`Started a private redis-server on port ${port} (data in ${dir})`);
      return url;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis-server did not answer on port ${port}`);
}

async function ensurePostgres(dataDir: string): Promise<{ url: string; embedded: boolean }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, embedded: false };
  const dir = join(dataDir, 'pgdata');
  const pg = await startEmbeddedPostgres(dir, Number(process.env.EMBEDDED_PG_PORT ?? 0));
  cleanups.push(() => pg.stop());
  say(`Embedded PostgreSQL (PGlite) running, data in ${dir}`);
  return { url: pg.url, embedded: true };
}

function ensureJwtSecret(dataDir: string): string {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET;
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

function startChild(name: string, script: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [script, ...args], { env, stdio: 'inherit' });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    say(`${name} exited (${signal ?? code}); stopping Contour`);
    void shutdown(1);
  });
}

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((res) => {
          if (c.exitCode !== null || c.signalCode !== null) return res();
          c.once('exit', () => res());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  process.exit(code);
}

async function main() {
  const config = loadConfig();
  const dataDir = config.dataDir;
  mkdirSync(dataDir, { recursive: true });
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const redisUrl = await ensureRedis(dataDir);
  const pg = await ensurePostgres(dataDir);
  const ds = createDataSource({ url: pg.url, poolSize: 2 });
  await ds.initialize();
  const applied = await migrate(ds);
  await ds.destroy();
  if (applied.length) say(`Applied ${applied.length} database migration(s)`);

  // A fresh data directory gets the demo project (CONTOUR_DEMO=false skips it).
  const firstRun = !existsSync(join(dataDir, 'jwt-secret')) && !process.env.JWT_SECRET;
  const env: NodeJS.ProcessEnv = {
    CONTOUR_DEMO: firstRun ? 'true' : 'false',
    ...process.env,
    DATABASE_URL: pg.url,
    REDIS_URL: redisUrl,
    JWT_SECRET: ensureJwtSecret(dataDir),
    CONTOUR_DATA_DIR: dataDir,
    DB_MIGRATE: 'false',
    // PGlite serves one query at a time; small pools keep the processes from queueing behind each other.
    // Named prepared statements would collide in PGlite's one shared backend.
    ...(pg.embedded ? { DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE ?? '4', DATABASE_PREPARED_STATEMENTS: 'false' } : {}),
  };
  const dist = resolve(__dirname, '../..');
  startChild('coordinator', join(dist, 'coordinator/src/main.js'), [], env);
  const workers = Number(process.env.CONTOUR_WORKERS ?? 1);
  for (let i = 0; i < workers; i++) startChild(`worker ${i + 1}`, join(dist, 'worker/src/main.js'), [], env);
  say(`Contour is starting: open http://localhost:${config.http.port} (API docs at /api/docs). Ctrl-C stops everything.`);
}

main().catch(async (err) => {
  console.error(`contour: ${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : err}`);
  await shutdown(1);
});
