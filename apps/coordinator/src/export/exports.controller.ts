import { BadRequestException, Body, Controller, ForbiddenException, Get, HttpCode, Inject, NotFoundException, Param, Post, Res, StreamableFile } from '@nestjs/common';
import type { Response } from 'express';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AuditService } from '@contour/audit';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { balanceReportHtml, type BalanceReport } from '@contour/dataset';
import { DatasetExport, Project, ProjectRole } from '@contour/db';
import { ExportOptions } from '@contour/export';
import { JobName, JobQueue } from '@contour/queue';
import { COLLECTING_STATES } from '@contour/workflow';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { openapi } from '../system/openapi';

const uuid = { schema: z.uuid() };
/**
 * What the export list and an export's page show, not where its archive is stored (the download route reads it, audited).
 * An export's page adds its report without the balance groups (patients by sex, age band and site with their agreement),
 * which are read through the audited balance report.
 */
const EXPORT_SUMMARY = { id: true, name: true, options: true, state: true, progress: true, sizeBytes: true, error: true, createdAt: true, finishedAt: true } as const;
/** A new export: its name (a default with the time when left out) and options (every field has a default). */
const ExportBody = z.object({ name: z.string().trim().max(200).optional(), options: ExportOptions.default(ExportOptions.parse({})) });

/**
 * How many tasks of project $1 in the states $2 person $3 read: an annotation read that is, was or is to be theirs
 * (held, assigned, lapsed), or a read (or its draft) they wrote. Found from the person's own reads and versions, then
 * each task by its key: looking for them under every task the project is collecting (a manager's export of reads) took
 * 0.6-1.8 s with 33,000 such tasks, JIT compilation included, even for a manager who never annotated. An assignment or
 * a lapsed lease is looked for in open reads and in the others apart: each half has its own index (the open half is
 * routing's).
 */
export const BLINDED_TASKS_SQL = `SELECT count(*)::int AS n FROM tasks t
  WHERE t.id IN (SELECT r.task_id FROM task_reads r
                  WHERE r.kind = 'annotation'
                    AND (r.annotator_id = $3
                         OR (r.state = 'open' AND r.assigned_to = $3) OR (r.state <> 'open' AND r.assigned_to = $3)
                         OR (r.state = 'open' AND r.previous_annotator_id = $3) OR (r.state <> 'open' AND r.previous_annotator_id = $3))
                 UNION
                 SELECT v.task_id FROM label_versions v WHERE v.author_id = $3 AND v.kind IN ('read', 'read-draft'))
    AND t.project_id = $1 AND t.state = ANY($2)`;

/** Dataset exports: started by managers, built by a worker with progress, downloaded as a zip (audited). */
@ApiTags('exports')
@ApiBearerAuth()
@Controller('api/projects/:projectId/exports')
export class ExportsController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly jobs: JobQueue,
    private readonly audit: AuditService,
  ) {}

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post()
  @HttpCode(202)
  @ApiBody(openapi(ExportBody))
  async create(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Body() raw: unknown) {
    // Parsed here rather than by the route's pipe: the options' dates have no JSON Schema for the OpenAPI document.
    const parsed = ExportBody.safeParse(raw);
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`));
    const body = parsed.data;
    const options = body.options;
    await this.assertStaysBlind(p, projectId, options);
    const name = body.name || `export ${new Date().toISOString()}`;
    const exp = await this.dataSource.getRepository(DatasetExport).save({ projectId, name, options: options as unknown as Record<string, unknown>, createdBy: p.userId });
    await this.jobs.add(JobName.ExportDataset, { exportId: exp.id }, { jobId: `export-${exp.id}` });
    await this.audit.record(actorOf(p), { action: 'export.requested', objectType: 'export', objectId: exp.id, projectId, details: { name, formats: options.formats } });
    return { id: exp.id, state: exp.state, progress: `/api/projects/${projectId}/exports/${exp.id}` };
  }

  /**
   * A manager who also annotates tasks still collecting their reads would see the other readers' work in an export
   * of every reader's read: refused, naming what to change (blinding holds for them in the task view too).
   */
  private async assertStaysBlind(p: Principal, projectId: string, options: z.infer<typeof ExportOptions>) {
    if (options.labelVersion !== 'reads') return;
    const collecting = options.filters.states.filter((s) => COLLECTING_STATES.includes(s));
    if (!collecting.length) return;
    const [{ n }]: { n: number }[] = await this.dataSource.query(BLINDED_TASKS_SQL, [projectId, collecting, p.userId]);
    if (n) throw new ForbiddenException(`You read ${n} task(s) of this project that are still collecting their reads (${collecting.join(', ')}); an export of every reader's read of them would show you the others' work. Leave those states out, export the final labels, or ask another manager`);
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get()
  list(@Param('projectId', uuid) projectId: string) {
    return this.dataSource.getRepository(DatasetExport).find({ where: { projectId }, order: { createdAt: 'DESC' }, select: EXPORT_SUMMARY });
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get(':exportId')
  async get(@Param('projectId', uuid) projectId: string, @Param('exportId', uuid) exportId: string) {
    const exp = await this.dataSource.getRepository(DatasetExport).findOne({ where: { id: exportId, projectId }, select: { ...EXPORT_SUMMARY, report: true } });
    if (!exp) throw new NotFoundException(`No export ${exportId} in this project`);
    // The report's counts, splits, warnings and notices; its balance groups are read through the audited balance report.
    const { balance: _balance, ...report } = (exp.report ?? {}) as Record<string, unknown>;
    return { ...exp, report: exp.report ? report : null };
  }

  /**
   * The export's dataset balance report as a self-contained HTML page (the report/balance.html of the archive):
   * groups per split, warnings for under-represented groups, agreement and rejection by group.
   */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get(':exportId/balance-report')
  async balanceReport(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('exportId', uuid) exportId: string, @Res({ passthrough: true }) res: Response) {
    const exp = await this.dataSource.getRepository(DatasetExport).findOneBy({ id: exportId, projectId });
    if (!exp) throw new NotFoundException(`No export ${exportId} in this project`);
    const balance = (exp.report as { balance?: BalanceReport } | null)?.balance;
    if (exp.state !== 'done' || !balance) throw new BadRequestException(`The export is ${exp.state} (${exp.progress}%); its balance report comes with the finished export`);
    const project = await this.dataSource.getRepository(Project).findOneByOrFail({ id: projectId });
    await this.audit.record(actorOf(p), { action: 'export.balance-report.read', objectType: 'export', objectId: exportId, projectId });
    res.type('text/html; charset=utf-8');
    return balanceReportHtml(balance, { title: `${project.name}: dataset balance`, subtitle: exp.name });
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get(':exportId/download')
  async download(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('exportId', uuid) exportId: string) {
    const exp = await this.dataSource.getRepository(DatasetExport).findOneBy({ id: exportId, projectId });
    if (!exp) throw new NotFoundException(`No export ${exportId} in this project`);
    if (exp.state !== 'done' || !exp.resultBlobKey) throw new BadRequestException(`The export is ${exp.state} (${exp.progress}%); download it when it is done`);
    await this.audit.record(actorOf(p), { action: 'export.downloaded', objectType: 'export', objectId: exportId, projectId });
    return new StreamableFile(await this.blobs.get(exp.resultBlobKey), { type: 'application/zip', length: Number(exp.sizeBytes), disposition: `attachment; filename="${exp.name.replace(/[^\w.-]+/g, '_')}.zip"` });
  }
}
