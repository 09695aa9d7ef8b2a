// The embedded PostgreSQL (PGlite behind pglite-socket) that `npm start` uses without DATABASE_URL, driven by
// a `pg` pool the way TypeORM drives it: many connections sending extended-protocol queries at once.
// PGlite loads its WebAssembly through dynamic import, which jest's VM sandbox refuses, so the server runs in
// a child process from the build, exactly as the launcher runs it, with its data on disk.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, Socket } from 'node:net';
import { Pool } from 'pg';
import { parse, serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages';
import type { DataSource } from 'typeorm';
import { PrincipalCache } from '@contour/auth';
import { startEmbeddedPostgresProcess } from '../support/processes';

describe('embedded PostgreSQL over the wire protocol', () => {
  let server: { url: string; stop(): Promise<void> };
  let pool: Pool;
  let url: string;

  beforeAll(async () => {
    server = await startEmbeddedPostgresProcess(mkdtempSync(join(tmpdir(), 'pglite-')));
    url = server.url;
    pool = new Pool({ connectionString: url, max: 8 });
    await pool.query('CREATE TABLE jobs (id int PRIMARY KEY, claimed_by int)');
    await pool.query('INSERT INTO jobs SELECT g, NULL FROM generate_series(1, 40) g');
  });
  afterAll(async () => {
    await pool.end();
    await server.stop();
  });

  it('keeps each connection’s Parse/Bind/Execute/Sync together when connections interleave', async () => {
    // Different statements with different parameter counts on the unnamed statement: interleaving one
    // connection's Bind after another's Parse fails with "bind message supplies N parameters".
    const queries = Array.from({ length: 200 }, (_, i) => {
      const n = 1 + (i % 5);
      const params = Array.from({ length: n }, (__, k) => i * 10 + k);
      // Every third statement is large, so its messages span several TCP reads, as an INSERT of a big JSON
      // document or a long IN list does.
      const padding = i % 3 === 0 ? ` /* ${'x'.repeat(50_000 + i * 997)} */` : '';
      const sql = `SELECT ${params.map((_p, k) => `$${k + 1}::int`).join(' + ')} AS sum${padding}`;
      return pool.query(sql, params).then((r) => [Number(r.rows[0].sum), params.reduce((a, b) => a + b, 0)]);
    });
    for (const [got, want] of await Promise.all(queries)) expect(got).toBe(want);
  });

  it('holds a connection’s unfinished extended query while another connection runs its own', async () => {
    // A client may send Parse, and Bind/Execute/Sync later (pg does so when a write is split into several
    // TCP reads under load). Another connection's statement in between must not replace the first one's
    // unnamed statement: before the fix, this failed with "bind message supplies 1 parameters, but prepared
    // statement "" requires 3".
    const a = await RawConnection.open(url);
    const b = await RawConnection.open(url);
    a.send(serialize.parse({ text: 'SELECT $1::int * 2 AS v', types: [] }), serialize.flush());
    await a.waitFor('parseComplete');
    const other = b.query('SELECT $1::int + $2::int + $3::int AS v', ['1', '2', '3']);
    await new Promise((r) => setTimeout(r, 100));
    a.send(serialize.bind({ values: ['21'] }), serialize.describe({ type: 'P' }), serialize.execute(), serialize.sync());
    await a.waitFor('readyForQuery');
    expect(a.errors).toEqual([]);
    expect(a.values).toEqual(['42']);
    expect(await other).toEqual(['6']);
    a.close();
    b.close();
  });

  it('serves concurrent transactions claiming rows with FOR UPDATE SKIP LOCKED, each row once', async () => {
    const claim = async (worker: number) => {
      const got: number[] = [];
      for (;;) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query('SELECT id FROM jobs WHERE claimed_by IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED');
          if (!rows.length) {
            await client.query('COMMIT');
            return got;
          }
          await client.query('UPDATE jobs SET claimed_by = $1 WHERE id = $2', [worker, rows[0].id]);
          await client.query('COMMIT');
          got.push(rows[0].id);
        } finally {
          client.release();
        }
      }
    };
    const claimed = (await Promise.all([1, 2, 3, 4, 5, 6].map(claim))).flat().sort((a, b) => a - b);
    expect(claimed).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('shares one backend between connections: a named prepared statement of one exists for the next (why `npm start` turns them off)', async () => {
    const [a, b] = [await pool.connect(), await pool.connect()];
    try {
      await a.query({ name: 'hot', text: 'SELECT count(*)::int AS n FROM jobs WHERE id <= $1', values: [5] });
      // On a real server each connection has its own statements; here the second Parse of the name is refused.
      await expect(b.query({ name: 'hot', text: 'SELECT count(*)::int AS n FROM jobs WHERE id <= $1', values: [5] })).rejects.toThrow(/prepared statement "hot" already exists/);
      // Unnamed statements (DATABASE_PREPARED_STATEMENTS=false) run on both.
      expect((await b.query({ text: 'SELECT count(*)::int AS n FROM jobs WHERE id <= $1', values: [5] })).rows).toEqual([{ n: 5 }]);
      expect((await a.query({ text: 'SELECT count(*)::int AS n FROM jobs WHERE id <= $1', values: [7] })).rows).toEqual([{ n: 7 }]);
    } finally {
      a.release();
      b.release();
    }
  });

  it('keeps serving other connections after a client disconnects in the middle of an extended query', async () => {
    const a = await RawConnection.open(url);
    a.send(serialize.parse({ text: 'SELECT $1::int', types: [] }), serialize.flush());
    await a.waitFor('parseComplete');
    a.destroy();
    const r = await pool.query('SELECT $1::int + $2::int AS s', [2, 3]);
    expect(r.rows[0].s).toBe(5);
  });

  it('does not deliver notifications between connections, so the credential cache stays off (every request reads the database)', async () => {
    const dataSource = { options: { url }, isInitialized: true, query: async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rows } as unknown as DataSource;
    const cache = new PrincipalCache(dataSource);
    await cache.start();
    expect(cache.active).toBe(false);
    cache.set('k', 'v', cache.stamp());
    expect(cache.get('k')).toBeUndefined();
    await cache.onModuleDestroy();
  });
});

/** A bare wire-protocol client, to send messages with exactly the timing a test needs. */
class RawConnection {
  readonly errors: string[] = [];
  readonly values: string[] = [];
  private readonly seen: string[] = [];
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: Socket) {
    void parse(socket, (m: BackendMessage) => {
      this.seen.push(m.name);
      if (m.name === 'error') this.errors.push((m as unknown as { message: string }).message);
      if (m.name === 'dataRow') this.values.push(...(m as unknown as { fields: string[] }).fields);
      this.waiters.forEach((w) => w());
    });
  }

  static async open(url: string): Promise<RawConnection> {
    const u = new URL(url);
    const socket = connect(Number(u.port), u.hostname);
    await new Promise((r) => socket.once('connect', r));
    const c = new RawConnection(socket);
    c.send(serialize.startup({ user: u.username, database: u.pathname.slice(1) }));
    await c.waitFor('readyForQuery');
    return c;
  }

  send(...messages: Buffer[]) {
    this.socket.write(Buffer.concat(messages));
  }

  /** Resolves when a message named `name` arrives (counting from the call). */
  waitFor(name: string): Promise<void> {
    const from = this.seen.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${name} within 10 s; got ${this.seen.join(', ')}`)), 10_000);
      const check = () => {
        if (this.seen.slice(from).includes(name)) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve();
        }
      };
      this.waiters.push(check);
    });
  }

  async query(text: string, values: string[]): Promise<string[]> {
    const from = this.values.length;
    const done = this.waitFor('readyForQuery');
    this.send(serialize.parse({ text, types: [] }), serialize.bind({ values }), serialize.describe({ type: 'P' }), serialize.execute(), serialize.sync());
    await done;
    if (this.errors.length) throw new Error(this.errors.join('; '));
    return this.values.slice(from);
  }

  close() {
    this.socket.end(serialize.end());
  }

  destroy() {
    this.socket.destroy();
  }
}
