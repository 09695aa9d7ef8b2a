// Splits a study into tasks by the project's policy (routing queue job). Idempotent: tasks are keyed by the
// policy's split key, unique per project, so a re-run or a redelivered job creates nothing twice; tasks get
// their k annotation slots in the same transaction as their creation.
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Actor, AuditService, systemActor } from '@contour/audit';
import { awaitingReviewSql, excludedInstanceSql, heldFlags } from '@contour/deid';
import { LabelProtocol, Project, Study, Task } from '@contour/db';
import { JobName, JobQueue, prelabelJobId } from '@contour/queue';
import { ExistingFrameRange, parseProjectSettings, SeriesForSplit, skillsFor, splitStudy, TaskEvent, TaskState, withoutOverlappingFrames } from '@contour/workflow';
import { queuePrelabelAgain } from './prelabel-jobs';
import { TaskLifecycle } from './task-lifecycle.service';
import { returned, RoutingService } from './routing.service';

const actor: Actor = systemActor('routing');

/** SQL: nobody has touched task `t`'s reads (none leased, submitted, reserved or ever leased). */
const READS_UNTOUCHED = `NOT EXISTS (SELECT 1 FROM task_reads r WHERE r.task_id = t.id AND (r.state <> 'open' OR r.assigned_to IS NOT NULL OR r.previous_annotator_id IS NOT NULL))`;

@Injectable()
export class TaskSplitter {
  private readonly logger = new Logger(TaskSplitter.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly lifecycle: TaskLifecycle,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
    private readonly routing: RoutingService,
  ) {}

  async split(studyId: string): Promise<{ created: number; existing: number }> {
    const study = await this.dataSource.getRepository(Study).findOneBy({ id: studyId });
    if (!study) return { created: 0, existing: 0 };
    const project = await this.dataSource.getRepository(Project).findOneByOrFail({ id: study.projectId });
    const settings = parseProjectSettings(project.settings);
    const rows: { id: string; modality: string; kind: string | null; qc_status: string; view_group: string | null; source: 'dicom' | 'nifti'; instance_ids: string[]; instance_frames: number[] | null; held_ids: string[]; excluded_ids: string[]; frames: number | null }[] = await this.dataSource.query(
      `SELECT se.id, se.modality, se.geometry ->> 'kind' AS kind, se.qc_status, se.view_group, se.source,
              array_remove(array_agg(i.id ORDER BY i.instance_number NULLS LAST, i.sop_instance_uid), NULL) AS instance_ids, max(i.number_of_frames)::int AS frames,
              array_agg(COALESCE(i.number_of_frames, 1) ORDER BY i.instance_number NULLS LAST, i.sop_instance_uid) FILTER (WHERE i.id IS NOT NULL) AS instance_frames,
              array_remove(array_agg(CASE WHEN ${awaitingReviewSql('i', 2)} THEN i.id END), NULL) AS held_ids,
              array_remove(array_agg(CASE WHEN ${excludedInstanceSql('i')} THEN i.id END), NULL) AS excluded_ids
         FROM series se LEFT JOIN instances i ON i.series_id = se.id WHERE se.study_id = $1 GROUP BY se.id`,
      [studyId, heldFlags(settings.deid.burnedInHold)],
    );
    const series: SeriesForSplit[] = rows.map((r) => ({ id: r.id, modality: r.modality, kind: r.kind, qcStatus: r.qc_status, viewGroup: r.view_group, source: r.source, instanceIds: r.instance_ids, instanceFrames: r.instance_frames ?? [], heldInstanceIds: r.held_ids, excludedInstanceIds: r.excluded_ids, frames: r.frames ?? 1 }));
    const existingFrames: ExistingFrameRange[] = await this.dataSource.query(
      `SELECT split_key AS "splitKey", instance_id AS "instanceId", frame_start AS "frameStart", frame_end AS "frameEnd" FROM tasks WHERE study_id = $1 AND kind = 'frames' AND state <> 'cancelled'`,
      [studyId],
    );
    const specs = withoutOverlappingFrames(splitStudy(series, settings.split.policy, settings.split.framesPerTask), existingFrames);
    const held = rows.reduce((n, r) => n + r.held_ids.length, 0);
    if (held) this.logger.log(`study ${studyId}: ${held} image(s) held for a privacy review (burned-in text); their tasks wait for a manager`);
    const protocol = await this.dataSource.getRepository(LabelProtocol).findOne({ where: { projectId: project.id }, order: { version: 'DESC' } });
    const prelabel = settings.prelabelModels.length > 0;
    let created = 0;
    for (const spec of specs) {
      const newTask = await this.dataSource.transaction(async (m) => {
        const inserted: { id: string; created_at: Date }[] = await m.query(
          `INSERT INTO tasks (project_id, study_id, series_ids, instance_id, frame_start, frame_end, kind, split_key, modality, state, required_skills, reads_required, protocol_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (project_id, split_key) DO NOTHING RETURNING id, created_at`,
          [project.id, studyId, spec.seriesIds, spec.instanceId ?? null, spec.frameStart ?? null, spec.frameEnd ?? null, spec.kind, spec.splitKey, spec.modality, TaskState.Created, skillsFor(settings, spec.modality), settings.quality.reads, protocol?.version ?? null],
        );
        if (!inserted.length) return null;
        const { id, created_at } = inserted[0];
        const skills = skillsFor(settings, spec.modality);
        await m.query(
          `INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at, required_skills, priority)
           SELECT $1, $2, 'annotation', s, 'open', $3, $4, 0 FROM generate_series(0, $5 - 1) AS s`,
          [id, project.id, created_at, skills, settings.quality.reads],
        );
        const task = await m.getRepository(Task).findOneByOrFail({ id });
        await this.lifecycle.created(m, task, actor);
        await this.audit.record(actor, { action: 'task.created', objectType: 'task', objectId: id, projectId: project.id, details: { splitKey: spec.splitKey, kind: spec.kind, reads: settings.quality.reads } }, m);
        await this.lifecycle.apply(m, id, prelabel ? TaskEvent.StartPrelabel : TaskEvent.SkipPrelabel, actor, prelabel ? null : 'no pre-label model configured');
        return id;
      });
      if (newTask) {
        created++;
        if (prelabel) await this.jobs.add(JobName.PrelabelTask, { taskId: newTask, lane: 'batch' }, { jobId: prelabelJobId(newTask, settings.prelabelModels), priority: 10 });
      }
    }
    if (created) this.logger.log(`study ${studyId}: ${created} new task(s), ${specs.length - created} already there`);
    if (settings.split.policy === 'view-group') await this.supersedeGrownGroups(studyId);
    await this.refreshPrivacyHolds(studyId, heldFlags(settings.deid.burnedInHold));
    return { created, existing: specs.length - created };
  }

  /**
   * A series that arrives after its study was split can join a view group: the group's task then holds the series
   * of an earlier view-group task too (an axial MR split alone, then its coronal companion linking both). The earlier
   * task is cancelled when nobody has started it (not leased, reserved, read or drafted by a person), so its series are
   * not annotated twice; one already started is kept and says so in the log. Returns the tasks cancelled.
   */
  async supersedeGrownGroups(studyId: string): Promise<string[]> {
    const candidates: { id: string; project_id: string; by: string }[] = await this.dataSource.query(
      `SELECT old.id, old.project_id, grown.id AS by
         FROM tasks old JOIN tasks grown ON grown.study_id = old.study_id AND grown.id <> old.id AND grown.kind = 'view-group'
              AND grown.state NOT IN ('cancelled', 'failed') AND old.series_ids <@ grown.series_ids AND cardinality(grown.series_ids) > cardinality(old.series_ids)
        WHERE old.study_id = $1 AND old.kind = 'view-group' AND old.state NOT IN ('approved', 'cancelled')`,
      [studyId],
    );
    const cancelled: string[] = [];
    for (const c of candidates) {
      await this.dataSource.transaction(async (m) => {
        // Reads before the task, as every lease change locks them (a claim of a ready task's read waits for the task).
        await this.routing.lockReads(m, c.id);
        const [still] = await m.query(`SELECT t.id FROM tasks t WHERE t.id = $1 AND t.state IN ('created', 'prelabelling', 'ready') AND ${READS_UNTOUCHED} FOR UPDATE`, [c.id]);
        if (!still) {
          this.logger.warn(`task ${c.id}: its series are also in view-group task ${c.by}, but it was started; both are kept`);
          return;
        }
        await this.lifecycle.apply(m, c.id, TaskEvent.Cancel, actor, `its series joined a larger view group: task ${c.by}`);
        await m.query(`UPDATE task_reads SET state = 'closed' WHERE task_id = $1 AND state = 'open'`, [c.id]);
        await this.audit.record(actor, { action: 'task.superseded', objectType: 'task', objectId: c.id, projectId: c.project_id, details: { by: c.by } }, m);
        cancelled.push(c.id);
      });
    }
    if (cancelled.length) this.logger.log(`study ${studyId}: ${cancelled.length} view-group task(s) cancelled, their series now in a larger group`);
    return cancelled;
  }

  /**
   * The study's unfinished tasks, held or not by the images of their series, with the split's test (an image
   * flagged under the project's hold and not decided yet): a task made before one of its images was held (the hold
   * raised later, or a flagged image arriving into a series already split) is held now, its leases withdrawn; one
   * whose images were all decided is offered again, an excluded image blanked in its series' volume. An image or
   * frame-range task of an excluded image itself stays held (it has nothing else to show). Each change is audited.
   * Returns the changes.
   */
  async refreshPrivacyHolds(studyId: string, flags: string[]): Promise<{ held: string[]; released: string[] }> {
    const heldSql = `EXISTS (SELECT 1 FROM instances i WHERE i.series_id = ANY(t.series_ids) AND ${awaitingReviewSql('i', 2)})
                     OR EXISTS (SELECT 1 FROM instances i WHERE i.id = t.instance_id AND ${excludedInstanceSql('i')})`;
    const candidates: { id: string }[] = await this.dataSource.query(
      `SELECT t.id FROM tasks t WHERE t.study_id = $1 AND t.state NOT IN ('approved', 'cancelled') AND t.privacy_held <> (${heldSql})`,
      [studyId, flags],
    );
    const held: string[] = [];
    const released: string[] = [];
    for (const { id } of candidates) {
      // The flag, the withdrawn leases and the audit line change together under the task's lock: nobody sees a held
      // task whose lease still runs (they did, between two transactions). Its reads are locked first (lockReads),
      // which also waits out a claim of one of them that has not committed yet: its lease is then withdrawn too.
      await this.dataSource.transaction(async (m) => {
        await this.routing.lockReads(m, id);
        const [task] = returned<{ id: string; project_id: string; held: boolean }>(
          await m.query(
            `UPDATE tasks t SET privacy_held = NOT t.privacy_held
              WHERE t.id = $3 AND t.study_id = $1 AND t.state NOT IN ('approved', 'cancelled') AND t.privacy_held <> (${heldSql})
              RETURNING t.id, t.project_id, t.privacy_held AS held`,
            [studyId, flags, id],
          ),
        );
        if (!task) return;
        const withdrawn = task.held ? await this.routing.withdrawForPrivacyHold(m, task.id, task.project_id, actor) : 0;
        await this.audit.record(actor, { action: task.held ? 'task.privacy-held' : 'task.privacy-released', objectType: 'task', objectId: task.id, projectId: task.project_id, details: task.held ? { readsWithdrawn: withdrawn } : {} }, m);
        (task.held ? held : released).push(task.id);
      });
    }
    if (held.length) this.logger.log(`study ${studyId}: ${held.length} task(s) held for a privacy review of their images`);
    return { held, released };
  }

  /**
   * The project's pre-label models changed (a new version chosen, a model added or removed): the tasks nobody has
   * started (ready, first round, every read still open, unreserved and never leased) are drafted again by the new
   * set; the annotator then starts from the newest draft. Returns how many.
   */
  async redraft(projectId: string, actor: Actor): Promise<number> {
    const project = await this.dataSource.getRepository(Project).findOneByOrFail({ id: projectId });
    const models = parseProjectSettings(project.settings).prelabelModels;
    if (!models.length) return 0;
    const untouched = `t.state = 'ready' AND t.rework_round = 0 AND ${READS_UNTOUCHED}`;
    const candidates: { id: string }[] = await this.dataSource.query(`SELECT t.id FROM tasks t WHERE t.project_id = $1 AND ${untouched}`, [projectId]);
    const queued: string[] = [];
    for (const { id } of candidates) {
      // Checked again under the task's lock: someone may have taken a read since.
      await this.dataSource.transaction(async (m) => {
        // Reads first (lockTaskReads): a claim holding one of them waits for the task.
        await this.routing.lockReads(m, id);
        const [still] = await m.query(`SELECT t.id FROM tasks t WHERE t.id = $1 AND ${untouched} FOR UPDATE`, [id]);
        if (!still) return;
        await this.lifecycle.apply(m, id, TaskEvent.StartPrelabel, actor, "the project's pre-label models changed");
        queued.push(id);
      });
    }
    // A project going back to models that already drafted a task finds that earlier job under the same name.
    await queuePrelabelAgain(this.jobs, queued, models);
    if (queued.length) this.logger.log(`project ${projectId}: ${queued.length} untouched task(s) drafted again by the new pre-label models`);
    return queued.length;
  }
}
