// Submissions arriving all at once on a small connection pool: each submission's transaction holds a connection,
// and what it reads on the way (the protocol, the task's grid) must use that connection. It used to take a second
// one from the pool: with as many submissions in flight as the pool has connections, every transaction waited for
// a connection none of them would free, until the pool's 10 s timeout failed them all (500s under load; found by
// the 200-annotator routing benchmark). The test holds one of a two-connection pool, so a second connection taken
// inside a transaction can never come.
import { DataSource } from 'typeorm';
import { ProjectRole, Role } from '@contour/db';
import { startSystem, TestSystem } from '../support/system';

type U = { id: string; token: string };

describe('a small connection pool under a burst of submissions', () => {
  let sys: TestSystem;
  let pm: U;
  const annotators: U[] = [];
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });

  beforeAll(async () => {
    sys = await startSystem({ env: { DATABASE_POOL_SIZE: '2' } });
    pm = await sys.user('pm', [Role.Manager]);
    for (let i = 0; i < 20; i++) annotators.push(await sys.user(`burst${i}`, [Role.Annotator]));
  });
  afterAll(() => sys.close());

  it('twenty submissions at once on the one free connection of the pool all succeed, the first ones reading the protocol on their own connection', async () => {
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'burst', settings: { quality: { reads: 1, reviewRequired: false } } }).expect(201)).body.id as string;
    await sys.http().post(`/api/projects/${project}/protocols`).set(bearer(pm)).send({ annotationTypes: [{ kind: 'classification', question: 'Finding?', choices: ['yes', 'no'] }] }).expect(201);
    for (const a of annotators) await sys.http().put(`/api/projects/${project}/members/${a.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    const ds = sys.db.dataSource;
    const [{ id: patient }] = await ds.query(`INSERT INTO patients (project_id, pseudonym) VALUES ($1, 'BURST') RETURNING id`, [project]);
    const [{ id: study }] = await ds.query(`INSERT INTO studies (project_id, patient_id, study_instance_uid) VALUES ($1, $2, '1.2.3.9') RETURNING id`, [project, patient]);
    const [{ id: series }] = await ds.query(`INSERT INTO series (project_id, study_id, series_instance_uid, modality, qc_status) VALUES ($1, $2, '1.2.3.9.1', 'CT', 'ok') RETURNING id`, [project, study]);
    await ds.query(
      `WITH t AS (INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, reads_required, protocol_version)
                  SELECT $1, $2, ARRAY[$3::uuid], 'series', 'burst-' || g, 'CT', 'ready', 1, 1 FROM generate_series(1, 20) g RETURNING id, created_at)
       INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at) SELECT t.id, $1, 'annotation', 0, 'open', t.created_at FROM t`,
      [project, study, series],
    );
    const leases: string[] = [];
    for (const a of annotators) leases.push((await sys.http().post(`/api/projects/${project}/tasks/next`).set(bearer(a)).expect(200)).body.readId);
    // Hold one of the coordinator's two connections: every submission must get by with the other one.
    const held = sys.app.get(DataSource).createQueryRunner();
    await held.connect();
    const started = Date.now();
    let results;
    try {
      results = await Promise.all(annotators.map((a, i) => sys.http().post(`/api/projects/${project}/reads/${leases[i]}/submit`).set(bearer(a)).send({ answers: { 'Finding?': i % 2 ? 'yes' : 'no' } })));
    } finally {
      await held.release();
    }
    expect(results.map((r) => r.status)).toEqual(annotators.map(() => 200));
    // Well under the pool's 10 s connection timeout that the starved requests used to wait out.
    expect(Date.now() - started).toBeLessThan(8_000);
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM task_reads WHERE project_id = $1 AND state = 'submitted'`, [project]);
    expect(n).toBe(20);
  });

  it('the last reads of a task submitted at the same moment: each stored once, and exactly one of them moves the task to consensus', async () => {
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'together', settings: { quality: { reads: 4, reviewRequired: false } } }).expect(201)).body.id as string;
    await sys.http().post(`/api/projects/${project}/protocols`).set(bearer(pm)).send({ annotationTypes: [{ kind: 'classification', question: 'Finding?', choices: ['yes', 'no'] }] }).expect(201);
    const readers = annotators.slice(0, 4);
    for (const a of readers) await sys.http().put(`/api/projects/${project}/members/${a.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    const ds = sys.db.dataSource;
    const [{ id: patient }] = await ds.query(`INSERT INTO patients (project_id, pseudonym) VALUES ($1, 'TOGETHER') RETURNING id`, [project]);
    const [{ id: study }] = await ds.query(`INSERT INTO studies (project_id, patient_id, study_instance_uid) VALUES ($1, $2, '1.2.3.10') RETURNING id`, [project, patient]);
    const [{ id: series }] = await ds.query(`INSERT INTO series (project_id, study_id, series_instance_uid, modality, qc_status) VALUES ($1, $2, '1.2.3.10.1', 'CT', 'ok') RETURNING id`, [project, study]);
    const [{ id: task }] = await ds.query(
      `WITH t AS (INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, reads_required, protocol_version) VALUES ($1, $2, ARRAY[$3::uuid], 'series', 'together', 'CT', 'ready', 4, 1) RETURNING id, created_at),
            r AS (INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at) SELECT t.id, $1, 'annotation', g, 'open', t.created_at FROM t, generate_series(0, 3) g)
       SELECT id FROM t`,
      [project, study, series],
    );
    const leases: string[] = [];
    for (const a of readers) leases.push((await sys.http().post(`/api/projects/${project}/tasks/next`).set(bearer(a)).expect(200)).body.readId);
    const results = await Promise.all(readers.map((a, i) => sys.http().post(`/api/projects/${project}/reads/${leases[i]}/submit`).set(bearer(a)).send({ answers: { 'Finding?': 'yes' } })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(results.filter((r) => r.body.taskState === 'consensus')).toHaveLength(1);
    const [{ state }] = await ds.query(`SELECT state FROM tasks WHERE id = $1`, [task]);
    expect(state).toBe('consensus');
    const moves = await ds.query(`SELECT from_state, to_state FROM task_transitions WHERE task_id = $1 AND to_state = 'consensus'`, [task]);
    expect(moves).toEqual([{ from_state: 'in_annotation', to_state: 'consensus' }]);
    const [{ versions, audited, completed }] = await ds.query(
      `SELECT (SELECT count(*)::int FROM label_versions WHERE task_id = $1 AND kind = 'read') AS versions,
              (SELECT count(*)::int FROM audit_events WHERE action = 'read.submitted' AND details ->> 'taskId' = $1::text) AS audited,
              (SELECT count(*)::int FROM audit_events WHERE action = 'task.reads-complete' AND object_id = $1::text) AS completed`,
      [task],
    );
    expect({ versions, audited, completed }).toEqual({ versions: 4, audited: 4, completed: 1 });
  });
});
