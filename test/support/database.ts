import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createDataSource, migrate } from '@contour/db';
import { startEmbeddedPostgresProcess } from './processes';

export interface TestDatabase {
  url: string;
  dataSource: DataSource;
  /** Drops everything and re-runs the migrations. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A database for one test file: with DATABASE_URL, a database of its own on that server (one per jest
 * worker, recreated per file); without it, an in-memory embedded PGlite.
 */
export async function openTestDatabase(): Promise<TestDatabase> {
  let embedded: { url: string; stop(): Promise<void> } | null = null;
  let url: string;
  if (process.env.DATABASE_URL) {
    const base = new URL(process.env.DATABASE_URL);
    // Unique per test process, so two test runs sharing one server never drop each other's database.
    const name = `contour_test_${process.pid}_${process.env.JEST_WORKER_ID ?? '0'}`;
    const admin = new Client({ connectionString: base.toString() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    base.pathname = `/${name}`;
    url = base.toString();
  } else {
    embedded = await startEmbeddedPostgresProcess(null);
    url = embedded.url;
  }
  const dataSource = createDataSource({ url, poolSize: 20 });
  await dataSource.initialize();
  await migrate(dataSource);
  return {
    url,
    dataSource,
    async reset() {
      await dataSource.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
      await migrate(dataSource);
    },
    async close() {
      await dataSource.destroy();
      await embedded?.stop();
      if (process.env.DATABASE_URL) {
        const admin = new Client({ connectionString: process.env.DATABASE_URL });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`).catch(() => undefined);
        await admin.end();
      }
    },
  };
}
