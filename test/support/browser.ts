// What the real-browser e2e tests share: Debian's Chromium driven by playwright-core, a database of the test file's
// own, signing in through the login page, waiting assertions on what the screen shows, and axe-core.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { Browser, chromium, Locator, Page } from 'playwright-core';
import { openTestDatabase } from './database';
import { DIST } from './env';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Headless, no sandbox (containers), no GPU, nothing fetched in the background. */
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
/** WebGL2 without a GPU, for the viewers: SwiftShader. */
export const WEBGL_ARGS = ['--use-gl=swiftshader', '--enable-unsafe-swiftshader'];

/** Fails early, saying what to do, when the web build or Chromium is missing. */
export function assertBrowserTestPrerequisites() {
  if (!existsSync(join(DIST, 'web/index.html'))) throw new Error('dist/apps/web is missing: run `npx vite build --config apps/web/vite.config.mts` (part of `npm run build`) first');
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium package or set CHROMIUM_PATH`);
}

export const launchChromium = (extraArgs: string[] = []): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });

/**
 * A new browser context signed in as `username` through the login page, on the project list. Uncaught page
 * errors go to `onPageError`, prefixed with the user name.
 */
export async function signInPage(browser: Browser, baseUrl: string, username: string, password: string, onPageError?: (message: string) => void): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => onPageError?.(`${username}: ${e.message}`));
  await page.goto(`${baseUrl}/projects`);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${baseUrl}/`);
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
  return page;
}

/** Waits until `get` returns a value `ok` accepts (or the time is up) and returns the last value seen. */
export async function poll<T>(get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waiting assertions on what the screen shows (playwright-core has no expect of its own). node:assert rather than
 * jest's expect: the benchmarks compile test/support without jest's types.
 */
export const see = (loc: Locator, timeoutMs?: number) => {
  const is = <T>(what: string, actual: T, expected: T | RegExp) => {
    const ok = expected instanceof RegExp ? expected.test(String(actual)) : actual === expected;
    assert.ok(ok, `${loc}: ${what} is ${JSON.stringify(actual)}, expected ${expected instanceof RegExp ? expected : JSON.stringify(expected)}`);
  };
  return {
    visible: () => loc.first().waitFor({ state: 'visible', timeout: timeoutMs ?? 15_000 }),
    text: async (expected: string) => is('the text', await poll(async () => ((await loc.first().textContent()) ?? '').trim(), (t) => t === expected, timeoutMs), expected),
    contains: async (expected: string) => {
      const t = await poll(async () => (await loc.first().textContent()) ?? '', (x) => x.includes(expected), timeoutMs);
      assert.ok(t.includes(expected), `${loc}: the text ${JSON.stringify(t)} does not contain ${JSON.stringify(expected)}`);
    },
    attr: async (name: string, expected: string | RegExp) =>
      is(`attribute ${name}`, await poll(async () => (await loc.first().getAttribute(name)) ?? '', (a) => (typeof expected === 'string' ? a === expected : expected.test(a)), timeoutMs), expected),
    value: async (expected: string) => is('the value', await poll(() => loc.first().inputValue(), (v) => v === expected, timeoutMs), expected),
    notValue: async (unexpected: string) => {
      const v = await poll(() => loc.first().inputValue(), (x) => x !== unexpected, timeoutMs);
      assert.ok(v !== unexpected, `${loc}: the value is still ${JSON.stringify(v)}`);
    },
    count: async (n: number) => is('the count', await poll(() => loc.count(), (c) => c === n, timeoutMs), n),
    checked: async (on: boolean) => is('checked', await poll(() => loc.first().isChecked(), (c) => c === on, timeoutMs), on),
  };
};

/**
 * An empty database of the test file's own (`contour_<tag>_e2e_<pid>`). With DATABASE_URL it is not
 * contour_test_<jest worker>: another jest run on the same server (a colleague's, a second terminal) recreates
 * those and would pull it away mid-test. The coordinator runs the migrations itself, as in production.
 */
export async function ownDatabase(tag: string): Promise<{ url: string; close(): Promise<void> }> {
  if (!process.env.DATABASE_URL) {
    const db = await openTestDatabase();
    return { url: db.url, close: () => db.close() };
  }
  const server = new URL(process.env.DATABASE_URL);
  const name = `contour_${tag}_e2e_${process.pid}`;
  const sql = async (q: string) => {
    const c = new Client({ connectionString: server.toString() });
    await c.connect();
    await c.query(q).finally(() => c.end());
  };
  await sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await sql(`CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.toString(), close: () => sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

declare global {
  interface Window {
    axe?: { run(ctx: Document, opts: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> };
  }
}

/**
 * Runs axe-core on the page as it is now; every violation goes into `record[name]` (when given) and the test
 * fails on a serious or critical one.
 */
export async function checkAxe(page: Page, name: string, record?: Record<string, AxeViolation[]>): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ path: require.resolve('axe-core') });
  const violations = await page.evaluate(async () => {
    const r = await window.axe!.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  if (record) record[name] = violations;
  assert.deepEqual({ name, serious: violations.filter((v) => v.impact === 'serious' || v.impact === 'critical') }, { name, serious: [] });
  return violations;
}
