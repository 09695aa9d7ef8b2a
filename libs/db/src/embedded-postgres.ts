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
