// Queries whose cost must not grow with the project: each is planned against tables filled to a realistic size
// (tens of thousands of rows, analysed) and must reach its rows through an index, not by walking or scanning the
// project. Each of these scanned before its index or its rewrite (a review claim walked every open annotation slot;
// ingest's clean-up scanned instances and ingest_items per file; the lease sweep and a task's history scanned their
// whole tables).
import { EXPIRE_LEASES_SQL, CLAIM_SQL, LEASABLE_STATES } from '@contour/tasks';
import { TaskState } from '@contour/workflow';
import { RAWS_NEEDED_SQL } from '@contour/ingest';
import { MY_READS_SQL, TASK_AUDIT_SQL } from '../../apps/coordinator/src/tasks/task-queries.service';
import { privacyQueueFrom } from '../../apps/coordinator/src/ingest/privacy-review.controller';
import { storedInstancesQuery, studySearchSql } from '../../apps/coordinator/src/dicomweb/dicomweb.service';
import { openTestDatabase, TestDatabase } from '../support/database';

const ROWS = 20_000;

describe('query plans at the scale of a large project', () => {
  let db: TestDatabase;
  let project: string;
  let user: string;
  let taskId: string;
  let study: string;
  let series: string;

  const explain = async (sql: string, params: unknown[] = []) =>
    (await db.dataSource.query(`EXPLAIN ${sql}`, params)).map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n') as string;

  beforeAll(async () => {
    db = await openTestDatabase();
    const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);
    [{ id: project }] = await q(`INSERT INTO projects (name) VALUES ('big') RETURNING id`);
    [{ id: user }] = await q(`INSERT INTO users (username, display_name, password_hash, roles) VALUES ('rev', 'rev', 'x', '{reviewer}') RETURNING id`);
    const [{ id: patient }] = await q(`INSERT INTO patients (project_id, pseudonym) VALUES ($1, 'P') RETURNING id`, [project]);
    [{ id: study }] = await q(`INSERT INTO studies (project_id, patient_id, study_instance_uid) VALUES ($1, $2, '1.2') RETURNING id`, [project, patient]);
    [{ id: series }] = await q(`INSERT INTO series (project_id, study_id, series_instance_uid, modality, qc_status) VALUES ($1, $2, '1.2.3', 'CT', 'ok') RETURNING id`, [project, study]);
    // A project deep in annotation: every task has an open annotation slot (none waits for review), a few are leased.
    await q(
      `WITH t AS (INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, reads_required, protocol_version)
                  SELECT $1, $2, ARRAY[$3::uuid], 'series', 's' || g, 'CT', 'ready', 1, 1 FROM generate_series(1, $4) g RETURNING id, created_at)
       INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at) SELECT t.id, $1, 'annotation', 0, 'open', t.created_at FROM t`,
      [project, study, series, ROWS],
    );
    await q(`UPDATE task_reads SET state = 'leased', annotator_id = $1, lease_expires_at = now() + interval '1 hour' WHERE id IN (SELECT id FROM task_reads LIMIT 20)`, [user]);
    [{ id: taskId }] = await q(`SELECT id FROM tasks LIMIT 1`);
    // Stored instances and the items that brought them in.
    await q(
      `INSERT INTO instances (project_id, series_id, sop_instance_uid, sop_class_uid, transfer_syntax_uid, blob_key, size_bytes, source_hash)
       SELECT $1, $2, '1.2.3.' || g, '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1', md5('i' || g), 1000, md5('s' || g) FROM generate_series(1, $3) g`,
      [project, series, ROWS],
    );
    // A few of them flagged for burned-in text, one decided.
    await q(`UPDATE instances SET flags = '{burned-in-annotation}' WHERE id IN (SELECT id FROM instances ORDER BY sop_instance_uid LIMIT 5)`);
    await q(`UPDATE instances SET attributes = '{"privacyReview": {"decision": "clear"}}' WHERE id IN (SELECT id FROM instances WHERE flags <> '{}' LIMIT 1)`);
    const [{ id: batch }] = await q(`INSERT INTO ingest_batches (project_id, source) VALUES ($1, 'upload') RETURNING id`, [project]);
    await q(`INSERT INTO ingest_items (batch_id, project_id, file_name, raw_blob_key, size_bytes, status) SELECT $1, $2, g || '.dcm', md5('r' || g), 1000, 'stored' FROM generate_series(1, $3) g`, [batch, project, ROWS]);
    // An audit log of many tasks' lines: about the task itself and about its reads (naming the task in details).
    await q(
      `INSERT INTO audit_events (actor_name, action, object_type, object_id, project_id, details)
       SELECT 'a', 'read.leased', 'task_read', gen_random_uuid()::text, $1::uuid, jsonb_build_object('taskId', r.task_id) FROM task_reads r
       UNION ALL SELECT 'a', 'task.lease', 'task', r.task_id::text, $1::uuid, '{}' FROM task_reads r`,
      [project],
    );
    await q('ANALYZE');
  }, 120_000);
  afterAll(() => db.close());

  it('a reviewer asking while no review waits walks no annotation slot (the shared claim index walked them all)', async () => {
    const params = [project, ['review', 'adjudication'], user, [], 600, ['ready', 'in_annotation', 'rework', 'review', 'adjudication'], 'rev', null, 'ready', 'in_annotation', 'lease'];
    const plan = await explain(CLAIM_SQL.review, params);
    const pool = plan.slice(plan.indexOf('CTE pool'), plan.indexOf('CTE claimed'));
    expect(pool).toContain('task_reads_claim_review');
    expect(pool).not.toMatch(/task_reads_claim\b/);
    expect(pool).not.toMatch(/\bSort\b/);
    // The annotation claim keeps its own pool's index.
    const annotation = await explain(CLAIM_SQL.annotation, [project, ['annotation'], ...params.slice(2)]);
    expect(annotation.slice(annotation.indexOf('CTE pool'), annotation.indexOf('CTE claimed'))).toMatch(/task_reads_claim\b/);
  });

  it('a claim walks no slot of a task still being pre-labelled (it walked them all, and looked each task up, when no other work came before)', async () => {
    const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);
    const [{ id: busy }] = await q(`INSERT INTO projects (name) VALUES ('backlog') RETURNING id`);
    // 3,000 tasks waiting for their drafts, split as the splitter does (task first, then its slots), then one ready task.
    await q(
      `INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, reads_required, protocol_version, created_at)
       SELECT $1, $2, ARRAY[$3::uuid], 'series', 'p' || g, 'CT', 'prelabelling', 1, 1, now() - interval '1 day' FROM generate_series(1, 3000) g`,
      [busy, study, series],
    );
    await q(`INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at) SELECT id, $1, 'annotation', 0, 'open', created_at FROM tasks WHERE project_id = $1`, [busy]);
    const [{ id: ready }] = await q(`INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, reads_required, protocol_version) VALUES ($1, $2, ARRAY[$3::uuid], 'series', 'r', 'CT', 'ready', 1, 1) RETURNING id`, [busy, study, series]);
    await q(`INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at) SELECT id, $1, 'annotation', 0, 'open', created_at FROM tasks WHERE id = $2`, [busy, ready]);
    await q('ANALYZE task_reads');
    const runner = db.dataSource.createQueryRunner();
    await runner.startTransaction();
    try {
      const params = [busy, ['annotation'], user, [], 600, LEASABLE_STATES, 'ann', null, 'ready', 'in_annotation', 'lease'];
      const plan = (await runner.query(`EXPLAIN (ANALYZE, COSTS OFF) ${CLAIM_SQL.annotation}`, params)).map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n') as string;
      const pool = plan.slice(plan.indexOf('CTE pool'), plan.indexOf('CTE claimed'));
      // The ready task's slot is the first the walk meets: the drafts-in-waiting are not in the index (the walk's own
      // lines, up to its subplans, say how many slots it passed over).
      const from = pool.indexOf('Index Scan using task_reads_claim ');
      expect(from).toBeGreaterThan(0);
      expect(pool.slice(from, pool.indexOf('SubPlan', from))).not.toMatch(/Rows Removed by Filter/);
      const [{ task_id }] = await runner.query(`SELECT task_id FROM task_reads WHERE project_id = $1 AND state = 'leased'`, [busy]);
      expect(task_id).toBe(ready);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  });

  it('an open read is offered exactly while its task takes work, kept by the database through every state and the privacy hold', async () => {
    const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);
    // The SQL list of states (migration OfferedReads) is routing's.
    for (const state of Object.values(TaskState)) {
      const [{ offered }] = await q(`SELECT contour_task_offered($1, false) AS offered`, [state]);
      expect([state, offered]).toEqual([state, LEASABLE_STATES.includes(state)]);
    }
    const [{ id: task }] = await q(`INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, reads_required) VALUES ($1, $2, ARRAY[$3::uuid], 'series', 'walk', 'CT', 'created', 2) RETURNING id`, [project, study, series]);
    await q(`INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at) VALUES ($1, $2, 'annotation', 0, 'open', now()), ($1, $2, 'annotation', 1, 'submitted', now())`, [task, project]);
    const offered = async () => (await q(`SELECT DISTINCT offered FROM task_reads WHERE task_id = $1 AND state = 'open'`, [task])).map((r: { offered: boolean }) => r.offered);
    expect(await offered()).toEqual([false]);
    for (const state of [TaskState.Prelabelling, TaskState.Ready, TaskState.InAnnotation, TaskState.Consensus, TaskState.Review, TaskState.Rework, TaskState.Escalated, TaskState.Adjudication, TaskState.Approved]) {
      await q(`UPDATE tasks SET state = $2 WHERE id = $1`, [task, state]);
      expect([state, await offered()]).toEqual([state, [LEASABLE_STATES.includes(state)]]);
    }
    await q(`UPDATE tasks SET state = 'ready' WHERE id = $1`, [task]);
    await q(`UPDATE tasks SET privacy_held = true WHERE id = $1`, [task]);
    expect(await offered()).toEqual([false]);
    // A slot opened while the task is held (a review slot) is not offered either; cleared, all are.
    await q(`INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at) VALUES ($1, $2, 'review', 0, 'open', now())`, [task, project]);
    expect(await offered()).toEqual([false]);
    await q(`UPDATE tasks SET privacy_held = false WHERE id = $1`, [task]);
    expect(await offered()).toEqual([true]);
    // Only open reads follow the task (the others may be locked by someone waiting for it); a read closed while the
    // task took no work, opened again after it takes work again, is offered.
    await q(`UPDATE tasks SET state = 'cancelled' WHERE id = $1`, [task]);
    await q(`UPDATE task_reads SET state = 'closed' WHERE task_id = $1 AND kind = 'review'`, [task]);
    await q(`UPDATE tasks SET state = 'ready' WHERE id = $1`, [task]);
    const review = async () => (await q(`SELECT offered FROM task_reads WHERE task_id = $1 AND kind = 'review'`, [task]))[0].offered;
    expect(await review()).toBe(false);
    await q(`UPDATE task_reads SET state = 'open' WHERE task_id = $1 AND kind = 'review'`, [task]);
    expect(await review()).toBe(true);
  });

  it("a task's move updates its open slots through their task, even before the table is analysed (it built a bitmap of every open slot of the deployment on each submission)", async () => {
    // The statement of the trigger that keeps `offered` (migration OfferedReads), as PL/pgSQL runs it: a generic plan.
    const [{ prosrc }] = await db.dataSource.query(`SELECT prosrc FROM pg_proc WHERE proname = 'contour_tasks_offered_on_update'`);
    const update = /UPDATE task_reads[^;]+/.exec(prosrc)![0].replace(/NEW\.id/g, '$1').replace(/NEW\.state/g, '$2').replace(/NEW\.privacy_held/g, '$3');
    let prepared = false;
    const runner = db.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      // A table loaded since its last ANALYZE (a project's tasks split in bulk, or a fresh deployment): no column
      // statistics, so the planner takes the "leased or open" index for a few rows.
      await runner.query(`DELETE FROM pg_statistic WHERE starelid = 'task_reads'::regclass`);
      await runner.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
      await runner.query(`PREPARE offered_update (uuid, text, boolean) AS ${update}`);
      prepared = true;
      const plan = (await runner.query(`EXPLAIN EXECUTE offered_update ('${taskId}', 'consensus', false)`)).map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('task_reads_open_by_task');
      expect(plan).not.toContain('task_reads_annotator_active');
      expect(plan).not.toContain('BitmapAnd');
    } finally {
      await runner.rollbackTransaction();
      // A prepared statement outlives the transaction: the pooled connection should not keep it.
      if (prepared) await runner.query('DEALLOCATE offered_update');
      await runner.release();
    }
  });

  it("ingest's clean-up finds who else needs a received file through the content keys' indexes", async () => {
    const plan = await explain(RAWS_NEEDED_SQL, [['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'], [], ['queued', 'processing', 'quarantined']]);
    expect(plan).toContain('ingest_items_raw_blob_key');
    expect(plan).toContain('instances_blob_key');
    expect(plan).not.toContain('Seq Scan');
  });

  it('the lease sweep finds leased reads through their own index', async () => {
    const plan = await explain(EXPIRE_LEASES_SQL);
    expect(plan).toContain('task_reads_leased');
    expect(plan).not.toContain('Seq Scan on task_reads');
  });

  it('the privacy review queue reads the flagged images only, in each of its states', async () => {
    for (const [state, n] of [['pending', 4], ['decided', 1], ['all', 5]] as const) {
      const from = privacyQueueFrom(state);
      for (const sql of [`SELECT i.id ${from} ORDER BY i.created_at, i.id LIMIT 100`, `SELECT count(*) ${from}`]) {
        const plan = await explain(sql, [project, ['burned-in-annotation']]);
        expect(plan).toContain('instances_flagged');
        expect(plan).not.toContain('Seq Scan on instances');
      }
      expect(await db.dataSource.query(`SELECT count(*)::int AS n ${from}`, [project, ['burned-in-annotation']])).toEqual([{ n }]);
    }
  });

  it("a QIDO study search pages the studies in answer order and counts the series and images of its page only (it counted every image of the project first); WADO-RS finds a series by the project's indexes", async () => {
    const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);
    const [{ id: pacs }] = await q(`INSERT INTO projects (name) VALUES ('pacs') RETURNING id`);
    // 2,000 studies of one series of 5 images each.
    await q(`INSERT INTO patients (project_id, pseudonym) SELECT $1, 'P' || g FROM generate_series(1, 2000) g`, [pacs]);
    await q(`INSERT INTO studies (project_id, patient_id, study_instance_uid, study_date) SELECT $1, id, '2.' || pseudonym, date '2020-01-01' + (random() * 1000)::int FROM patients WHERE project_id = $1`, [pacs]);
    await q(`INSERT INTO series (project_id, study_id, series_instance_uid, modality, qc_status) SELECT $1, id, study_instance_uid || '.1', 'CT', 'ok' FROM studies WHERE project_id = $1`, [pacs]);
    await q(
      `INSERT INTO instances (project_id, series_id, sop_instance_uid, sop_class_uid, transfer_syntax_uid, blob_key, size_bytes, source_hash, flags)
       SELECT $1, se.id, se.series_instance_uid || '.' || g, '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1', md5(se.id::text || g), 1000, md5(se.id::text || g), CASE WHEN g = 1 THEN '{burned-in-annotation}'::text[] ELSE '{}' END
         FROM series se, generate_series(1, 5) g WHERE se.project_id = $1`,
      [pacs],
    );
    await q('ANALYZE');
    /** Rows the plan read from instances, and rows it grouped to count, over all loops. */
    const cost = async (sql: string, params: unknown[]) => {
      const [{ 'QUERY PLAN': [root] }] = await q(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
      const rows = { read: 0, counted: 0, indexes: new Set<string>() };
      const walk = (node: Record<string, any>) => {
        if (node['Index Name']) rows.indexes.add(node['Index Name']);
        if (node['Relation Name'] === 'instances') rows.read += node['Actual Rows'] * node['Actual Loops'];
        // The grouping by study that counts series and images (not the look for a visible image of each study).
        if (node['Node Type'] === 'Aggregate' && (node['Group Key'] ?? []).includes('st.id')) for (const child of node.Plans ?? []) rows.counted += child['Actual Rows'] * child['Actual Loops'];
        for (const child of node.Plans ?? []) walk(child);
      };
      walk(root.Plan);
      return rows;
    };
    const page = 'LIMIT 10 OFFSET 20';
    // A manager's list reads and counts the page's 50 images; an annotator's (held images neither listed nor counted)
    // must look for a visible image in every study to page them, but counts only the page's.
    const manager = await cost(studySearchSql(['st.project_id = $1'], page, null), [pacs]);
    expect(manager.read).toBeLessThanOrEqual(50);
    // The page is found by walking the project's studies in answer order, not by sorting them all.
    expect(manager.indexes).toContain('studies_qido');
    expect(manager.counted).toBeLessThanOrEqual(50);
    expect((await cost(studySearchSql(['st.project_id = $1'], page, 2), [pacs, ['burned-in-annotation']])).counted).toBeLessThanOrEqual(50);
    const studies = await q(studySearchSql(['st.project_id = $1'], page, 2), [pacs, ['burned-in-annotation']]);
    expect(studies).toHaveLength(10);
    expect(studies.map((r: { instance_count: string }) => Number(r.instance_count))).toEqual(Array(10).fill(4));
    const all = await q(studySearchSql(['st.project_id = $1'], 'LIMIT 10 OFFSET 0', null), [pacs]);
    expect(all.map((r: { instance_count: string }) => Number(r.instance_count))).toEqual(Array(10).fill(5));
    // Series- and instance-level conditions test the study's series and images (one image's UID: its study only).
    const [one] = await q(`SELECT i.sop_instance_uid, st.study_instance_uid FROM instances i JOIN series se ON se.id = i.series_id JOIN studies st ON st.id = se.study_id WHERE i.project_id = $1 LIMIT 1`, [pacs]);
    const byImage = await q(studySearchSql(['st.project_id = $1', 'i.sop_instance_uid = $2'], 'LIMIT 10 OFFSET 0', null), [pacs, one.sop_instance_uid]);
    expect(byImage.map((r: { study_instance_uid: string }) => r.study_instance_uid)).toEqual([one.study_instance_uid]);
    expect(await q(studySearchSql(['st.project_id = $1', 'se.modality = ANY($2)'], 'LIMIT 10 OFFSET 0', null), [pacs, ['MR']])).toEqual([]);
    // For a caller who may not see held images, a study matches a series-level filter through a series they can open:
    // one whose MR series is all held is not listed by Modality=MR, though its CT series has images they can see.
    await q(`INSERT INTO series (project_id, study_id, series_instance_uid, modality, qc_status) SELECT $1, st.id, st.study_instance_uid || '.2', 'MR', 'ok' FROM studies st WHERE st.study_instance_uid = $2`, [pacs, one.study_instance_uid]);
    await q(
      `INSERT INTO instances (project_id, series_id, sop_instance_uid, sop_class_uid, transfer_syntax_uid, blob_key, size_bytes, source_hash, flags)
       SELECT $1, se.id, se.series_instance_uid || '.1', '1.2.840.10008.5.1.4.1.1.4', '1.2.840.10008.1.2.1', 'mr', 1000, 'mr', '{burned-in-annotation}' FROM series se WHERE se.series_instance_uid = $2`,
      [pacs, `${one.study_instance_uid}.2`],
    );
    const mr = (flags: number | null, params: unknown[]) => q(studySearchSql(['st.project_id = $1', 'se.modality = ANY($2)'], 'LIMIT 10 OFFSET 0', flags), params);
    expect((await mr(null, [pacs, ['MR']])).map((r: { study_instance_uid: string }) => r.study_instance_uid)).toEqual([one.study_instance_uid]);
    expect(await mr(3, [pacs, ['MR'], ['burned-in-annotation']])).toEqual([]);
    // WADO-RS at the series level finds the study and series through the project's UID indexes (it scanned studies).
    const wado = storedInstancesQuery(pacs, one.study_instance_uid, `${one.study_instance_uid}.1`);
    const wadoPlan = await explain(wado.sql, wado.params);
    expect(wadoPlan).not.toContain('Seq Scan');
    expect(await q(wado.sql, wado.params)).toHaveLength(5);
    // Dates in order across pages.
    const dates = [...all, ...(await q(studySearchSql(['st.project_id = $1'], 'LIMIT 10 OFFSET 10', null), [pacs]))].map((r: { study_date: string | Date }) => new Date(r.study_date).getTime());
    expect(dates).toEqual([...dates].sort((a, b) => a - b));
  });

  it("an annotator's inbox reads their waiting reads and their latest 200 others, not every read they ever made", async () => {
    const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);
    const [{ id: busy }] = await q(`INSERT INTO projects (name) VALUES ('inbox') RETURNING id`);
    const readers: string[] = (await q(`INSERT INTO users (username, display_name, password_hash, roles) SELECT 'r' || g, 'r' || g, 'x', '{annotator}' FROM generate_series(1, 2) g RETURNING id`)).map(
      (r: { id: string }) => r.id,
    );
    const reader = readers[0];
    // 24,000 reads submitted over time by two people taking turns (so one person's reads are spread over the table),
    // and for the first of them one read leased and one assigned and waiting.
    await q(
      `INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, reads_required) SELECT $1, $2, ARRAY[$3::uuid], 'series', 'h' || g, 'CT', 'approved', 1 FROM generate_series(1, 24000) g`,
      [busy, study, series],
    );
    await q(
      `INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at, annotator_id, submitted_at)
       SELECT id, $1, 'annotation', 0, 'submitted', created_at, ($2::uuid[])[1 + split_part(split_key, 'h', 2)::int % 2], now() - (split_part(split_key, 'h', 2)::int * interval '1 minute')
         FROM tasks WHERE project_id = $1`,
      [busy, readers],
    );
    await q(`UPDATE task_reads SET state = 'leased', submitted_at = NULL WHERE id = (SELECT r.id FROM task_reads r JOIN tasks t ON t.id = r.task_id WHERE t.split_key = 'h2')`);
    await q(`UPDATE task_reads SET state = 'open', annotator_id = NULL, assigned_to = $1, submitted_at = NULL WHERE id = (SELECT r.id FROM task_reads r JOIN tasks t ON t.id = r.task_id WHERE t.split_key = 'h3')`, [reader]);
    await q('ANALYZE task_reads');
    const [{ 'QUERY PLAN': [root] }] = await q(`EXPLAIN (ANALYZE, FORMAT JSON) ${MY_READS_SQL}`, [busy, reader]);
    let read = 0;
    const walk = (node: Record<string, any>) => {
      if (node['Relation Name'] === 'task_reads') read += node['Actual Rows'] * node['Actual Loops'];
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(root.Plan);
    // Their two waiting reads and their latest 200 others, and each one's task by its key.
    expect(read).toBeLessThanOrEqual(202);
    expect(JSON.stringify(root.Plan)).not.toContain('"Node Type":"Seq Scan"');
    const inbox = await q(MY_READS_SQL, [busy, reader]);
    expect(inbox).toHaveLength(200);
    expect(inbox.slice(0, 2).map((r: { state: string }) => r.state)).toEqual(['leased', 'open']);
    const submitted = inbox.slice(2).map((r: { submittedAt: Date }) => r.submittedAt.getTime());
    expect(submitted).toEqual([...submitted].sort((a, b) => b - a));
    const [{ newest }] = await q(`SELECT max(submitted_at) AS newest FROM task_reads WHERE annotator_id = $1 AND state = 'submitted'`, [reader]);
    expect(submitted[0]).toBe(newest.getTime());
  });

  it("a task's history reads its own audit lines, not the whole log", async () => {
    const plan = await explain(TASK_AUDIT_SQL, [project, taskId]);
    expect(plan).toContain('audit_events_task');
    expect(plan).not.toContain('Seq Scan on audit_events');
    const rows = await db.dataSource.query(TASK_AUDIT_SQL, [project, taskId]);
    expect(rows.map((r: { action: string }) => r.action).sort()).toEqual(['read.leased', 'task.lease']);
  });
});
