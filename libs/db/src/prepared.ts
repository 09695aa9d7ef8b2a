// Hot statements as named prepared statements: PostgreSQL parses and plans a statement once per connection and
// then only executes it (a routing claim is a CTE of several joins: planning it on every "next" costs as much
// CPU as running it). TypeORM's query() always sends the text, so the pg client under the query runner is used.
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

interface PgClient {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

let named = true;

/**
 * Named prepared statements on (default) or off. Off for the embedded PGlite: its one backend is shared by every
 * connection, so a name one connection prepared already exists for the next, which PostgreSQL refuses.
 */
export function usePreparedStatements(on: boolean): void {
  named = on;
}

/**
 * The rows of `text` run as the prepared statement `name` (one name per distinct text, across the app), on the
 * transaction of `on` when it is an EntityManager in a transaction, else on a pooled connection.
 */
export async function preparedQuery<T>(on: DataSource | EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
  const inTransaction = 'queryRunner' in on && on.queryRunner ? on.queryRunner : undefined;
  const runner: QueryRunner = inTransaction ?? (on as DataSource).createQueryRunner();
  try {
    const client = (await runner.connect()) as PgClient;
    return (await client.query(named ? { name, text, values } : { text, values })).rows as T[];
  } finally {
    if (!inTransaction) await runner.release();
  }
}

const DATE_FIELDS = new Set(['createdAt', 'updatedAt', 'leasedAt', 'leaseExpiresAt', 'submittedAt', 'stateChangedAt']);

/** A row as PostgreSQL's json_agg/row_to_json gives it (snake_case, timestamps as text), as the entity reads. */
export function entityOf<T>(row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const k in row) {
    const v = row[k];
    const key = propertyOf(k);
    out[key] = typeof v === 'string' && DATE_FIELDS.has(key) ? new Date(v) : v;
  }
  return out as T;
}

/** Column name to property name, remembered (the set of column names is small and this runs for every row). */
const properties = new Map<string, string>();
function propertyOf(column: string): string {
  let key = properties.get(column);
  if (key === undefined) properties.set(column, (key = column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())));
  return key;
}
