// Consensus for a task whose k reads are in (consensus queue, worker): agreement per label, the merged label
// (majority vote or STAPLE), the regions of disagreement, and the next step — review, approval or
// adjudication — by the project's threshold. Idempotent: a task no longer in "consensus" is left alone.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { answerAgreement, computeAgreement, disagreementRegions, Mask, shapeAgreement } from '@contour/consensus';
import { Actor, AuditService, systemActor } from '@contour/audit';
import { ConsensusResult, LabelVersion, Project, Task, TaskRead } from '@contour/db';
import { JobName, JobQueue, QueueName } from '@contour/queue';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { afterConsensus, ageBoostSql, decodeLabelMapAsync, encodeLabelMap, labelCounts, LABELMAP_ENCODING, parseProjectSettings, questionAnswers, SHAPES_KEY, shapesOf, TaskEvent, TaskState } from '@contour/workflow';
import { TaskLifecycle } from './task-lifecycle.service';
import { TaskGrid } from './task-grid.service';
import { findStuckTasks } from './stuck-tasks';

const actor: Actor = systemActor('consensus');

/** Why a task waits in review when no reviewer of the project may take it (tasks.state_reason, cleared by the review). */
export const NO_REVIEWER_REASON = 'waiting for a reviewer: every reviewer of the project annotated or adjudicated this task; add a reviewer (or cancel it)';

@Injectable()
export class ConsensusService {
  private readonly logger = new Logger(ConsensusService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly lifecycle: TaskLifecycle,
    private readonly grids: TaskGrid,
    private readonly jobs: JobQueue,
    private readonly audit: AuditService,
  ) {}

  /** The consensus job of a task's current round: one per round, so a retried submission never runs it twice. */
  static jobId(task: { id: string; reworkRound: number }): string {
    return `consensus-${task.id}-${task.reworkRound}`;
  }

  /** Queues the consensus job of the task's round (a no-op while that job exists). */
  queue(task: { id: string; reworkRound: number }) {
    return this.jobs.add(JobName.ConsensusTask, { taskId: task.id, round: task.reworkRound }, { jobId: ConsensusService.jobId(task) });
  }

  /**
   * Queues the consensus job of the task's round again, removing the one of that name (failed for good, or done):
   * `job` when the caller has it, else looked up.
   */
  async requeue(task: { id: string; reworkRound: number }, job?: { remove(): Promise<unknown> } | null) {
    await (job === undefined ? await this.jobs.queue(QueueName.Consensus).getJob(ConsensusService.jobId(task)) : job)?.remove();
    await this.queue(task);
  }

  /**
   * Tasks left in "consensus" with no job to move them (see stuck-tasks.ts): a job that was never queued, or
   * completed while the task waited, is queued again; one that failed for good fails the task with its reason,
   * which managers see on the task (and can cancel or retry it: ReviewService.retry).
   */
  async recoverStuck(olderThanSeconds?: number): Promise<{ requeued: number; failed: number }> {
    const stuck = await findStuckTasks(this.dataSource, this.jobs.queue(QueueName.Consensus), TaskState.Consensus, ConsensusService.jobId, olderThanSeconds);
    let failed = 0;
    for (const t of stuck) {
      if (t.jobState === 'failed') {
        const reason = `consensus failed: ${t.job?.failedReason ?? 'unknown error'}`;
        await this.dataSource.transaction((m) => this.lifecycle.apply(m, t.id, TaskEvent.Fail, systemActor('stuck-task-recovery'), reason, { stateReason: reason }));
        failed++;
      } else {
        await this.requeue(t, t.job ?? null);
      }
    }
    if (stuck.length) this.logger.warn(`consensus: ${stuck.length - failed} stuck task(s) queued again, ${failed} failed`);
    return { requeued: stuck.length - failed, failed };
  }

  private readonly pool: { mask: Uint8Array; confidence: Float32Array }[] = [];

  private takeBuffers(voxels: number) {
    const i = this.pool.findIndex((b) => b.mask.length === voxels);
    return i >= 0 ? this.pool.splice(i, 1)[0] : { mask: new Uint8Array(voxels), confidence: new Float32Array(voxels) };
  }

  private returnBuffers(b: { mask: Uint8Array; confidence: Float32Array }) {
    // Keep at most two sets (one per concurrent job): memory stays bounded.
    if (this.pool.length < 2) this.pool.push(b);
  }

  async run(taskId: string): Promise<{ state: string; agreement?: number }> {
    const task = await this.dataSource.getRepository(Task).findOneBy({ id: taskId });
    if (!task || task.state !== TaskState.Consensus) return { state: task?.state ?? 'missing' };
    const project = await this.dataSource.getRepository(Project).findOneByOrFail({ id: task.projectId });
    const settings = parseProjectSettings(project.settings);
    const reads = await this.dataSource.getRepository(TaskRead).find({ where: { taskId, kind: 'annotation', state: 'submitted' }, order: { slot: 'ASC' } });
    const versions = await Promise.all(reads.map((r) => this.dataSource.getRepository(LabelVersion).findOneByOrFail({ id: r.labelVersionId! })));

    // The heavy part happens outside any transaction.
    let agreement = 1;
    let metrics: Record<string, unknown> = {};
    let disagreement: Record<string, unknown> = {};
    let merged: { mask?: Buffer; answers: Record<string, unknown>; stats: Record<string, unknown> } = { answers: {}, stats: {} };
    // Once one reader drew a mask, every read counts for the masks: a reader who sent none marked nothing (an empty
    // mask), as with shapes below. Left out, one reader's mask was merged alone and agreed with itself.
    const maskReads = versions.some((v) => v.blobKey) ? versions : [];
    if (maskReads.length) {
      const grid = await this.grids.gridOf(task);
      const voxels = grid.dims[0] * grid.dims[1] * grid.dims[2];
      const masks: Mask[] = await Promise.all(maskReads.map(async (v) => (v.blobKey ? decodeLabelMapAsync(await this.blobs.getBuffer(v.blobKey), grid.dims) : new Uint8Array(voxels))));
      // Count each mask once (it used to be counted again for every label of the protocol).
      const counts = masks.map((m) => labelCounts(m as Uint8Array));
      const labels = (await this.grids.allowedLabels(task)).filter((l) => counts.some((c) => c[l]));
      if (masks.length >= 2) {
        const started = performance.now();
        // Merge outputs are written into buffers kept from earlier tasks of the same size: allocating (and first
        // touching) a fresh 300 MB confidence map costs more than STAPLE itself on a 512x512x300 grid.
        // (Label maps above 255 need 16-bit outputs: those get fresh buffers.)
        const output = labels.some((l) => l > 255) ? undefined : this.takeBuffers(masks[0].length);
        const report = computeAgreement(masks, { dims: grid.dims, spacing: grid.spacing }, labels, { merge: settings.quality.mergeMethod === 'staple' ? 'staple' : 'majority', output });
        agreement = report.agreement;
        metrics = {
          method: settings.quality.mergeMethod,
          readers: maskReads.map((v) => v.authorId),
          labels: report.labels.map((l) => ({ ...l })),
          pairs: report.pairs,
          computeMs: Math.round(performance.now() - started),
        };
        const regions = disagreementRegions(masks, { dims: grid.dims, spacing: grid.spacing }, labels, { minVoxels: 10 });
        disagreement = { labels: regions.map((r) => ({ label: r.label, voxels: r.voxels, slices: r.perSlice.flatMap((n, z) => (n ? [{ z, voxels: n }] : [])), regions: r.regions.slice(0, 50) })) };
        merged.mask = encodeLabelMap(report.merged.mask as Uint8Array);
        merged.stats = { voxels: labelCounts(report.merged.mask as Uint8Array), meanConfidence: mean(report.merged.confidence, report.merged.box ? undefined : 1) };
        if (output) this.returnBuffers(output);
      } else {
        merged.mask = encodeLabelMap(masks[0] as Uint8Array);
        merged.stats = { voxels: counts[0] };
      }
    }
    // Each kind of answer gives its own agreement; the task's is the lowest (every part must agree).
    const parts: number[] = maskReads.length >= 2 ? [agreement] : [];
    const answered = versions.filter((v) => Object.keys(questionAnswers(v.answers)).length);
    if (answered.length) {
      const a = answerAgreement(answered.map((v) => questionAnswers(v.answers)));
      merged.answers = a.merged;
      metrics = { ...metrics, answers: a.perQuestion, ...(a.tied.length ? { tiedAnswers: a.tied } : {}) };
      parts.push(a.agreement);
    }
    // Boxes, points and polygons: every reader counts, including one who drew none ("nothing to mark").
    const drawn = versions.filter((v) => SHAPES_KEY in (v.answers ?? {}));
    if (drawn.length) {
      const report = shapeAgreement(drawn.map((v) => shapesOf(v.answers)));
      merged.answers = { ...merged.answers, [SHAPES_KEY]: report.merged };
      merged.stats = { ...merged.stats, shapes: report.merged.length };
      metrics = { ...metrics, shapes: { agreement: report.agreement, labels: report.labels, pairs: report.pairs, merged: report.mergedInfo, readers: drawn.map((v) => v.authorId) } };
      disagreement = { ...disagreement, shapes: report.disputed.slice(0, 200) };
      if (drawn.length >= 2) parts.push(report.agreement);
    }
    if (parts.length) agreement = Math.min(...parts);
    const mergedKey = merged.mask ? (await this.blobs.put(merged.mask)).key : null;

    return this.dataSource.transaction(async (m) => {
      const locked = await m.getRepository(Task).createQueryBuilder('t').setLock('pessimistic_write').where('t.id = :taskId', { taskId }).getOneOrFail();
      if (locked.state !== TaskState.Consensus) return { state: locked.state };
      const grid = mergedKey ? ((await this.grids.gridOf(locked, undefined, m)) as unknown as Record<string, unknown>) : null;
      const version = await m.save(
        m.create(LabelVersion, { taskId, projectId: task.projectId, kind: 'merged', readId: null, authorId: null, round: locked.reworkRound, protocolVersion: locked.protocolVersion, blobKey: mergedKey, encoding: LABELMAP_ENCODING, grid, answers: merged.answers, stats: merged.stats }),
      );
      // Every stored label version has its audit line, the merge too (it had none).
      await this.audit.record(actor, { action: 'label.merged.saved', objectType: 'label_version', objectId: version.id, projectId: task.projectId, details: { taskId, readId: null, method: settings.quality.mergeMethod, agreement, stats: merged.stats } }, m);
      // Its reader scores (consensus_scores, for the project's statistics) are written by a trigger.
      await m.save(m.create(ConsensusResult, { taskId, projectId: task.projectId, round: locked.reworkRound, agreement, method: settings.quality.mergeMethod, metrics, disagreement, mergedVersionId: version.id }));
      // The task's own number of reads: the project's may have changed since the task was split.
      const event = afterConsensus(agreement, { ...settings.quality, reads: task.readsRequired });
      const { to } = await this.lifecycle.apply(m, taskId, event, actor, `agreement ${agreement.toFixed(3)} (threshold ${settings.quality.agreementThreshold})`, { agreement });
      if (to === TaskState.Review || to === TaskState.Adjudication) await this.openSlot(m, locked, to === TaskState.Review ? 'review' : 'adjudication');
      this.logger.log(`task ${taskId}: agreement ${agreement.toFixed(3)} -> ${to}`);
      return { state: to, agreement };
    });
  }

  /** One review or adjudication slot for the task's current round. */
  /** A review or adjudication slot, with the lead of its kind and the points the task has earned by waiting (not
   * left for the next run of the ageing job). */
  async openSlot(m: EntityManager, task: Task, kind: 'review' | 'adjudication') {
    const [{ settings }] = await m.query(`SELECT settings FROM projects WHERE id = $1`, [task.projectId]);
    const { agePointsPerDay, ageMaxPoints } = parseProjectSettings(settings).routing;
    await m.query(
      `INSERT INTO task_reads (task_id, project_id, kind, slot, state, round, priority, age_boost, task_created_at, required_skills)
       SELECT $1, $2, $3, 0, 'open', $4, $5 + b.points, b.points, $6, $7 FROM (SELECT ${ageBoostSql('$6::timestamptz', 8, 9)} AS points) b`,
      [task.id, task.projectId, kind, task.reworkRound, task.priority + (kind === 'adjudication' ? 50 : 0), task.createdAt, task.requiredSkills, agePointsPerDay, ageMaxPoints],
    );
    if (kind === 'review' && !(await this.someoneMayReview(m, task))) {
      // Every reviewer of the project annotated or adjudicated the task (nobody reviews their own work): the review
      // waits for a reviewer the project does not have, and nobody was told (the only reviewer had adjudicated it).
      // The slot stays open for a reviewer added later; the task says why it waits, in the managers' list and log.
      await m.query(`UPDATE tasks SET state_reason = $2 WHERE id = $1`, [task.id, NO_REVIEWER_REASON]);
      await this.audit.record(actor, { action: 'task.no-eligible-reviewer', objectType: 'task', objectId: task.id, projectId: task.projectId, details: { reason: NO_REVIEWER_REASON } }, m);
    }
  }

  /**
   * Whether a member could take the task's review (what the review claim checks): an active reviewer of the project with
   * the task's skills who neither annotated nor adjudicated it.
   */
  private async someoneMayReview(m: EntityManager, task: Task): Promise<boolean> {
    const [{ ok }] = await m.query(
      `SELECT EXISTS (SELECT 1 FROM project_members pm JOIN users u ON u.id = pm.user_id
                       WHERE pm.project_id = $1 AND 'reviewer' = ANY(pm.roles) AND u.active AND $3::text[] <@ array_cat(u.skills, pm.skills)
                         AND NOT EXISTS (SELECT 1 FROM label_versions lv WHERE lv.task_id = $2 AND lv.author_id = pm.user_id AND lv.kind IN ('read', 'adjudicated'))) AS ok`,
      [task.projectId, task.id, task.requiredSkills ?? []],
    );
    return ok;
  }
}

function mean(values: Float32Array, fallback?: number): number {
  if (fallback !== undefined) return fallback;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    n++;
  }
  return n ? sum / n : 1;
}
