// Images whose pixels may carry identifying text (burned-in annotation: no header de-identification removes it)
// wait for a manager of the project before any annotator or reviewer sees them (project setting
// deid.burnedInHold). Managers list them, look at them (WADO-RS rendered, instance file: managers see the
// de-identified data) and decide: 'clear' (nothing identifying: the study is split again and its tasks made) or
// 'exclude' (never shown to annotators or reviewers, never a task of its own; the rest of its series is annotated
// with its slices blanked). Either way the study is split again. Each decision is audited.
import { Body, ConflictException, Controller, Get, HttpCode, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AuditService } from '@contour/audit';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { ProjectRole } from '@contour/db';
import { awaitingReviewSql, heldInstanceSql, withExcludedSql } from '@contour/deid';
import { JobName, JobQueue } from '@contour/queue';
import { SPLIT_DEBOUNCE_MS } from '@contour/ingest';
import { PrivacyHold } from './privacy-hold.service';

const uuid = { schema: z.uuid() };
const ReviewQuery = z.object({
  /** 'pending' (held, no decision yet), 'decided' (cleared or excluded), 'all'. */
  state: z.enum(['pending', 'decided', 'all']).default('pending'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
const DecisionBody = z.object({
  decision: z.enum(['clear', 'exclude']),
  comment: z.string().max(2000).default(''),
});

const DECISION = `i.attributes -> 'privacyReview'`;

/**
 * FROM and WHERE of the privacy review queue in `state` ($1 project, $2 the flags the project holds). Every image in
 * it is flagged (held, or decided after it was held), so it says so too: the flagged images of a project are found
 * through instances_flagged instead of scanning all of its images (0.5 s with 400,000, polled every 2 s by an open
 * ingest tab).
 */
export function privacyQueueFrom(state: z.infer<typeof ReviewQuery>['state']): string {
  const where =
    state === 'pending'
      ? awaitingReviewSql('i', 2)
      : state === 'decided'
        ? `${DECISION} IS NOT NULL AND cardinality($2::text[]) >= 0` // ($2 bound by every variant)
        : `(${heldInstanceSql('i', 2)} OR ${DECISION} IS NOT NULL)`;
  return `FROM instances i JOIN series se ON se.id = i.series_id JOIN studies st ON st.id = se.study_id WHERE i.project_id = $1 AND i.flags <> '{}' AND ${where}`;
}

@ApiTags('ingest')
@ApiBearerAuth()
@Controller('api/projects/:projectId/privacy-review')
export class PrivacyReviewController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
    private readonly audit: AuditService,
    private readonly hold: PrivacyHold,
  ) {}

  /**
   * Images waiting for a decision (or decided ones), oldest first, with their study, series, flags and the
   * decision when there is one: `total` in all and `items`, `limit` (default 100, at most 1000) from `offset`.
   */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get()
  async list(@Param('projectId', uuid) projectId: string, @Query({ schema: ReviewQuery }) q: z.infer<typeof ReviewQuery>) {
    const flags = await this.hold.flagsOf(projectId);
    const from = privacyQueueFrom(q.state);
    const items: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT i.id, i.sop_instance_uid AS "sopInstanceUid", se.series_instance_uid AS "seriesInstanceUid", st.study_instance_uid AS "studyInstanceUid",
              se.id AS "seriesId", st.id AS "studyId", se.modality, i.number_of_frames AS frames, i.flags, ${DECISION} AS review, i.created_at AS "receivedAt"
         ${from} ORDER BY i.created_at, i.id LIMIT $3 OFFSET $4`,
      [projectId, flags, q.limit, q.offset],
    );
    const [{ total }] = await this.dataSource.query(`SELECT count(*)::int AS total ${from}`, [projectId, flags]);
    return { total, items };
  }

  /**
   * The same decision for every image of a series still waiting for one (a 22-slice series flagged slice by slice
   * is one look at the series): each image is decided and audited as by the single-image call.
   */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post('series/:seriesId')
  @HttpCode(200)
  async decideSeries(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('seriesId', uuid) seriesId: string, @Body({ schema: DecisionBody }) body: z.infer<typeof DecisionBody>) {
    const flags = await this.hold.flagsOf(projectId);
    const waiting: { id: string }[] = await this.dataSource.query(
      `SELECT i.id FROM instances i WHERE i.project_id = $1 AND i.series_id = $2 AND ${awaitingReviewSql('i', 3)} ORDER BY i.created_at, i.id`,
      [projectId, seriesId, flags],
    );
    if (!waiting.length) {
      const [series] = await this.dataSource.query(`SELECT 1 FROM series WHERE id = $1 AND project_id = $2`, [seriesId, projectId]);
      if (!series) throw new NotFoundException(`No series ${seriesId} in this project`);
      throw new ConflictException(`No image of series ${seriesId} in this project waits for a privacy review`);
    }
    for (const { id } of waiting) await this.decide(p, projectId, id, body);
    return { seriesId, decision: body.decision, decided: waiting.length };
  }

  /**
   * A manager's decision on one image: 'clear' makes its tasks, 'exclude' keeps it out for good and lets the rest of
   * its series go on without it (its slices blanked). The study is split again either way.
   */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post(':instanceId')
  @HttpCode(200)
  async decide(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('instanceId', uuid) instanceId: string, @Body({ schema: DecisionBody }) body: z.infer<typeof DecisionBody>) {
    const actor = actorOf(p);
    const flags = await this.hold.flagsOf(projectId);
    const review = { decision: body.decision, comment: body.comment, by: actor.name, byId: actor.id, at: new Date().toISOString() };
    const outcome = await this.dataSource.transaction(async (m) => {
      const [row] = await m.query(
        `SELECT i.id, i.flags, i.attributes -> 'privacyReview' AS review, se.study_id, i.series_id, ${heldInstanceSql('i', 3)} AS held FROM instances i JOIN series se ON se.id = i.series_id WHERE i.id = $1 AND i.project_id = $2 FOR UPDATE OF i`,
        [instanceId, projectId, flags],
      );
      if (!row) throw new NotFoundException(`No instance ${instanceId} in this project`);
      if (!row.review && !row.held) {
        // Only what the hold keeps back is decided here: an image that was never held may already be in a task.
        throw new ConflictException(`This image is not held for a privacy review (its flags: ${row.flags.join(', ') || 'none'}; the project holds ${flags.join(', ') || 'nothing'}): there is nothing to decide`);
      }
      if (row.review && row.review.decision !== body.decision) {
        // A task may already show a cleared image: taking a decision back is not a toggle.
        throw new ConflictException(`This image was already ${row.review.decision === 'clear' ? 'cleared' : 'excluded'} by ${row.review.by} on ${row.review.at}; a decision is not reversed`);
      }
      if (row.review) {
        // The same decision again (a retried request): answered as before.
        Object.assign(review, row.review);
        return { studyId: row.study_id as string, duplicate: true };
      }
      await m.query(`UPDATE instances SET attributes = jsonb_set(attributes, '{privacyReview}', $2::jsonb) WHERE id = $1`, [instanceId, JSON.stringify(review)]);
      if (body.decision === 'exclude') {
        // The series goes on without the image: its geometry lists it as excluded (its slices blanked in the volume)
        // and the cached NIfTI, which shows it, is dropped. Under the study's lock, as the geometry check writes it.
        await m.query(`SELECT 1 FROM studies WHERE id = $1 FOR UPDATE`, [row.study_id]);
        await m.query(`UPDATE series SET geometry = ${withExcludedSql('geometry', '$1')}, volume_blob_key = CASE WHEN source = 'dicom' THEN NULL ELSE volume_blob_key END WHERE id = $1`, [row.series_id]);
      }
      await this.audit.record(actor, { action: `instance.privacy-${body.decision === 'clear' ? 'cleared' : 'excluded'}`, objectType: 'instance', objectId: instanceId, projectId, details: { flags: row.flags, comment: body.comment } }, m);
      return { studyId: row.study_id as string, duplicate: false };
    });
    // The study is split again: a cleared image makes its tasks, and an excluded one lets the rest of its series
    // make theirs (and releases tasks it held). Debounced like the split after ingest: deciding a study's images
    // one after another splits it once. A retried decision queues it again, in case the first attempt committed
    // and then failed to queue it.
    await this.jobs.add(JobName.SplitStudy, { studyId: outcome.studyId }, { delay: SPLIT_DEBOUNCE_MS, deduplication: { id: `split-${outcome.studyId}`, ttl: SPLIT_DEBOUNCE_MS, extend: true, replace: true } });
    return { instanceId, ...review, duplicate: outcome.duplicate };
  }
}
