// Starts Contour's real processes (from dist/, as `npm start` and the Dockerfile do) for end-to-end tests.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, redisUrl, uniquePrefix } from './env';

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` (SIGTERM by default) and resolves with how the process ended. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
  exited: Promise<Exit>;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
    srv.on('error', rej);
  });
}

export function startProcess(script: string, args: string[], env: NodeJS.ProcessEnv): RunningProcess {
  // CHILD_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the started processes.
  const nodeArgs = process.env.CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    waiters.forEach((w) => w());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<Exit>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return {
    child,
    output: () => out,
    waitForOutput(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${pattern} in output:\n${out.slice(-3000)}`)), timeoutMs);
        waiters.push(check);
        void exited.then((code) => {
          clearTimeout(timer);
          if (!out.match(pattern)) reject(new Error(`Process exited (${code.signal ?? code.code}) before printing ${pattern}:\n${out.slice(-3000)}`));
        });
        check();
      });
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface ProcessEnv {
  DATABASE_URL: string;
  [k: string]: string;
}

/** Deletes the blob store and spool of a contourEnv() once its processes have stopped (tests and benchmarks). */
export function removeDataDir(env: NodeJS.ProcessEnv) {
  if (env.CONTOUR_DATA_DIR?.includes('contour-e2e-')) rmSync(env.CONTOUR_DATA_DIR, { recursive: true, force: true });
}

/** Environment shared by a coordinator and its workers in one e2e test. */
export async function contourEnv(databaseUrl: string, extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    // The embedded PostgreSQL has one backend for every connection: as the launcher does, no named statements
    // (a name one connection prepared "already exists" for the next, which failed every request under load).
    ...(isEmbeddedPostgres(databaseUrl) ? { DATABASE_PREPARED_STATEMENTS: 'false' } : {}),
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: uniquePrefix('e2e'),
    JWT_SECRET: 'e2e-secret-e2e-secret-e2e-secret-e2e-secret',
    CONTOUR_ADMIN_PASSWORD: 'e2e-admin-password',
    CONTOUR_DATA_DIR: mkdtempSync(join(tmpdir(), 'contour-e2e-')),
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    // Processes that need the C-STORE receiver pass DICOM_ENABLED and a free DICOM_PORT themselves.
    DICOM_ENABLED: 'false',
    // A floor well under the default's 1 GiB: a test machine's disk may hold less free than a server's should.
    DISK_RESERVE_BYTES: String(64 * 1024 ** 2),
    ...extra,
  };
}

export const coordinatorScript = join(DIST, 'coordinator/src/main.js');
export const workerScript = join(DIST, 'worker/src/main.js');
export const launcherScript = join(DIST, 'launcher/src/main.js');

export interface RunningContour {
  env: NodeJS.ProcessEnv;
  baseUrl: string;
  coordinator: RunningProcess;
  worker: RunningProcess;
  /** Stops the worker, then the coordinator, and deletes their blob store and spool. */
  stop(): Promise<void>;
}

/** A coordinator and one worker (every queue) from dist/ on `databaseUrl`, both ready, as `npm start` runs them. */
export async function startContour(databaseUrl: string, extra: Record<string, string> = {}): Promise<RunningContour> {
  const env = await contourEnv(databaseUrl, extra);
  const baseUrl = `http://127.0.0.1:${env.PORT}`;
  const coordinator = startProcess(coordinatorScript, [], env);
  let worker: RunningProcess | undefined;
  const stop = async () => {
    await worker?.stop();
    await coordinator.stop();
    removeDataDir(env);
  };
  try {
    await waitForHealthy(baseUrl);
    worker = startProcess(workerScript, [], env);
    await worker.waitForOutput(/Contour worker ready/);
  } catch (e) {
    await stop();
    throw e;
  }
  return { env, baseUrl, coordinator, worker, stop };
}

export async function waitForHealthy(baseUrl: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${baseUrl}/api/health`);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${baseUrl} did not become healthy in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A tiny API client over fetch, as a script using an API token would be. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    public token?: string,
  ) {}

  async login(username: string, password: string) {
    const res = await this.request('POST', '/api/auth/login', { username, password });
    this.token = res.accessToken;
    return this;
  }

  async request(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body !== undefined && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  async upload(projectId: string, files: { name: string; data: Buffer }[]) {
    const form = new FormData();
    for (const f of files) form.append('files', new Blob([new Uint8Array(f.data)]), f.name);
    return this.request('POST', `/api/projects/${projectId}/uploads`, form);
  }
}

/**
 * The embedded PostgreSQL (PGlite over the wire protocol) in a child process from the build, as the launcher
 * runs it. PGlite loads its WebAssembly with a dynamic import, which jest's VM sandbox refuses in-process.
 */
/** The URLs of the embedded PostgreSQL servers this process started. */
const embeddedUrls = new Set<string>();

/** Whether `url` is an embedded PostgreSQL this process started (one backend for every connection: no named statements). */
export const isEmbeddedPostgres = (url: string) => embeddedUrls.has(url);

export async function startEmbeddedPostgresProcess(dataDir: string | null): Promise<{ url: string; stop(): Promise<void> }> {
  const module = join(DIST, '../libs/db/src/embedded-postgres.js');
  const script = `const { startEmbeddedPostgres } = require(${JSON.stringify(module)});
    startEmbeddedPostgres(${JSON.stringify(dataDir)}).then((pg) => {
      console.log('embedded-postgres-url=' + pg.url);
      process.on('SIGTERM', () => pg.stop().then(() => process.exit(0)));
    });`;
  const server = startProcess('-e', [script], {});
  const [, url] = await server.waitForOutput(/embedded-postgres-url=(\S+)/, 60_000);
  embeddedUrls.add(url);
  return {
    url,
    stop: async () => {
      embeddedUrls.delete(url);
      await server.stop();
    },
  };
}
