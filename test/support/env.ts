// Where the tests find PostgreSQL, Redis and the shared test data. DATABASE_URL and REDIS_URL come from the
// environment (.ci/run sets them); without them each test file gets an embedded PGlite and jest's global
// setup finds or launches a redis-server.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

// test/support/ in jest, dist/test/support/ when the benchmarks run it compiled.
export const REPO_ROOT = existsSync(resolve(__dirname, '../../package.json')) ? resolve(__dirname, '../..') : resolve(__dirname, '../../..');
export const TEST_DATA = resolve(process.env.CONTOUR_TEST_DATA ?? resolve(REPO_ROOT, '../shared/data'));
export const DIST = resolve(REPO_ROOT, 'dist/apps');

export const dataPath = (...parts: string[]) => resolve(TEST_DATA, ...parts);

export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run the tests through jest (its global setup finds or starts Redis)');
  return url;
}

/** A queue prefix unique to this test file, so files running in parallel never see each other's jobs. */
export const uniquePrefix = (tag: string) => `t-${tag}-${process.env.JEST_WORKER_ID ?? 0}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
