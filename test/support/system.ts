// An in-process Contour for integration tests: the real coordinator application (HTTP through supertest) and,
// when asked, the real worker module, both on real PostgreSQL and Redis.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { ContourConfig, loadConfig } from '@contour/config';
import { Role } from '@contour/db';
import { ctPhantomSeries } from '@contour/dicom';
import { QueueName } from '@contour/queue';
import { createCoordinator } from '../../apps/coordinator/src/bootstrap';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { openTestDatabase, TestDatabase } from './database';
import { redisUrl, uniquePrefix } from './env';
import { isEmbeddedPostgres } from './processes';

export const ADMIN_PASSWORD = 'admin-password-for-tests';
export const USER_PASSWORD = 'user-password-for-tests';

export interface TestSystem {
  config: ContourConfig;
  db: TestDatabase;
  app: INestApplication;
  worker: INestApplicationContext | null;
  http(): ReturnType<typeof request>;
  login(username: string, password?: string): Promise<string>;
  adminToken: string;
  /** Creates a user with these system roles and returns its id and a token. */
  user(username: string, roles: Role[], skills?: string[]): Promise<{ id: string; token: string }>;
  close(): Promise<void>;
}

export function testConfig(dbUrl: string, overrides: Record<string, string> = {}): ContourConfig {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl(),
    JWT_SECRET: 'integration-test-secret-integration-test-secret',
    QUEUE_PREFIX: uniquePrefix('it'),
    CONTOUR_DATA_DIR: mkdtempSync(join(tmpdir(), 'contour-it-')),
    CONTOUR_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOG_LEVEL: 'silent',
    JOB_ATTEMPTS: '3',
    JOB_BACKOFF_MS: '50',
    // Tests that need the C-STORE receiver pass DICOM_PORT (a free port) and DICOM_ENABLED themselves.
    DICOM_ENABLED: overrides.DICOM_PORT ? 'true' : 'false',
    // A floor well under the default's 1 GiB: a test machine's disk may hold less free than a server's should.
    DISK_RESERVE_BYTES: String(64 * 1024 ** 2),
    // The embedded PostgreSQL (no DATABASE_URL) has one backend for every connection: no named statements, as the
    // launcher runs it (two requests at once failed with "prepared statement … already exists").
    ...(isEmbeddedPostgres(dbUrl) ? { DATABASE_PREPARED_STATEMENTS: 'false' } : {}),
    ...overrides,
  });
}

export async function startSystem(options: { worker?: boolean; queues?: QueueName[]; env?: Record<string, string> } = {}): Promise<TestSystem> {
  const db = await openTestDatabase();
  const config = testConfig(db.url, options.env);
  const app = await createCoordinator(config, false);
  const worker = options.worker
    ? await NestFactory.createApplicationContext(WorkerModule.forRoot(config, options.queues ?? [QueueName.Ingest]), { logger: false })
    : null;
  const server = app.getHttpServer();
  const http = () => request(server);
  const login = async (username: string, password = USER_PASSWORD) => {
    const res = await http().post('/api/auth/login').send({ username, password });
    if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.accessToken as string;
  };
  const adminToken = await login('admin', ADMIN_PASSWORD);
  return {
    config,
    db,
    app,
    worker,
    http,
    login,
    adminToken,
    async user(username, roles, skills = []) {
      const res = await http().post('/api/users').set('authorization', `Bearer ${adminToken}`).send({ username, password: USER_PASSWORD, roles, skills });
      if (res.status !== 201) throw new Error(`create user ${username}: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id, token: await login(username) };
    },
    async close() {
      await worker?.close();
      await app.close();
      await db.close();
    },
  };
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms${last ? `: ${last instanceof Error ? last.message : last}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A supertest parser that keeps the response body as one Buffer, whatever its type (`.buffer(true).parse(binary)`). */
export const binary = ((res: import('node:http').IncomingMessage, cb: (e: Error | null, body: Buffer) => void): void => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
  res.on('error', (e) => cb(e, Buffer.alloc(0)));
  // superagent hands its parsers the node response, though its types say its own Response.
}) as unknown as (res: import('superagent').Response, cb: (e: Error | null, body: unknown) => void) => void;

/**
 * Uploads a small synthetic CT series (`dims` columns x rows x slices) into a project of one study as `token`'s
 * user, and waits for its first task to be ready. Returns the task id.
 */
export async function uploadPhantomTask(sys: TestSystem, token: string, project: string, seed: string, dims: [number, number, number]): Promise<string> {
  const up = sys.http().post(`/api/projects/${project}/uploads`).set({ authorization: `Bearer ${token}` });
  ctPhantomSeries({ seed, slices: dims[2], rows: dims[1], columns: dims[0], pixelSpacing: 8, patient: { name: `Phantom^${seed}`, id: `P-${seed}` } }).files.forEach((f, i) => up.attach('files', f, `${i}.dcm`));
  await up.expect(202);
  return eventually(async () => {
    const [t] = (await sys.http().get(`/api/projects/${project}/tasks`).set({ authorization: `Bearer ${token}` }).expect(200)).body as { id: string; state: string }[];
    return t?.state === 'ready' ? t.id : null;
  }, 30_000);
}
