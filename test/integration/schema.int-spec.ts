import { openTestDatabase, TestDatabase } from '../support/database';

describe('database schema', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db.close());

  // The "pending migrations" check: an entity changed without a migration makes this fail, with the SQL
  // that is missing (run `npm run migration:generate -- <Name>` to write it).
  it('the migrations produce exactly the schema the entities describe', async () => {
    const sql = await db.dataSource.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('the audit log refuses UPDATE, DELETE and TRUNCATE', async () => {
    await db.dataSource.query(`INSERT INTO audit_events (actor_name, action, object_type) VALUES ('t', 'test.event', 'test')`);
    await expect(db.dataSource.query(`UPDATE audit_events SET action = 'rewritten'`)).rejects.toThrow(/append-only: UPDATE/);
    await expect(db.dataSource.query(`DELETE FROM audit_events`)).rejects.toThrow(/append-only: DELETE/);
    await expect(db.dataSource.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only: TRUNCATE/);
    const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'test.event'`);
    expect(n).toBe(1);
  });

  it('migrations can be reverted and re-applied', async () => {
    const ds = db.dataSource;
    const count = (await ds.query('SELECT count(*)::int AS n FROM migrations'))[0].n as number;
    for (let i = 0; i < count; i++) await ds.undoLastMigration({ transaction: 'each' });
    const tables = await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'`);
    expect(tables).toEqual([]);
    await ds.runMigrations({ transaction: 'each' });
    expect((await ds.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
  });
});
