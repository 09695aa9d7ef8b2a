import { DataSource, DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export interface DataSourceSettings {
  url: string;
  poolSize?: number;
  /** Log every SQL statement (debugging only). */
  logging?: boolean;
  applicationName?: string;
}

/** The one place the TypeORM options are assembled, shared by both processes, tests and the CLI. */
export function dataSourceOptions(settings: DataSourceSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    installExtensions: false,
    uuidExtension: 'pgcrypto',
    logging: settings.logging ?? false,
    applicationName: settings.applicationName ?? 'contour',
    extra: { max: settings.poolSize ?? 10, connectionTimeoutMillis: 10_000 },
  };
}

export function createDataSource(settings: DataSourceSettings): DataSource {
  return new DataSource(dataSourceOptions(settings));
}

/**
 * Runs pending migrations while holding a PostgreSQL advisory lock, so a coordinator and several workers
 * starting at once never run the same migration twice.
 */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(774411)');
    const done = await dataSource.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock(774411)').catch(() => undefined);
    await runner.release();
  }
}

/** True when every migration in the code base has been applied to the connected database. */
export async function isSchemaCurrent(dataSource: DataSource): Promise<boolean> {
  return !(await dataSource.showMigrations());
}
