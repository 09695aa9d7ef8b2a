// Read side of the work API: what each person may see of a task (blinded reads), their inbox, label
// downloads with the same rules, task history and the manager's progress and quality numbers.
import { ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@contour/audit';
import { actorOf, Principal } from '@contour/auth';
import { ConsensusResult, entityOf, LabelProtocol, LabelVersion, preparedQuery, ProjectRole, Review, Role, Series, Task, TaskRead } from '@contour/db';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { classificationAgreement, pairMeans, PairSum } from '@contour/consensus';
import { COLLECTING_STATES, questionAnswers, SHAPES_KEY, TaskState, taskImageSource } from '@contour/workflow';
import { TASK_VIEW_COLUMNS, TaskGrid, TaskViewRows } from '@contour/tasks';

/**
 * A task's audit lines, $2 in project $1: about the task itself, through the object index, and about its reads,
 * versions and reviews, which name it in details.taskId, through audit_events_task (the whole log was scanned).
 */
/**
 * The agreement histogram's bin (1-10: [0, 0.1) ... [0.9, 1]) of a task agreement: a value on a bin's lower edge is
 * in that bin (the upper bound 1.0000001 put 0.5 in [0.4, 0.5), so a task at exactly 0.8 looked below a 0.8
 * threshold); 1 is in the last bin, and an agreement below 0 (a kappa) in the first.
 */
export const agreementBucketSql = (column: string) => `GREATEST(1, LEAST(10, width_bucket(${column}, 0, 1, 10)))`;

export const TASK_AUDIT_SQL = `SELECT id, at, actor_name AS actor, action, object_type AS "objectType", object_id AS "objectId", details FROM audit_events
  WHERE project_id = $1 AND ((object_type = 'task' AND object_id = $2) OR details->>'taskId' = $2) ORDER BY id`;

/**
 * The caller's ($2) inbox in project $1: their leased and waiting reads, then their latest 200 others, newest first,
 * read in that order from task_reads_annotator and cut at 200, each with its task by its key (the LIMIT keeps the
 * planner from hashing the whole tasks table for 200 rows). One query over all of their reads fetched and sorted
 * every read they ever made: 150 ms for someone with 37,700.
 */
export const MY_READS_SQL = `SELECT r.id AS "readId", r.task_id AS "taskId", r.kind, r.state, r.round, r.lease_expires_at AS "leaseExpiresAt", r.rework_comment AS "reworkComment",
         r.submitted_at AS "submittedAt", t.state AS "taskState", t.modality, t.kind AS "taskKind"
    FROM ((SELECT * FROM task_reads r WHERE r.project_id = $1 AND ((r.annotator_id = $2 AND r.state IN ('leased', 'open')) OR (r.state = 'open' AND r.assigned_to = $2)))
          UNION ALL
          (SELECT * FROM task_reads r WHERE r.annotator_id = $2 AND r.project_id = $1 AND r.state NOT IN ('leased', 'open') ORDER BY r.submitted_at DESC NULLS LAST LIMIT 200)) r
    CROSS JOIN LATERAL (SELECT t.state, t.modality, t.kind FROM tasks t WHERE t.id = r.task_id LIMIT 1) t
   ORDER BY (r.state = 'leased') DESC, (r.state = 'open') DESC, r.submitted_at DESC NULLS LAST LIMIT 200`;

/**
 * Time in each state: each transition's stay until the task's next transition (or now), by state. The seconds as a
 * float (date_part), not numeric (extract): averaging and sorting 500,000 numerics took a fifth of the statement.
 */
export const TIME_IN_STATE_SQL = `SELECT state, round(avg(seconds)::numeric, 1)::float AS "meanSeconds", round(percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)::numeric, 1)::float AS "medianSeconds", count(*)::int AS visits
  FROM (SELECT to_state AS state, date_part('epoch', COALESCE(lead(at) OVER (PARTITION BY task_id ORDER BY id), now()) - at) AS seconds
          FROM task_transitions WHERE project_id = $1) s GROUP BY state ORDER BY state`;

/**
 * Each reader's mean Dice against the merged masks and mean shape agreement over the pairs they were in, from the
 * scores consensus results keep (consensus_scores; a shape pair counts for both its readers).
 */
export const READER_MEANS_SQL = `SELECT reader::text, avg(value) FILTER (WHERE kind = 'vs-merged') AS dice, avg(value) FILTER (WHERE kind = 'pair-shape') AS shapes
  FROM (SELECT kind, reader_a AS reader, value FROM consensus_scores WHERE project_id = $1 AND kind IN ('vs-merged', 'pair-shape') AND reader_a IS NOT NULL
        UNION ALL
        SELECT kind, reader_b, value FROM consensus_scores WHERE project_id = $1 AND kind = 'pair-shape' AND reader_b IS NOT NULL) s
 GROUP BY reader`;

/** How many scores each (ordered) pair of readers has of each kind, and their sum (pairMeans pools the two orders). */
export const PAIR_SUMS_SQL = `SELECT kind, reader_a::text AS a, reader_b::text AS b, count(*)::int AS tasks, sum(value) AS sum
  FROM consensus_scores WHERE project_id = $1 AND kind IN ('pair-dice', 'pair-shape') AND reader_a IS NOT NULL AND reader_b IS NOT NULL
 GROUP BY 1, 2, 3`;

/**
 * Each annotator of project $1 with their reads and how many of those were in a round a reviewer rejected (a round
 * rejected twice counts once). The project's rejected rounds are joined once, from reviews_project: a lookup per read
 * took twice as long at 150,000 reads.
 */
export const READS_PER_ANNOTATOR_SQL = `SELECT lv.author_id AS user_id, u.username, count(*)::int AS reads, count(rj.task_id)::int AS rejected
  FROM label_versions lv JOIN users u ON u.id = lv.author_id
  LEFT JOIN (SELECT DISTINCT task_id, round FROM reviews WHERE project_id = $1 AND decision = 'rejected') rj ON rj.task_id = lv.task_id AND rj.round = lv.round
 WHERE lv.project_id = $1 AND lv.kind = 'read' GROUP BY lv.author_id, u.username ORDER BY u.username`;

/**
 * Every read of project $1 with its round and question answers (its boxes, points and polygons left in the database:
 * a project of polygons sent every vertex of every read to the coordinator; none when it answered no question); the
 * classification statistics keep each task's latest round (latestRoundReads). A subquery for the task's latest round,
 * run for each read, read the task's versions again per read (1.5-2 s at 210,000 reads); this is one pass. In the table's order, the order the per-read subquery met them in
 * on its scan of the table: the kappas are summed in this order, so they come out the same to the last digit (and no
 * longer depend on where a synchronised scan of a large table happened to start). Label versions are never updated,
 * so the order is stable.
 */
export const READ_ANSWERS_SQL = `SELECT lv.task_id, lv.author_id, lv.round, NULLIF(lv.answers - '${SHAPES_KEY}', '{}') AS answers FROM label_versions lv WHERE lv.project_id = $1 AND lv.kind = 'read' ORDER BY lv.ctid`;

/** The reads of each task's latest round (`rows` as READ_ANSWERS_SQL returns them), in the order given. */
export function latestRoundReads<T extends { task_id: string; round: number }>(rows: readonly T[]): T[] {
  const latest = new Map<string, number>();
  for (const r of rows) latest.set(r.task_id, Math.max(latest.get(r.task_id) ?? r.round, r.round));
  return rows.filter((r) => r.round === latest.get(r.task_id));
}

/**
 * A page of project $1's tasks for its managers, in the list's order: priority (highest first), then age, then id (the
 * tie-break makes the order total, so pages neither repeat nor skip a task). The page's tasks are found in the
 * tasks_list index (the ids only) and only they are read and have their submitted reads counted: the list sorted every
 * task of the project and counted the reads of every task it skipped (1 s at OFFSET 50,000). With `afterId` the
 * page starts after that task (a cursor that costs the same at any depth): the tasks of its priority after it, then
 * those of lower priorities, each a range of the index. `$2` is the limit, `$3` the offset (after the cursor, if any),
 * then the states (`byState`), then the task to start after (`afterId`).
 */
export function taskListSql(byState: boolean, afterId: boolean): string {
  const state = byState ? 'AND t.state = ANY($4)' : '';
  const after = `$${byState ? 5 : 4}`;
  // The cursor's place as parameters of the index ranges (scalar subqueries, run once), not a join the planner
  // could turn into a filter on the walk of every task.
  const page = afterId
    ? `WITH after AS (SELECT a.priority, a.created_at FROM tasks a WHERE a.id = ${after} AND a.project_id = $1)
       SELECT p.id FROM ((SELECT t.id, t.priority, t.created_at FROM tasks t
                           WHERE t.project_id = $1 AND t.priority = (SELECT priority FROM after) AND (t.created_at, t.id) > ((SELECT created_at FROM after), ${after}) ${state}
                           ORDER BY t.priority DESC, t.created_at, t.id LIMIT $2::int + $3::int)
                         UNION ALL
                         (SELECT t.id, t.priority, t.created_at FROM tasks t WHERE t.project_id = $1 AND t.priority < (SELECT priority FROM after) ${state}
                           ORDER BY t.priority DESC, t.created_at, t.id LIMIT $2::int + $3::int)) p
        ORDER BY p.priority DESC, p.created_at, p.id LIMIT $2 OFFSET $3`
    : `SELECT t.id FROM tasks t WHERE t.project_id = $1 ${state} ORDER BY t.priority DESC, t.created_at, t.id LIMIT $2 OFFSET $3`;
  return `SELECT t.id, t.state, t.kind, t.modality, t.priority, t.uncertainty, t.agreement, t.reads_required AS "readsRequired", t.rework_round AS "reworkRound",
                 t.rejection_count AS "rejectionCount", t.state_changed_at AS "stateChangedAt", t.created_at AS "createdAt", t.state_reason AS "stateReason", t.privacy_held AS "privacyHeld",
                 (SELECT count(*)::int FROM task_reads r WHERE r.task_id = t.id AND r.kind = 'annotation' AND r.state = 'submitted') AS "readsSubmitted"
            FROM (${page}) page JOIN tasks t ON t.id = page.id
           ORDER BY t.priority DESC, t.created_at, t.id`;
}

/** States in which reviewers may see every read (collection is over). */
const OPEN_BOOK: string[] = [TaskState.Consensus, TaskState.Adjudication, TaskState.Review, TaskState.Rework, TaskState.Escalated, TaskState.Approved];

@Injectable()
export class TaskQueries {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly audit: AuditService,
    private readonly grids: TaskGrid,
  ) {}

  private isManager(p: Principal) {
    return p.roles.includes(Role.Admin) || (p.projectRoles ?? []).includes(ProjectRole.Manager);
  }

  /** Which label versions of the task this person may open. */
  private async visibility(task: Task, p: Principal) {
    const [reads, authoredRead] = await Promise.all([
      this.dataSource.getRepository(TaskRead).find({ where: { taskId: task.id } }),
      this.dataSource.getRepository(LabelVersion).existsBy({ taskId: task.id, authorId: p.userId, kind: 'read' }),
    ]);
    return this.visibilityOf(task, p, reads, authoredRead);
  }

  /** The same rule, from the task's reads and whether the caller authored a read (taskForWorker has both). */
  private visibilityOf(task: Task, p: Principal, reads: TaskRead[], authoredRead: boolean) {
    const annotatedByMe = reads.some((r) => r.kind === 'annotation' && (r.annotatorId === p.userId || r.assignedTo === p.userId || r.previousAnnotatorId === p.userId));
    const reviewer = (p.projectRoles ?? []).includes(ProjectRole.Reviewer);
    // Blinding holds for whoever reads the task while it collects its reads, a manager who also annotates included
    // (they saw the others' reads before).
    const blinded = COLLECTING_STATES.includes(task.state) && (annotatedByMe || authoredRead);
    const seesAll = !blinded && (this.isManager(p) || (reviewer && OPEN_BOOK.includes(task.state) && !annotatedByMe && !authoredRead));
    return {
      seesAll,
      involved: annotatedByMe || authoredRead || reads.some((r) => r.annotatorId === p.userId),
      // A read's auto-saved draft is its author's work in progress: managers see it, other readers and reviewers
      // do not (a reviewer saw the drafts of a task in rework).
      canSee: (v: Pick<LabelVersion, 'kind' | 'authorId'>) => (seesAll && (v.kind !== 'read-draft' || this.isManager(p))) || v.kind === 'draft' || v.authorId === p.userId,
      /** Why a version canSee refuses is hidden from the caller (the 403's message). */
      whyHidden: (v: Pick<LabelVersion, 'kind'>) =>
        blinded
          ? 'Reads are blinded: you cannot see another person\u2019s work on this task while it collects reads'
          : seesAll && v.kind === 'read-draft'
            ? 'This is a read\u2019s auto-saved draft, its author\u2019s work in progress: only the project\u2019s managers see it'
            : `Only the project\u2019s managers, and its reviewers who did not read the task themselves once it is in ${OPEN_BOOK.join(', ').replace(/_/g, ' ')}, see other people\u2019s work on a task`,
    };
  }

  async taskForWorker(projectId: string, taskId: string, p: Principal) {
    // The task and everything the task view needs in one statement (reads, versions, series, study, protocol,
    // consensus, reviews). Visibility is decided from the same reads and versions that are returned.
    const [related] = await preparedQuery<TaskViewRows>(this.dataSource, 'task-view', `SELECT row_to_json(t) AS task, ${TASK_VIEW_COLUMNS} FROM tasks t WHERE t.id = $1 AND t.project_id = $2`, [taskId, projectId]);
    if (!related) throw new NotFoundException(`No task ${taskId} in this project`);
    return this.taskView(related, p);
  }

  /** The task view of `related` for the caller (what taskForWorker answers; "next task" has the rows from its claim). */
  async taskView(related: TaskViewRows, p: Principal) {
    const task = entityOf<Task>(related.task);
    const reads = related.reads.map((r) => entityOf<TaskRead>(r));
    const versions = related.versions.map((r) => entityOf<LabelVersion>(r));
    const myDrafts = new Set(versions.filter((v) => v.kind === 'read-draft' && v.authorId === p.userId).map((v) => v.id));
    const series = related.series.map((r) => entityOf<Series>(r));
    const consensusRows = related.consensus.map((r) => entityOf<ConsensusResult>(r));
    const reviewRows = related.reviews.map((r) => entityOf<Review>(r));
    const protocol = related.protocol ? entityOf<LabelProtocol>(related.protocol) : null;
    const study = [{ study_instance_uid: related.study_uid }];
    const vis = this.visibilityOf(task, p, reads, versions.some((v) => v.authorId === p.userId && v.kind === 'read'));
    if (!vis.seesAll && !vis.involved && !this.isManager(p)) {
      // Annotators and reviewers open tasks through their leases; nothing else of the project is theirs to browse.
      throw new ForbiddenException('You have no read, review or adjudication of this task');
    }
    // No grid (and no exception to build and discard on every "next") for view groups and series not yet measured.
    const first = series.find((s) => s.id === task.seriesIds[0]);
    const gridless = task.kind === 'view-group' || (task.kind === 'series' && !first?.geometry);
    const grid = gridless ? null : await this.grids.gridOf(task, first).catch(() => null);
    const consensus = vis.seesAll ? consensusRows : [];
    const reviews = vis.seesAll || vis.involved ? reviewRows : [];
    const imageSource = taskImageSource(task, first);
    return {
      id: task.id,
      state: task.state,
      /** An image of the task waits for a privacy review: the task takes no work until it is cleared. */
      privacyHeld: task.privacyHeld,
      kind: task.kind,
      modality: task.modality,
      priority: task.priority,
      uncertainty: task.uncertainty,
      readsRequired: task.readsRequired,
      reworkRound: task.reworkRound,
      agreement: vis.seesAll ? task.agreement : null,
      studyInstanceUid: study[0]?.study_instance_uid,
      instanceId: task.instanceId,
      /**
       * What the task is drawn on: 'series', its first series' volume (`series/:id/volume`), or 'instance', its image
       * alone (`instances/:instanceId/volume`), for an image or frame-range task of a series that is not one volume.
       */
      imageSource,
      /** The grid masks of this task live on; z0 is its first slice in the volume of `imageSource`. */
      grid: grid ? { ...grid, z0: await this.firstSlice(task, series[0], imageSource) } : null,
      frameStart: task.frameStart,
      frameEnd: task.frameEnd,
      /** `view`: what a view image shows, laterality and view position ("L-CC"), for view groups and image tasks. */
      series: series.map((s) => ({ id: s.id, seriesInstanceUid: s.seriesInstanceUid, modality: s.modality, description: s.description, view: related.views?.[s.id] ?? null, geometry: s.geometry, qcStatus: s.qcStatus, source: s.source })),
      protocol: protocol ? { version: protocol.version, ...protocol.definition } : null,
      // A read's draft is named only to its author: a read given to someone else (its holder left, released it or let
      // the lease lapse) still points at the earlier holder's draft, whose id the new holder was shown.
      reads: reads
        .filter((r) => vis.seesAll || r.annotatorId === p.userId || r.assignedTo === p.userId || r.previousAnnotatorId === p.userId)
        .map((r) => ({ id: r.id, kind: r.kind, slot: r.slot, state: r.state, round: r.round, mine: r.annotatorId === p.userId || r.assignedTo === p.userId, annotatorId: vis.seesAll ? r.annotatorId : undefined, leaseExpiresAt: r.annotatorId === p.userId ? r.leaseExpiresAt : undefined, reworkComment: r.reworkComment, labelVersionId: vis.seesAll || r.annotatorId === p.userId ? r.labelVersionId : null, draftVersionId: r.annotatorId === p.userId && myDrafts.has(r.draftVersionId ?? '') ? r.draftVersionId : null })),
      labels: versions.filter((v) => vis.canSee(v)).map((v) => ({ id: v.id, kind: v.kind, authorId: vis.seesAll || v.authorId === p.userId ? v.authorId : null, readId: vis.seesAll || v.authorId === p.userId ? v.readId : null, round: v.round, model: v.model, answers: v.answers, stats: v.stats, hasMask: Boolean(v.blobKey), createdAt: v.createdAt })),
      consensus: consensus.map((c) => ({ round: c.round, agreement: c.agreement, method: c.method, metrics: c.metrics, disagreement: c.disagreement, mergedVersionId: c.mergedVersionId })),
      reviews: reviews.map((r) => ({ decision: r.decision, comment: r.comment, round: r.round, at: r.createdAt })),
    };
  }

  /** Index of the task's first image in its series' slice order, or in its own image's frames (0 for whole-series tasks). */
  private async firstSlice(task: Task, series: Series | undefined, imageSource: 'series' | 'instance'): Promise<number> {
    if (task.kind === 'frames') return task.frameStart ?? 0;
    if (task.kind !== 'image' || !series?.geometry || imageSource === 'instance') return 0;
    const order = (series.geometry as { order?: string[] }).order ?? [];
    return Math.max(0, order.indexOf(task.instanceId!));
  }

  /** A label version of a task the caller may see (blinded reads stay hidden); 404/403 otherwise. */
  private async visibleVersion(projectId: string, taskId: string, versionId: string, p: Principal): Promise<LabelVersion> {
    const task = await this.dataSource.getRepository(Task).findOneBy({ id: taskId, projectId });
    if (!task) throw new NotFoundException(`No task ${taskId} in this project`);
    const version = await this.dataSource.getRepository(LabelVersion).findOneBy({ id: versionId, taskId });
    if (!version) throw new NotFoundException(`No label version ${versionId} on this task`);
    const vis = await this.visibility(task, p);
    if (!vis.canSee(version)) throw new ForbiddenException(vis.whyHidden(version));
    return version;
  }

  async labelFor(projectId: string, taskId: string, versionId: string, p: Principal) {
    const version = await this.visibleVersion(projectId, taskId, versionId, p);
    if (!version.blobKey) throw new NotFoundException('This label version has no mask (answers only)');
    await this.audit.record(actorOf(p), { action: 'label.read', objectType: 'label_version', objectId: versionId, projectId, details: { taskId, kind: version.kind } });
    return { version, body: await this.blobs.getBuffer(version.blobKey) };
  }

  async segFor(projectId: string, taskId: string, versionId: string, p: Principal): Promise<Buffer> {
    const version = await this.visibleVersion(projectId, taskId, versionId, p);
    if (!version.segBlobKey) throw new NotFoundException('No DICOM SEG was written for this label version');
    await this.audit.record(actorOf(p), { action: 'label.read', objectType: 'label_version', objectId: versionId, projectId, details: { taskId, kind: version.kind, format: 'dicom-seg' } });
    return this.blobs.getBuffer(version.segBlobKey);
  }

  async myReads(projectId: string, userId: string) {
    return this.dataSource.query(MY_READS_SQL, [projectId, userId]);
  }

  /** A page of the project's tasks (taskListSql): `offset` tasks skipped, after the task `afterId` if given. */
  async list(projectId: string, state: string | undefined, limit: number, offset: number, afterId?: string) {
    if (afterId && !(await this.dataSource.getRepository(Task).existsBy({ id: afterId, projectId }))) {
      throw new NotFoundException(`No task ${afterId} in this project to list the tasks after: pass the id of the last task of the previous page`);
    }
    const params: unknown[] = [projectId, limit, offset];
    if (state) params.push(state.split(','));
    if (afterId) params.push(afterId);
    return this.dataSource.query(taskListSql(Boolean(state), Boolean(afterId)), params);
  }

  async history(projectId: string, taskId: string) {
    const task = await this.dataSource.getRepository(Task).findOneBy({ id: taskId, projectId });
    if (!task) throw new NotFoundException(`No task ${taskId} in this project`);
    const transitions = await this.dataSource.query(
      `SELECT from_state AS "from", to_state AS "to", event, actor_name AS actor, reason, at FROM task_transitions WHERE task_id = $1 ORDER BY id`,
      [taskId],
    );
    const audit = await this.dataSource.query(TASK_AUDIT_SQL, [projectId, taskId]);
    return { task: { id: task.id, state: task.state, rejectionCount: task.rejectionCount, reworkRound: task.reworkRound }, transitions, audit };
  }

  /** Tasks by state, in state order (through the (project, state) index). */
  countsByState(projectId: string): Promise<{ state: string; n: number }[]> {
    return this.dataSource.query(`SELECT state, count(*)::int AS n FROM tasks WHERE project_id = $1 GROUP BY state ORDER BY state`, [projectId]);
  }

  async stats(projectId: string) {
    const byState = await this.countsByState(projectId);
    const perDay = await this.dataSource.query(
      `SELECT to_char(date_trunc('day', at), 'YYYY-MM-DD') AS day, count(*)::int AS approved FROM task_transitions
        WHERE project_id = $1 AND to_state = 'approved' GROUP BY 1 ORDER BY 1`,
      [projectId],
    );
    // Each transition's stay, read in (task, id) order from task_transitions_by_task alone (no sort before the
    // window), then sorted by state for the median in memory (it spilled to disk at 500,000 transitions).
    const timeInState = await this.dataSource.transaction(async (m) => {
      await m.query(`SET LOCAL work_mem = '64MB'`);
      return m.query(TIME_IN_STATE_SQL, [projectId]);
    });
    const rejections = await this.dataSource.query(
      `SELECT count(*) FILTER (WHERE decision = 'rejected')::int AS rejected, count(*)::int AS reviews FROM reviews WHERE project_id = $1`,
      [projectId],
    );
    const agreementHistogram = await this.dataSource.query(
      `SELECT ${agreementBucketSql('agreement')} AS bucket, count(*)::int AS n FROM tasks WHERE project_id = $1 AND agreement IS NOT NULL GROUP BY 1 ORDER BY 1`,
      [projectId],
    );
    // Per annotator: mean Dice of their reads against the merged result, and how often their work was rejected.
    // Shapes: the mean agreement of the reader pairs the annotator was part of.
    // Reader against reader: the mean Dice over labels of each pair of reads, and the shape agreement of each pair,
    // pooled over every consensus round the two shared. All from the scores each consensus result keeps.
    const readerMeans: { reader: string; dice: number | null; shapes: number | null }[] = await this.dataSource.query(READER_MEANS_SQL, [projectId]);
    const perReader = new Map(readerMeans.map((r) => [r.reader, r]));
    const pairSums: (PairSum & { kind: string })[] = await this.dataSource.query(PAIR_SUMS_SQL, [projectId]);
    // Classification answers: the reads of each task's latest round, one item per task (Cohen's kappa per pair of
    // readers, Fleiss' kappa per question).
    const answerRows = latestRoundReads<{ task_id: string; author_id: string; round: number; answers: Record<string, unknown> | null }>(await this.dataSource.query(READ_ANSWERS_SQL, [projectId]));
    const byTask = new Map<string, { id: string; answers: Record<string, unknown> }[]>();
    for (const row of answerRows) {
      const answers = questionAnswers(row.answers);
      if (Object.keys(answers).length) (byTask.get(row.task_id) ?? byTask.set(row.task_id, []).get(row.task_id)!).push({ id: row.author_id, answers });
    }
    const classification = classificationAgreement([...byTask.values()].map((readers) => ({ readers })));
    const readsPerAnnotator: { user_id: string; username: string; reads: number; rejected: number }[] = await this.dataSource.query(READS_PER_ANNOTATOR_SQL, [projectId]);
    const annotators = readsPerAnnotator.map((a) => {
      const mine = perReader.get(a.user_id);
      return { userId: a.user_id, username: a.username, reads: a.reads, rejected: a.rejected, rejectionRate: a.reads ? a.rejected / a.reads : 0, meanDiceVsConsensus: mine?.dice ?? null, meanShapeAgreement: mine?.shapes ?? null };
    });
    const [{ mean_agreement }] = await this.dataSource.query(`SELECT avg(agreement)::float AS mean_agreement FROM tasks WHERE project_id = $1 AND agreement IS NOT NULL`, [projectId]);
    const names = new Map(readsPerAnnotator.map((a) => [a.user_id, a.username]));
    const who = (userId: string) => ({ userId, username: names.get(userId) ?? null });
    const pairs = {
      dice: pairMeans(pairSums.filter((p) => p.kind === 'pair-dice')).map(({ a, b, tasks, mean }) => ({ a: who(a), b: who(b), comparisons: tasks, meanDice: mean })),
      shapes: pairMeans(pairSums.filter((p) => p.kind === 'pair-shape')).map(({ a, b, tasks, mean }) => ({ a: who(a), b: who(b), comparisons: tasks, meanAgreement: mean })),
      classification: classification.pairs.map((p) => ({ ...p, a: who(p.a), b: who(p.b) })),
    };
    return {
      byState,
      approvedPerDay: perDay,
      timeInState,
      reviews: rejections[0],
      agreement: { mean: mean_agreement, histogram: agreementHistogram, classification: classification.questions, pairs },
      annotators,
    };
  }
}
