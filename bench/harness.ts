// Shared pieces of the benchmarks: real services (PostgreSQL, Redis from the environment like the tests),
// Contour's processes started from dist/, timing and memory sampling.
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { openTestDatabase, TestDatabase } from '../test/support/database';
import { ApiClient, contourEnv, coordinatorScript, removeDataDir, RunningProcess, startProcess, waitForHealthy, workerScript } from '../test/support/processes';

export interface Contour {
  db: TestDatabase;
  env: NodeJS.ProcessEnv;
  api: ApiClient;
  base: string;
  coordinator: RunningProcess;
  workers: RunningProcess[];
  stop(): Promise<void>;
}

/** `queues` applies to every worker; `workerQueues[i]`, when given, to worker i. */
export async function startContour(options: { workers?: number; queues?: string; workerQueues?: string[]; env?: Record<string, string> } = {}): Promise<Contour> {
  process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';
  const db = await openTestDatabase();
  const env = await contourEnv(db.url, { LOG_LEVEL: 'warn', ...options.env });
  const coordinator = startProcess(coordinatorScript, [], env);
  const base = `http://127.0.0.1:${env.PORT}`;
  await waitForHealthy(base, 120_000).catch((e: Error) => {
    throw new Error(`${e.message}\ncoordinator output:\n${coordinator.output().slice(-3000)}`);
  });
  const workers: RunningProcess[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) {
    // Workers log at info: their "ready" line is what we wait for (one line per job, as in production).
    const queues = options.workerQueues?.[i] ?? options.queues;
    const w = startProcess(workerScript, queues ? ['--queues', queues] : [], { ...env, LOG_LEVEL: 'info' });
    workers.push(w);
    await w.waitForOutput(/Contour worker ready/, 120_000);
  }
  const api = await new ApiClient(base).login('admin', env.CONTOUR_ADMIN_PASSWORD!);
  const contour: Contour = {
    db,
    env,
    api,
    base,
    coordinator,
    workers,
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await coordinator.stop();
      await db.close();
      removeDataDir(env);
      started.delete(contour);
    },
  };
  started.add(contour);
  return contour;
}

const started = new Set<Contour>();

/** The last output of every Contour still running: what a failed benchmark prints beside its error. */
export function runningOutput(): string {
  return [...started].map((c) => [c.coordinator, ...c.workers].map((p) => p.output().slice(-3000)).join('\n---\n')).join('\n===\n');
}

/** Busy CPU time of the whole machine so far (every core, /proc/stat: all but idle and iowait), in ms. */
export function machineCpu(): { busyMs: number } {
  // Linux only: elsewhere the benchmark reports no CPU per operation (NaN).
  if (!existsSync('/proc/stat')) return { busyMs: Number.NaN };
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  // USER_HZ is 100 on Linux.
  return { busyMs: (user + nice + system + irq + softirq + steal) * 10 };
}

/** Peak resident set size (VmHWM) of a process, in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

export async function until(fn: () => Promise<boolean>, timeoutMs = 600_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`benchmark condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const fmt = (n: number, digits = 1) => n.toFixed(digits);
