// Embedded PostgreSQL for the zero-setup start: PGlite (PostgreSQL compiled to WASM) served over the
// PostgreSQL wire protocol, so TypeORM and `pg` talk to it exactly as they talk to a real server.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/** Starts PGlite with its data under `dataDir` (or in memory when null) and listens on 127.0.0.1:`port`. */
export async function startEmbeddedPostgres(dataDir: string | null, port = 0): Promise<EmbeddedPostgres> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ?? 'memory://');
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 100 });
  keepExtendedQueriesTogether(server, db);
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres:postgres@${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** What pglite-socket's (unexported) query queue holds; see `keepExtendedQueriesTogether`. */
interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(e: unknown): void;
  onData(data: Uint8Array): void;
}
interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  processQueue(): Promise<void>;
  clearTransactionIfNeeded(handlerId: number): Promise<void>;
}

// Extended-query messages (Parse, Bind, Describe, Execute, Close, Flush) run until the next Sync.
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));
const SYNC = 'S'.charCodeAt(0);

/**
 * PGlite is one backend shared by every socket. pglite-socket 0.2 queues messages one by one and keeps a
 * connection's messages together only inside an explicit transaction, so when one connection's Parse and
 * its Bind arrive in separate reads, another connection's Parse can run in between and replace the unnamed
 * statement ("bind message supplies 1 parameters, but prepared statement "" requires 5"). This replaces the
 * queue's scheduler so that a connection that has started an extended query owns PGlite until its Sync (and,
 * as before, until the end of its transaction), and releases it when that connection goes away. It also
 * keeps the queue running after a message fails, where the original stopped for good.
 */
export function keepExtendedQueriesTogether(server: PGLiteSocketServer, db: PGlite): void {
  const q = (server as unknown as { queryQueue: QueryQueue }).queryQueue;
  let owner: number | null = null;
  q.processQueue = async function processQueue() {
    if (q.processing) return;
    q.processing = true;
    try {
      while (q.queue.length > 0) {
        const holder = owner ?? (db.isInTransaction() ? q.lastHandlerId : null);
        const index = holder === null ? 0 : q.queue.findIndex((m) => m.handlerId === holder);
        if (index === -1) break; // wait for the holder's next message
        const [item] = q.queue.splice(index, 1);
        const type = item.message[0];
        if (EXTENDED.has(type)) owner = item.handlerId;
        else if (type === SYNC) owner = null;
        let bytes = 0;
        try {
          await db.runExclusive(() =>
            db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (e) {
          item.reject(e);
          continue;
        }
        q.lastHandlerId = item.handlerId;
        item.resolve(bytes);
      }
    } finally {
      q.processing = false;
    }
  };
  const clearTransaction = q.clearTransactionIfNeeded.bind(q);
  q.clearTransactionIfNeeded = async (handlerId: number) => {
    if (owner === handlerId) {
      owner = null;
      // Close the half-finished extended query so the next connection starts clean.
      await db.runExclusive(() => db.execProtocolRaw(new Uint8Array([SYNC, 0, 0, 0, 4]))).catch(() => undefined);
    }
    await clearTransaction(handlerId);
    await q.processQueue();
  };
}
