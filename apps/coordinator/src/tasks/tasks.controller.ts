// The work API: annotators pull the next read, heartbeat, save drafts and submit; reviewers and adjudicators
// pull and decide; managers look at tasks, assign, prioritise and settle escalations. Reads are blinded:
// while a task collects its reads, nobody but the read's author sees it.
import { BadRequestException, Body, Controller, Get, Headers, HttpCode, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { TaskState } from '@contour/workflow';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { ProjectRole } from '@contour/db';
import { MANAGER_DECISIONS, ManagerDecision, ReviewService, RoutingService, Submission } from '@contour/tasks';
import { openapi } from '../system/openapi';
import { TaskQueries } from './task-queries.service';

const uuid = { schema: z.uuid() };
const base64 = z.string().regex(/^[A-Za-z0-9+/=\s]*$/, 'the mask is base64 of the deflated label map');
/** Checked in depth against the protocol and the task's images when stored (TaskGrid.checkAnswers). */
const answers = z
  .record(z.string(), z.unknown())
  .describe(
    'Classification answers keyed by question text, and `shapes`: a list of boxes, points and polygons, each {kind: "box" | "point" | "polygon", label, image (series id; required when the task has several), slice (default 0), box: [x0, y0, x1, y1] | point: [x, y] | points: [[x, y], ...]} in continuous pixel coordinates of the file\'s voxel order (pixel (i, j) covers [i, i+1) x [j, j+1)). An empty `shapes` list means nothing to mark.',
  );
export const SubmissionBody = z
  .object({
    mask: base64.optional(),
    answers: answers.optional(),
  })
  .refine((b) => b.mask || (b.answers && Object.keys(b.answers).length), 'send a mask, answers, or both');
const ReviewBody = z
  .object({
    decision: z.enum(['approve', 'edit-approve', 'reject']),
    comment: z.string().max(10_000).default(''),
    mask: base64.optional(),
    answers: answers.optional(),
  })
  // A label sent with another decision would be dropped unread: refused, so the reviewer learns their edit was not kept.
  .refine((b) => b.decision === 'edit-approve' || (b.mask === undefined && b.answers === undefined), {
    message: 'A mask or answers go with decision "edit-approve" only (approve and reject keep the label as it is): send the edit with "edit-approve", or leave them out',
  });
const AdjudicateBody = z
  .object({ mask: base64.optional(), answers: answers.optional(), comment: z.string().max(10_000).default('') })
  .refine((b) => b.mask !== undefined || b.answers !== undefined, { message: 'An adjudication needs the final label: a mask, answers, or both' });
const AssignBody = z.object({ userId: z.uuid(), taskIds: z.array(z.uuid()).min(1).max(1000) });
const PatchTask = z.object({ priority: z.number().int().min(-1000).max(1000) });
const DecisionBody = z.object({ comment: z.string().max(10_000).default('') });
const ListQuery = z.object({
  // A state that does not exist is named (it answered an empty list, as if no task were in it).
  state: z.enum(Object.values(TaskState) as [TaskState, ...TaskState[]], { error: (i) => `state ${JSON.stringify(i.input)} is not a task state: one of ${Object.values(TaskState).join(', ')}` }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
  /** The last task of the previous page: the page starts after it (as cheap at any depth as the first page; offset counts from it). */
  afterId: z.uuid().optional(),
});

/** The caller's skills in this project: their own plus what their membership adds (resolved with the credential). */
const skillsOf = (p: Principal) => [...p.skills, ...(p.projectSkills ?? [])];

/** The longest Idempotency-Key taken: a UUID or a hash fits many times over (a key of 8,000 characters was a 500). */
export const MAX_IDEMPOTENCY_KEY = 200;

function toSubmission(body: { mask?: string; answers?: Record<string, unknown> }, idempotencyKey?: string): Submission {
  if (idempotencyKey && idempotencyKey.length > MAX_IDEMPOTENCY_KEY) {
    throw new BadRequestException(`The Idempotency-Key header has ${idempotencyKey.length} characters; at most ${MAX_IDEMPOTENCY_KEY} are taken (a UUID is 36)`);
  }
  return { mask: body.mask ? Buffer.from(body.mask, 'base64') : undefined, answers: body.answers, idempotencyKey: idempotencyKey || undefined };
}

/** The If-Match of a draft save: the draft id it names ("none": no draft yet), or undefined when absent. */
export function draftBase(ifMatch: string | undefined): string | null | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '') return undefined;
  const tag = ifMatch.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  if (tag === 'none') return null;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(tag)) throw new BadRequestException(`If-Match names the draft this copy started from ("<draftVersionId>" or "none"), got ${JSON.stringify(ifMatch.slice(0, 100))}`);
  return tag.toLowerCase();
}

@ApiTags('tasks')
@ApiBearerAuth()
@Controller('api/projects/:projectId')
export class TasksController {
  constructor(
    private readonly routing: RoutingService,
    private readonly reviews: ReviewService,
    private readonly queries: TaskQueries,
  ) {}

  // ---- annotators ------------------------------------------------------------------------------------------

  /** The next read for the caller (their rework first, then by priority and age): 200 with the lease, 204 when none. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Annotator] } })
  @Post('tasks/next')
  async next(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Res({ passthrough: true }) res: Response) {
    const claimed = await this.routing.nextWithView(projectId, actorOf(p), 'annotation', skillsOf(p));
    if (!claimed) {
      res.status(204);
      return;
    }
    res.status(200);
    return { ...claimed.lease, task: await this.queries.taskView(claimed.view, p) };
  }

  /** The caller's own work in this project: leased reads, rework waiting for them, recent submissions. */
  @Access({ project: { param: 'projectId' } })
  @Get('my/reads')
  mine(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string) {
    return this.queries.myReads(projectId, p.userId);
  }

  @Access({ project: { param: 'projectId' } })
  @Post('reads/:readId/heartbeat')
  @HttpCode(200)
  heartbeat(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('readId', uuid) readId: string) {
    return this.routing.heartbeat(projectId, readId, actorOf(p));
  }

  @Access({ project: { param: 'projectId' } })
  @Post('reads/:readId/release')
  @HttpCode(204)
  release(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('readId', uuid) readId: string) {
    return this.routing.release(projectId, readId, actorOf(p));
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Annotator, ProjectRole.Reviewer] } })
  @Put('reads/:readId/draft')
  @ApiBody(openapi(SubmissionBody))
  @ApiHeader({ name: 'If-Match', required: false, description: 'The draft this copy started from ("<draftVersionId>", or "none"): a save over a newer draft (another tab) is refused with 412' })
  saveDraft(
    @CurrentPrincipal() p: Principal,
    @Param('projectId', uuid) projectId: string,
    @Param('readId', uuid) readId: string,
    @Body({ schema: SubmissionBody }) body: z.infer<typeof SubmissionBody>,
    @Headers('if-match') ifMatch?: string,
  ) {
    return this.routing.saveDraft(projectId, readId, actorOf(p), toSubmission(body), draftBase(ifMatch));
  }

  /** Submits a read. Send an Idempotency-Key header: a retried request then returns the first result. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Annotator] } })
  @Post('reads/:readId/submit')
  @HttpCode(200)
  @ApiBody(openapi(SubmissionBody))
  submit(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('readId', uuid) readId: string, @Body({ schema: SubmissionBody }) body: z.infer<typeof SubmissionBody>, @Headers('idempotency-key') key?: string) {
    return this.routing.submit(projectId, readId, actorOf(p), toSubmission(body, key));
  }

  // ---- reviewers and adjudicators --------------------------------------------------------------------------

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Reviewer] } })
  @Post('reviews/next')
  async nextReview(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Res({ passthrough: true }) res: Response) {
    const claimed = await this.routing.nextWithView(projectId, actorOf(p), 'review', skillsOf(p));
    if (!claimed) {
      res.status(204);
      return;
    }
    res.status(200);
    return { ...claimed.lease, task: await this.queries.taskView(claimed.view, p) };
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Reviewer] } })
  @Post('reads/:readId/review')
  @HttpCode(200)
  @ApiBody(openapi(ReviewBody))
  review(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('readId', uuid) readId: string, @Body({ schema: ReviewBody }) body: z.infer<typeof ReviewBody>) {
    return this.reviews.review(projectId, readId, actorOf(p), body.decision, body.comment, toSubmission(body));
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Reviewer] } })
  @Post('reads/:readId/adjudicate')
  @HttpCode(200)
  @ApiBody(openapi(AdjudicateBody))
  adjudicate(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('readId', uuid) readId: string, @Body({ schema: AdjudicateBody }) body: z.infer<typeof AdjudicateBody>) {
    return this.reviews.adjudicate(projectId, readId, actorOf(p), toSubmission(body), body.comment);
  }

  /**
   * How many tasks the project has in each state (the task list's count: one index read, where stats takes seconds at
   * 100,000 tasks). Declared before `tasks/:taskId`, which would take "counts" for a task id.
   */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get('tasks/counts')
  counts(@Param('projectId', uuid) projectId: string) {
    return this.queries.countsByState(projectId);
  }

  // ---- everyone on the task (with blinding) ----------------------------------------------------------------

  @Access({ project: { param: 'projectId' } })
  @Get('tasks/:taskId')
  task(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('taskId', uuid) taskId: string) {
    return this.queries.taskForWorker(projectId, taskId, p);
  }

  /** A label version's mask (deflated label map). Blinded reads are refused to everyone but their author. */
  @Access({ project: { param: 'projectId' } })
  @Get('tasks/:taskId/labels/:versionId')
  async label(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('taskId', uuid) taskId: string, @Param('versionId', uuid) versionId: string, @Res() res: Response) {
    const { version, body } = await this.queries.labelFor(projectId, taskId, versionId, p);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('X-Contour-Grid', JSON.stringify(version.grid ?? null));
    res.setHeader('X-Contour-Encoding', version.encoding);
    res.send(body);
  }

  /** The DICOM SEG written for a label version (model drafts), referencing the de-identified source series. */
  @Access({ project: { param: 'projectId' } })
  @Get('tasks/:taskId/labels/:versionId/seg')
  async labelSeg(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('taskId', uuid) taskId: string, @Param('versionId', uuid) versionId: string, @Res() res: Response) {
    const body = await this.queries.segFor(projectId, taskId, versionId, p);
    res.setHeader('Content-Type', 'application/dicom');
    res.send(body);
  }

  // ---- managers --------------------------------------------------------------------------------------------

  /** The project's tasks, highest priority first, then oldest first (then by id); page with offset or afterId. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get('tasks')
  list(@Param('projectId', uuid) projectId: string, @Query({ schema: ListQuery }) q: z.infer<typeof ListQuery>) {
    return this.queries.list(projectId, q.state, q.limit, q.offset, q.afterId);
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Patch('tasks/:taskId')
  @HttpCode(204)
  @ApiBody(openapi(PatchTask))
  patch(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('taskId', uuid) taskId: string, @Body({ schema: PatchTask }) body: z.infer<typeof PatchTask>) {
    return this.routing.setPriority(projectId, taskId, body.priority, actorOf(p));
  }

  /** Push routing: reserve a read of each task for a named annotator (takes over a lease if none is open). */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post('tasks/assign')
  @HttpCode(200)
  @ApiBody(openapi(AssignBody))
  assign(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Body({ schema: AssignBody }) body: z.infer<typeof AssignBody>) {
    return this.routing.assign(projectId, body.taskIds, body.userId, actorOf(p));
  }

  /** cancel any unfinished task; reopen (back to its annotators) or approve an escalated one; retry a failed one. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post('tasks/:taskId/decisions/:decision')
  @HttpCode(200)
  @ApiBody(openapi(DecisionBody))
  decide(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('taskId', uuid) taskId: string, @Param('decision', { schema: z.enum(MANAGER_DECISIONS) }) decision: ManagerDecision, @Body({ schema: DecisionBody }) body: z.infer<typeof DecisionBody>) {
    return this.reviews.managerDecision(projectId, taskId, actorOf(p), decision, body.comment);
  }

  /** The task's history: every transition with actor and reason, oldest first, and its audit trail. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get('tasks/:taskId/history')
  history(@Param('projectId', uuid) projectId: string, @Param('taskId', uuid) taskId: string) {
    return this.queries.history(projectId, taskId);
  }

  /** Progress and quality: tasks by state, time in each state, agreement per task and per annotator, rejections. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get('stats')
  stats(@Param('projectId', uuid) projectId: string) {
    return this.queries.stats(projectId);
  }
}
