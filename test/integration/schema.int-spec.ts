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

  it('ExcludedImagesBlanked and later data migrations: excluded images listed, cached volume dropped, tasks held only by them released; original UIDs out of geometry records and item names; open reads of held tasks not offered', async () => {
    const ds = db.dataSource;
    // Back to just before it (later migrations first).
    for (;;) {
      const [last] = await ds.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`);
      await ds.undoLastMigration({ transaction: 'each' });
      if (last.name === 'ExcludedImagesBlanked1795800000000') break;
    }
    const [{ id: projectId }] = await ds.query(`INSERT INTO projects (name, settings) VALUES ('migration', '{"deid": {"burnedInHold": "declared"}}') RETURNING id`);
    // HoldAllByDefault: a project made before 'all' became the default keeps what it had.
    const [{ id: older }] = await ds.query(`INSERT INTO projects (name, settings) VALUES ('older', '{"quality": {"reads": 2}}') RETURNING id`);
    const [{ id: patientId }] = await ds.query(`INSERT INTO patients (project_id, pseudonym) VALUES ($1, 'P1') RETURNING id`, [projectId]);
    const [{ id: studyId }] = await ds.query(`INSERT INTO studies (project_id, patient_id, study_instance_uid) VALUES ($1, $2, '1.2.3') RETURNING id`, [projectId, patientId]);
    const series = async (uid: string) =>
      (await ds.query(`INSERT INTO series (project_id, study_id, series_instance_uid, modality, geometry, volume_blob_key) VALUES ($1, $2, $3, 'US', '{"order": []}', 'old-volume') RETURNING id`, [projectId, studyId, uid]))[0].id as string;
    const [withExcluded, withWaiting] = [await series('1.2.3.1'), await series('1.2.3.2')];
    const instance = async (seriesId: string, uid: string, flags: string[], review: object | null) =>
      (
        await ds.query(
          `INSERT INTO instances (project_id, series_id, sop_instance_uid, sop_class_uid, transfer_syntax_uid, blob_key, source_hash, size_bytes, flags, attributes) VALUES ($1, $2, $3, '1.2.840.10008.5.1.4.1.1.6.1', '1.2.840.10008.1.2.1', $3, $3, 1, $4, $5) RETURNING id`,
          [projectId, seriesId, uid, flags, JSON.stringify(review ? { privacyReview: review } : {})],
        )
      )[0].id as string;
    const excluded = await instance(withExcluded, '1.2.3.1.1', ['burned-in-annotation'], { decision: 'exclude' });
    await instance(withExcluded, '1.2.3.1.2', ['burned-in-annotation'], { decision: 'clear' });
    await instance(withExcluded, '1.2.3.1.3', [], null);
    const waitingImage = await instance(withWaiting, '1.2.3.2.1', ['burned-in-annotation'], null);
    // OriginalUidsOutOfIndex: a geometry record named by the original SOP Instance UID, items named after original UIDs.
    await ds.query(`UPDATE instances SET attributes = '{"geometry": {"id": "1.2.840.99.original", "rows": 2}}' WHERE id = $1`, [waitingImage]);
    const [{ id: batch }] = await ds.query(`INSERT INTO ingest_batches (project_id, source) VALUES ($1, 'c-store') RETURNING id`, [projectId]);
    const [{ id: received }] = await ds.query(`INSERT INTO ingest_items (batch_id, project_id, file_name, raw_blob_key, size_bytes) VALUES ($1, $2, '1.2.840.99.12345.dcm', 'k', 1) RETURNING id`, [batch, projectId]);
    const task = async (seriesId: string, key: string, instanceId: string | null) =>
      (await ds.query(`INSERT INTO tasks (project_id, study_id, series_ids, instance_id, kind, split_key, modality, state, privacy_held, reads_required) VALUES ($1, $2, $3, $4, $5, $6, 'US', 'ready', true, 1) RETURNING id`, [projectId, studyId, [seriesId], instanceId, instanceId ? 'image' : 'series', key]))[0].id as string;
    const released = await task(withExcluded, 'series:a', null);
    const ownImage = await task(withExcluded, 'image:a', excluded);
    const waiting = await task(withWaiting, 'series:b', null);
    // OfferedReads: each task's open read.
    await ds.query(`INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at) SELECT id, project_id, 'annotation', 0, 'open', created_at FROM tasks WHERE study_id = $1`, [studyId]);
    await ds.runMigrations({ transaction: 'each' });
    const geometry = Object.fromEntries((await ds.query(`SELECT id, geometry, volume_blob_key FROM series WHERE study_id = $1`, [studyId])).map((r: { id: string }) => [r.id, r]));
    expect(geometry[withExcluded]).toMatchObject({ geometry: { order: [], excluded: [excluded] }, volume_blob_key: null });
    expect(geometry[withWaiting]).toMatchObject({ geometry: { order: [] }, volume_blob_key: 'old-volume' });
    const held = Object.fromEntries((await ds.query(`SELECT id, privacy_held FROM tasks WHERE study_id = $1`, [studyId])).map((r: { id: string; privacy_held: boolean }) => [r.id, r.privacy_held]));
    expect(held).toEqual({ [released]: false, [ownImage]: true, [waiting]: true });
    // Offered to the pool: only the open read of the task that is no longer held.
    const offered = Object.fromEntries((await ds.query(`SELECT task_id, offered FROM task_reads WHERE project_id = $1`, [projectId])).map((r: { task_id: string; offered: boolean }) => [r.task_id, r.offered]));
    expect(offered).toEqual({ [released]: true, [ownImage]: false, [waiting]: false });
    const [{ attributes }] = await ds.query(`SELECT attributes FROM instances WHERE id = $1`, [waitingImage]);
    expect(attributes.geometry).toEqual({ id: '1.2.3.2.1', rows: 2 });
    const [{ file_name }] = await ds.query(`SELECT file_name FROM ingest_items WHERE id = $1`, [received]);
    expect(file_name).toBe(`image-${received.slice(0, 8)}.dcm`);
    const [{ settings }] = await ds.query(`SELECT settings FROM projects WHERE id = $1`, [older]);
    expect(settings).toEqual({ quality: { reads: 2 }, deid: { burnedInHold: 'declared' } });
  });

  it('UsernameWithoutCase names the accounts that differ only in case instead of failing on a duplicate key; once renamed, it applies', async () => {
    const ds = db.dataSource;
    // Back to just before it (later migrations undone first).
    const latest = async () => (await ds.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`))[0].name as string;
    while ((await latest()) !== 'UsernameWithoutCase1795880000000') await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await latest()).not.toBe('UsernameWithoutCase1795880000000');
    const [{ id: upper }] = await ds.query(`INSERT INTO users (username, display_name, password_hash, roles) VALUES ('Casey', 'a', 'x', '{}'), ('casey', 'b', 'x', '{}') RETURNING id`);
    await expect(ds.runMigrations({ transaction: 'each' })).rejects.toThrow(/differ in more than case, and these do not: Casey \/ casey\. Rename one of each/);
    await ds.query(`UPDATE users SET username = 'casey.b' WHERE id = $1`, [upper]);
    await ds.runMigrations({ transaction: 'each' });
    await expect(ds.query(`INSERT INTO users (username, display_name, password_hash, roles) VALUES ('CASEY.B', 'c', 'x', '{}')`)).rejects.toThrow(/users_username_lower/);
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
