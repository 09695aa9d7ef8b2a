// The manager's and admin's pages at the scale of a large project: each is planned against tables filled to tens of
// thousands of rows (analysed) and must read its own rows, not every row of the project. Each of these read far more
// before its rewrite or index (stats: the task's versions again for each read version; the audit list: the whole log
// walked by id for a page; the task list: every task sorted and the reads of every skipped task counted; the export's
// blinding check: every task still collecting reads). Each also checks its answer against the statement it replaced.
import { AuditQuery, AuditService } from '@contour/audit';
import { READ_ANSWERS_SQL, READS_PER_ANNOTATOR_SQL, TIME_IN_STATE_SQL, latestRoundReads, taskListSql } from '../../apps/coordinator/src/tasks/task-queries.service';
import { BLINDED_TASKS_SQL } from '../../apps/coordinator/src/export/exports.controller';
import { openTestDatabase, TestDatabase } from '../support/database';

const TASKS = 20_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

describe('manager query plans at the scale of a large project', () => {
  let db: TestDatabase;
  let project: string;
  let other: string;
  let manager: string;
  let reader: string;
  let annotators: string[];
  const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);

  /** The executed plan: every node, and the rows read from each table (over all loops, those a filter dropped too) and how often it was scanned. */
  const executed = async (sql: string, params: unknown[]) => {
    const [{ 'QUERY PLAN': [root] }] = await q(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
    const nodes: PlanNode[] = [];
    const walk = (node: PlanNode) => {
      nodes.push(node);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(root.Plan);
    const of = (table: string) => nodes.filter((n) => n['Relation Name'] === table);
    return {
      nodes,
      rows: (table: string) => of(table).reduce((sum, n) => sum + (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0)) * n['Actual Loops'], 0),
      loops: (table: string) => of(table).reduce((sum, n) => sum + n['Actual Loops'], 0),
      indexes: new Set(nodes.map((n) => n['Index Name']).filter(Boolean)),
    };
  };

  beforeAll(async () => {
    db = await openTestDatabase();
    [{ id: project }, { id: other }] = await q(`INSERT INTO projects (name) VALUES ('big'), ('other') RETURNING id`);
    [{ id: manager }, { id: reader }] = await q(`INSERT INTO users (username, display_name, password_hash, roles) VALUES ('pm', 'pm', 'x', '{}'), ('ann', 'ann', 'x', '{}') RETURNING id`);
    annotators = (await q(`INSERT INTO users (username, display_name, password_hash, roles) SELECT 'a' || g, 'a' || g, 'x', '{}' FROM generate_series(1, 6) g RETURNING id`)).map(
      (r: { id: string }) => r.id,
    );
    const [{ id: patient }] = await q(`INSERT INTO patients (project_id, pseudonym) VALUES ($1, 'P') RETURNING id`, [project]);
    const [{ id: study }] = await q(`INSERT INTO studies (project_id, patient_id, study_instance_uid) VALUES ($1, $2, '1.2') RETURNING id`, [project, patient]);
    const [{ id: series }] = await q(`INSERT INTO series (project_id, study_id, series_instance_uid, modality, qc_status) VALUES ($1, $2, '1.2.3', 'CT', 'ok') RETURNING id`, [project, study]);
    // A project of 20,000 tasks split ten at a time (ten tasks share a creation time), a few with a raised priority;
    // half approved, two in five still collecting their reads.
    await q(
      `INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, reads_required, priority, created_at)
       SELECT $1, $2, ARRAY[$3::uuid], 'series', 's' || g, 'CT',
              (ARRAY['approved', 'approved', 'approved', 'approved', 'approved', 'ready', 'ready', 'in_annotation', 'in_annotation', 'review'])[1 + g % 10],
              2, CASE WHEN g % 97 = 0 THEN 10 WHEN g % 89 = 0 THEN 5 ELSE 0 END, timestamptz '2025-01-01' + (g / 10) * interval '1 minute'
         FROM generate_series(1, $4) g`,
      [project, study, series, TASKS],
    );
    // Two annotation reads per task, by the six annotators in turn: submitted once the task is past collecting.
    await q(
      `INSERT INTO task_reads (task_id, project_id, kind, slot, state, annotator_id, task_created_at, submitted_at)
       SELECT t.id, t.project_id, 'annotation', s, CASE WHEN t.state IN ('approved', 'review') OR (t.state = 'in_annotation' AND s = 0) THEN 'submitted' ELSE 'open' END,
              CASE WHEN t.state IN ('approved', 'review') OR (t.state = 'in_annotation' AND s = 0) THEN ($2::uuid[])[1 + (abs(hashtext(t.split_key)) + s) % 6] END,
              t.created_at, CASE WHEN t.state IN ('approved', 'review') OR (t.state = 'in_annotation' AND s = 0) THEN t.created_at + interval '1 day' END
         FROM tasks t, generate_series(0, 1) s WHERE t.project_id = $1`,
      [project, annotators],
    );
    // A read version per submitted read, round 0; a tenth of the approved tasks read again in round 1 (after rework).
    await q(
      `INSERT INTO label_versions (task_id, project_id, kind, read_id, author_id, round, answers)
       SELECT r.task_id, r.project_id, 'read', r.id, r.annotator_id, 0, jsonb_build_object('finding', (ARRAY['yes', 'no', 'unsure'])[1 + abs(hashtext(r.id::text)) % 3])
         FROM task_reads r WHERE r.state = 'submitted'`,
    );
    await q(
      `INSERT INTO label_versions (task_id, project_id, kind, read_id, author_id, round, answers)
       SELECT v.task_id, v.project_id, 'read', v.read_id, v.author_id, 1, jsonb_build_object('finding', (ARRAY['yes', 'no', 'unsure'])[1 + abs(hashtext(v.id::text)) % 3])
         FROM label_versions v JOIN tasks t ON t.id = v.task_id WHERE t.state = 'approved' AND abs(hashtext(t.split_key)) % 10 = 0`,
    );
    // Five transitions per task, interleaved across tasks as a busy project writes them.
    await q(
      `INSERT INTO task_transitions (task_id, project_id, from_state, to_state, event, actor_name, at)
       SELECT t.id, t.project_id, NULL, (ARRAY['created', 'ready', 'in_annotation', 'review', 'approved'])[k], 'e', 'a', t.created_at + k * interval '1 hour'
         FROM tasks t, generate_series(1, 5) k ORDER BY k, t.id`,
    );
    // The audit log: 20,000 lines of the big project, then a smaller project's 3,000 among 9,000 more of the big one's.
    await q(`INSERT INTO audit_events (actor_name, action, object_type, object_id, project_id) SELECT 'a', 'task.lease', 'task', g::text, $1 FROM generate_series(1, 20000) g`, [project]);
    await q(`INSERT INTO audit_events (actor_name, action, object_type, object_id, project_id) SELECT 'a', 'task.lease', 'task', g::text, CASE WHEN g % 4 = 0 THEN $2 ELSE $1 END::uuid FROM generate_series(1, 12000) g`, [
      project,
      other,
    ]);
    await q('VACUUM ANALYZE');
  }, 180_000);
  afterAll(() => db.close());

  it("the classification statistics read each read once (a subquery per read read the task's versions again for each)", async () => {
    const plan = await executed(READ_ANSWERS_SQL, [project]);
    const reads = (await q(`SELECT count(*)::int AS n FROM label_versions WHERE project_id = $1 AND kind = 'read'`, [project]))[0].n as number;
    expect(reads).toBeGreaterThan(12_000);
    expect(plan.loops('label_versions')).toBe(1);
    expect(plan.rows('label_versions')).toBeLessThanOrEqual(reads);
    // The reads of each task's latest round, in the table's order: what the per-read subquery gave.
    const latest = latestRoundReads(await q(READ_ANSWERS_SQL, [project]));
    const defined = await q(
      `SELECT lv.task_id, lv.author_id, lv.round, lv.answers FROM label_versions lv
        WHERE lv.project_id = $1 AND lv.kind = 'read' AND lv.round = (SELECT max(x.round) FROM label_versions x WHERE x.task_id = lv.task_id AND x.kind = 'read') ORDER BY lv.ctid`,
      [project],
    );
    expect(latest.length).toBeLessThan(reads);
    expect(latest).toEqual(defined);
  });

  it('the classification statistics fetch the question answers only: boxes, points and polygons stay in the database', async () => {
    const [{ id: small }] = await q(`INSERT INTO projects (name) VALUES ('answers only') RETURNING id`);
    const [{ task_id: task }] = await q(`SELECT task_id FROM label_versions WHERE project_id = $1 LIMIT 1`, [project]);
    const polygon = { kind: 'polygon', label: 1, points: Array.from({ length: 500 }, (_, k) => [k, k]) };
    for (const answers of [{ finding: 'yes', shapes: [polygon] }, { shapes: [polygon] }, {}]) {
      await q(`INSERT INTO label_versions (task_id, project_id, kind, author_id, round, answers) VALUES ($1, $2, 'read', gen_random_uuid(), 0, $3)`, [task, small, JSON.stringify(answers)]);
    }
    expect((await q(READ_ANSWERS_SQL, [small])).map((r: { answers: unknown }) => r.answers)).toEqual([{ finding: 'yes' }, null, null]);
  });

  it("each annotator's rejected reads: a round rejected twice counts once, and only the project's own reviews are read", async () => {
    const [{ id: small }] = await q(`INSERT INTO projects (name) VALUES ('rejections') RETURNING id`);
    const [{ task_id: task }] = await q(`SELECT task_id FROM label_versions WHERE project_id = $1 LIMIT 1`, [project]);
    // a1 read round 0 (rejected twice) and round 1 (approved); a2 read round 0 only; a3 read round 1 only.
    for (const [author, round] of [[annotators[0], 0], [annotators[0], 1], [annotators[1], 0], [annotators[2], 1]] as const) {
      await q(`INSERT INTO label_versions (task_id, project_id, kind, author_id, round) VALUES ($1, $2, 'read', $3, $4)`, [task, small, author, round]);
    }
    for (const [decision, round] of [['rejected', 0], ['rejected', 0], ['approved', 1]] as const) {
      await q(`INSERT INTO reviews (task_id, project_id, reviewer_id, decision, round) VALUES ($1, $2, $3, $4, $5)`, [task, small, manager, decision, round]);
    }
    // The big project's reviews: many, none of them this project's.
    await q(`INSERT INTO reviews (task_id, project_id, reviewer_id, decision, round) SELECT id, project_id, $2, 'rejected', 0 FROM tasks WHERE project_id = $1`, [project, manager]);
    await q('ANALYZE reviews');
    expect(await q(READS_PER_ANNOTATOR_SQL, [small])).toEqual([
      { user_id: annotators[0], username: 'a1', reads: 2, rejected: 1 },
      { user_id: annotators[1], username: 'a2', reads: 1, rejected: 1 },
      { user_id: annotators[2], username: 'a3', reads: 1, rejected: 0 },
    ]);
    const plan = await executed(READS_PER_ANNOTATOR_SQL, [small]);
    expect(plan.rows('reviews')).toBeLessThanOrEqual(3);
  });

  it("time in state reads the project's transitions in task order from their own index, with no sort before the window (it walked the task index over the deployment, then sorted)", async () => {
    const plan = await executed(TIME_IN_STATE_SQL, [project]);
    expect(plan.indexes).toEqual(new Set(['task_transitions_by_task']));
    const scan = plan.nodes.find((n) => n['Relation Name'] === 'task_transitions')!;
    expect(scan['Node Type']).toBe('Index Only Scan');
    const window = plan.nodes.findIndex((n) => n['Node Type'] === 'WindowAgg');
    expect(plan.nodes.slice(window).map((n) => n['Node Type'])).not.toContain('Sort');
    expect(plan.nodes.slice(window).map((n) => n['Node Type'])).not.toContain('Incremental Sort');
    expect(plan.rows('task_transitions')).toBe(5 * TASKS);
    // The answer the statement gives: five visits per task in each state, an hour in each but the last.
    const rows = await q(TIME_IN_STATE_SQL, [project]);
    expect(rows.map((r: { state: string; visits: number }) => [r.state, r.visits])).toEqual(['approved', 'created', 'in_annotation', 'ready', 'review'].map((s) => [s, TASKS]));
    expect(rows.find((r: { state: string }) => r.state === 'ready').meanSeconds).toBe(3600);
  });

  it("a project's audit page reads its own page, not the whole log walked by id (or every line of the project sorted)", async () => {
    const audit = new AuditService(db.dataSource);
    const [{ middle }] = await q(`SELECT id AS middle FROM audit_events WHERE project_id = $1 ORDER BY id OFFSET 1500 LIMIT 1`, [other]);
    const pages: AuditQuery[] = [
      { projectId: other, limit: 100 },
      { projectId: other, afterId: middle, limit: 100 },
      // Newest first (the web's audit tab), from the end and from a cursor.
      { projectId: other, newestFirst: true, limit: 100 },
      { projectId: other, newestFirst: true, beforeId: middle, limit: 100 },
    ];
    for (const query of pages) {
      const [sql, params] = audit.findQuery(query).getQueryAndParameters();
      const plan = await executed(sql, params);
      // The page's 100 ids from the project's index, then their 100 lines.
      expect(plan.rows('audit_events')).toBeLessThanOrEqual(2 * 100);
      expect(plan.nodes.map((n) => n['Node Type'])).not.toContain('Sort');
      const page = (await audit.find(query)).map((e) => e.id);
      const expected = (
        query.newestFirst
          ? await q(`SELECT id FROM audit_events WHERE project_id = $1 AND id < $2 ORDER BY id DESC LIMIT 100`, [other, query.beforeId ?? '9223372036854775807'])
          : await q(`SELECT id FROM audit_events WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT 100`, [other, query.afterId ?? 0])
      ).map((r: { id: string }) => r.id);
      expect(expected).toHaveLength(100);
      expect(page).toEqual(expected);
    }
  });

  it('a deep page of the task list reads the index up to it and counts the reads of its own tasks only; a cursor reads its page only', async () => {
    const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
    const reference = async (offset: number, states: string[] | null, limit = 50) =>
      ids(await q(`SELECT id FROM tasks WHERE project_id = $1 AND ($4::text[] IS NULL OR state = ANY($4)) ORDER BY priority DESC, created_at, id LIMIT $2 OFFSET $3`, [project, limit, offset, states]));
    for (const states of [null, ['ready', 'in_annotation']]) {
      const params = [project, 50, 10_000, ...(states ? [states] : [])];
      const plan = await executed(taskListSql(Boolean(states), false), params);
      // The page's 50 tasks have their reads counted (every task skipped had them counted too).
      expect(plan.loops('task_reads')).toBeLessThanOrEqual(50);
      expect(plan.indexes).toContain('tasks_list');
      expect(plan.nodes.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
      const page: { id: string; readsSubmitted: number }[] = await q(taskListSql(Boolean(states), false), params);
      expect(ids(page)).toEqual(await reference(10_000, states));
      const submitted = await q(`SELECT t.id, count(r.id) FILTER (WHERE r.kind = 'annotation' AND r.state = 'submitted')::int AS n FROM tasks t LEFT JOIN task_reads r ON r.task_id = t.id WHERE t.id = ANY($1) GROUP BY t.id`, [ids(page)]);
      expect(Object.fromEntries(page.map((t) => [t.id, t.readsSubmitted]))).toEqual(Object.fromEntries(submitted.map((r: { id: string; n: number }) => [r.id, r.n])));
      // By cursor, the page after a task is the page from the next place: deep in the list, and where the priority
      // changes (the first 200 go from 10 to 5, and filtered to 0). It reads the cursor's task, at most a page from each
      // of the two ranges (stepping over the tasks of other states in between, when filtered), then its page's tasks.
      for (const offset of [10_000, 200]) {
        const after = (await reference(offset - 1, states, 1))[0];
        const cursorParams = [project, 50, 0, ...(states ? [states] : []), after];
        const cursor = await executed(taskListSql(Boolean(states), true), cursorParams);
        expect(cursor.rows('tasks')).toBeLessThanOrEqual(1 + (states ? 5 : 2) * 50 + 50);
        expect(ids(await q(taskListSql(Boolean(states), true), cursorParams))).toEqual(await reference(offset, states));
      }
    }
    // Pages of the same priority and creation time follow each other without a gap or a repeat (the id breaks ties).
    const [first, second] = [await q(taskListSql(false, false), [project, 15, 0]), await q(taskListSql(false, false), [project, 15, 15])];
    expect(new Set([...ids(first), ...ids(second)]).size).toBe(30);
    expect([...ids(first), ...ids(second)]).toEqual(await reference(0, null, 30));
  });

  it("the export's blinding check starts from the caller's own reads, not from every task the project is collecting", async () => {
    const collecting = ['ready', 'in_annotation', 'rework'];
    const [a, b, c, d, e, f, g, h] = (await q(`SELECT id FROM tasks WHERE project_id = $1 AND state = 'ready' ORDER BY split_key LIMIT 8`, [project])).map((r: { id: string }) => r.id);
    // Their read in every way it can be theirs: assigned to them (an open read; one since held by someone else), their
    // lease lapsed (an open read; one closed since), held, and a draft they wrote of a read since taken from them; not
    // a task they read that no longer collects, nor one assigned to someone else, nor another project's.
    await q(`UPDATE task_reads SET assigned_to = $2 WHERE task_id = $1 AND slot = 0`, [g, reader]);
    await q(`UPDATE task_reads SET assigned_to = $2, state = 'leased', annotator_id = $3 WHERE task_id = $1 AND slot = 0`, [a, reader, annotators[1]]);
    await q(`UPDATE task_reads SET previous_annotator_id = $2 WHERE task_id = $1 AND slot = 0`, [h, reader]);
    await q(`UPDATE task_reads SET previous_annotator_id = $2, state = 'closed' WHERE task_id = $1 AND slot = 0`, [b, reader]);
    await q(`UPDATE task_reads SET annotator_id = $2, state = 'leased' WHERE task_id = $1 AND slot = 1`, [c, reader]);
    await q(`INSERT INTO label_versions (task_id, project_id, kind, author_id) VALUES ($1, $2, 'read-draft', $3)`, [d, project, reader]);
    await q(`UPDATE tasks SET state = 'approved' WHERE id = $1`, [e]);
    await q(`UPDATE task_reads SET annotator_id = $2, state = 'submitted' WHERE task_id = $1 AND slot = 0`, [e, reader]);
    await q(`UPDATE task_reads SET assigned_to = $2 WHERE task_id = $1 AND slot = 1`, [f, annotators[0]]);
    await q(`ANALYZE task_reads`);
    const defined = `SELECT count(*)::int AS n FROM tasks t
      WHERE t.project_id = $1 AND t.state = ANY($2)
        AND (EXISTS (SELECT 1 FROM task_reads r WHERE r.task_id = t.id AND r.kind = 'annotation' AND $3 IN (r.annotator_id, r.assigned_to, r.previous_annotator_id))
             OR EXISTS (SELECT 1 FROM label_versions v WHERE v.task_id = t.id AND v.author_id = $3 AND v.kind IN ('read', 'read-draft')))`;
    // The manager read nothing; the reader read seven tasks, six of them still collecting.
    for (const [person, theirs, n] of [
      [manager, 0, 0],
      [reader, 7, 6],
    ] as const) {
      const plan = await executed(BLINDED_TASKS_SQL, [project, collecting, person]);
      // Their tasks looked up by key, each once; their reads and versions only.
      expect(plan.loops('tasks')).toBeLessThanOrEqual(theirs);
      expect(plan.rows('tasks')).toBeLessThanOrEqual(theirs);
      expect(plan.rows('task_reads') + plan.rows('label_versions')).toBeLessThanOrEqual(theirs + 1);
      expect(plan.nodes.filter((node) => node['Node Type'] === 'Seq Scan')).toEqual([]);
      expect(await q(BLINDED_TASKS_SQL, [project, collecting, person])).toEqual([{ n }]);
      expect(await q(defined, [project, collecting, person])).toEqual([{ n }]);
    }
    expect(await q(BLINDED_TASKS_SQL, [other, collecting, reader])).toEqual([{ n: 0 }]);
  });
});
