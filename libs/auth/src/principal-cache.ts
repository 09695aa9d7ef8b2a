// What a credential resolves to, kept in memory between requests: every API call resolves its caller, and the
// statement doing it was a third of the statements of an annotator's next + submit. Correctness comes first:
// - PostgreSQL tells every coordinator when users, memberships, projects or token revocations change (triggers
//   of migration 1795780000000 NOTIFY on the `contour_auth` channel); any such change empties the whole cache;
// - the changes Contour makes itself empty it here too, right after they commit (`invalidate()`), so the caller
//   of such a change never races its own notification;
// - the cache is only used while the notification connection is up and proved to deliver (a probe NOTIFY on
//   start and after each reconnect); while it is down every request reads the database;
// - a lookup that started before an invalidation is not stored (the generation check), and entries expire
//   after `ttlMs` whatever happens.
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';

export const AUTH_CHANNEL = 'contour_auth';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

@Injectable()
export class PrincipalCache<T = unknown> implements OnModuleDestroy {
  private readonly log = new Logger(PrincipalCache.name);
  private readonly entries = new Map<string, Entry<T>>();
  private generation = 0;
  private live = false;
  private client: Client | null = null;
  private starting: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  ttlMs = 60_000;
  maxEntries = 20_000;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** True while cached answers may be used (the notification connection is up and delivers). */
  get active(): boolean {
    return this.live;
  }

  /** The cached value, or undefined (also while the cache is not live; the first call starts listening). */
  get(key: string): T | undefined {
    if (!this.live) {
      // (Re)connects in the background; after a failure the retry timer does, not every request.
      if (!this.retry) void this.start();
      return undefined;
    }
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Take before the database read whose result will be stored with `set`. */
  stamp(): number {
    return this.generation;
  }

  /** Stores a value read after `stamp()`, unless something changed since (or the cache is not live). */
  set(key: string, value: T, stamp: number): void {
    if (!this.live || stamp !== this.generation) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expiresAt: Date.now() + this.ttlMs });
  }

  /** Forgets everything: call after committing a change to a user, a membership, a project or a token. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Starts listening (once); resolves when the cache is live or has given up for now. */
  start(): Promise<void> {
    if (this.closed || this.live) return Promise.resolve();
    return (this.starting ??= this.listen().finally(() => (this.starting = null)));
  }

  private async listen(): Promise<void> {
    const url = (this.dataSource.options as { url?: string }).url;
    if (!url || !this.dataSource.isInitialized) return;
    const client = new Client({ connectionString: url });
    const down = (why: unknown) => {
      if (this.client !== client) return;
      this.client = null;
      this.stop();
      if (!this.closed) {
        this.log.warn(`Credential cache off (its notification connection: ${why instanceof Error ? why.message : String(why)}); every request reads the database until it reconnects`);
        this.retry ??= setTimeout(() => ((this.retry = null), void this.start()), 2000).unref();
      }
    };
    client.on('error', down);
    client.on('end', () => down('closed'));
    // Ours from here: a failure to connect or listen is a lost connection like any other (`down`).
    this.client = client;
    try {
      await client.connect();
      const probe = `probe:${randomUUID()}`;
      const delivered = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 3000).unref();
        client.on('notification', (n) => {
          if (n.payload === probe) {
            clearTimeout(timer);
            resolve(true);
          }
          // Any change, and the probe itself: forget everything (entries stored before LISTEN may be stale).
          this.invalidate();
        });
      });
      await client.query(`LISTEN ${AUTH_CHANNEL}`);
      await this.dataSource.query(`SELECT pg_notify($1, $2)`, [AUTH_CHANNEL, probe]);
      if (!(await delivered)) {
        // A server that accepts LISTEN but does not deliver (the embedded PGlite's socket): no cache at all.
        this.log.log('Credential cache off: the database does not deliver notifications');
        this.closed = true;
        this.client = null;
        await client.end().catch(() => undefined);
        return;
      }
      // The probe's notification emptied the cache: nothing stored before listening survives.
      if (this.client === client) this.live = true;
    } catch (e) {
      down(e);
      await client.end().catch(() => undefined);
    }
  }

  private stop(): void {
    this.live = false;
    this.invalidate();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.starting?.catch(() => undefined);
    const client = this.client;
    this.client = null;
    this.stop();
    await client?.end().catch(() => undefined);
  }
}
