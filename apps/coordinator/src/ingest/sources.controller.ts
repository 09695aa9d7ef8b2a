import { BadGatewayException, BadRequestException, Body, ConflictException, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AuditService } from '@contour/audit';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { AeRoute, DicomWebSource, IngestSource, ProjectRole } from '@contour/db';
import { CONFIG, ContourConfig } from '@contour/config';
import { AddressNotAllowedError, assertPacsAddress, DicomJson, DicomWebClient, DicomWebError, dicomWebRootProblem, jsonString } from '@contour/dicomweb';
import { IngestReceiver } from '@contour/ingest';
import { importJobId, JobName, JobQueue } from '@contour/queue';
import { openapi } from '../system/openapi';

const uuid = { schema: z.uuid() };
const StudyQuery = z.record(z.string().regex(/^([A-Za-z]+|[0-9A-Fa-f]{8}|limit|offset|fuzzymatching|includefield)$/, 'query keys are DICOM keywords or tags'), z.string());
const ImportBody = z
  .object({ query: StudyQuery.optional(), studyInstanceUids: z.array(z.string().regex(/^[0-9.]{1,64}$/, 'expected DICOM UIDs')).max(1000).optional() })
  .refine((b) => b.query || b.studyInstanceUids?.length, 'give a query or a list of studyInstanceUids');
// Leading and trailing spaces are padding, not part of the title (PS3.5 AE): trimmed first, so a title of spaces only is empty, and refused.
const aeTitle = z
  .string()
  .transform((s) => s.trim())
  // PS3.5 AE: printable ASCII except the backslash (the value separator).
  .pipe(z.string().regex(/^[\x20-\x5b\x5d-\x7e]{1,16}$/, 'an AE title is 1-16 printable ASCII characters other than a backslash, not only spaces'));
const SourceBody = z.object({
  name: z.string().min(1).max(100),
  url: z
    .url({ protocol: /^https?$/, error: 'expected the DICOMweb root URL, e.g. http://pacs:8042/dicom-web' })
    .superRefine((u, ctx) => {
      const problem = dicomWebRootProblem(u);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .transform((u) => u.replace(/\/+$/, '')),
  auth: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('none') }),
      z.object({ type: z.literal('basic'), username: z.string().min(1), password: z.string() }),
      z.object({ type: z.literal('bearer'), token: z.string().min(1) }),
    ])
    .default({ type: 'none' }),
});

/** Where a project's studies come from: calling AE titles routed to it, and DICOMweb PACS it imports from. */
@ApiTags('ingest')
@ApiBearerAuth()
@Controller('api/projects/:projectId')
export class SourcesController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly receiver: IngestReceiver,
    private readonly jobs: JobQueue,
    @Inject(CONFIG) private readonly config: ContourConfig,
  ) {}

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get('ae-routes')
  aeRoutes(@Param('projectId', uuid) projectId: string) {
    return this.dataSource.getRepository(AeRoute).find({ where: { projectId }, order: { callingAeTitle: 'ASC' } });
  }

  /** Studies sent by this calling AE title over C-STORE go to this project. An AE title routes to one project. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Put('ae-routes/:aeTitle')
  @HttpCode(204)
  async setAeRoute(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('aeTitle', { schema: aeTitle }) ae: string) {
    // One statement: two projects claiming a free title at once both found it free and the second insert was a 500.
    const taken: unknown[] = await this.dataSource.query(
      `INSERT INTO ae_routes (calling_ae_title, project_id) VALUES ($1, $2)
       ON CONFLICT (calling_ae_title) DO UPDATE SET project_id = ae_routes.project_id WHERE ae_routes.project_id = EXCLUDED.project_id
       RETURNING 1`,
      [ae, projectId],
    );
    if (!taken.length) throw new ConflictException(`The AE title ${ae} is already routed to another project; remove that route first`);
    await this.audit.record(actorOf(p), { action: 'ae-route.set', objectType: 'ae_route', objectId: ae, projectId });
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Delete('ae-routes/:aeTitle')
  @HttpCode(204)
  async deleteAeRoute(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('aeTitle', { schema: aeTitle }) ae: string) {
    const result = await this.dataSource.getRepository(AeRoute).delete({ callingAeTitle: ae, projectId });
    if (!result.affected) throw new NotFoundException(`No AE route ${ae} in this project`);
    await this.audit.record(actorOf(p), { action: 'ae-route.deleted', objectType: 'ae_route', objectId: ae, projectId });
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get('sources')
  async sources(@Param('projectId', uuid) projectId: string) {
    const rows = await this.dataSource.getRepository(DicomWebSource).find({ where: { projectId }, order: { name: 'ASC' } });
    return rows.map(({ auth, ...rest }) => ({ ...rest, authType: auth.type }));
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post('sources')
  @ApiBody(openapi(SourceBody))
  async addSource(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Body({ schema: SourceBody }) body: z.infer<typeof SourceBody>) {
    const repo = this.dataSource.getRepository(DicomWebSource);
    if (await repo.existsBy({ projectId, name: body.name })) throw new ConflictException(`This project already has a source named ${body.name}`);
    await assertPacsAddress(body.url, this.config.dicomweb).catch((e: Error) => {
      throw e instanceof AddressNotAllowedError ? new BadRequestException(e.message) : e;
    });
    const source = await repo.save({ projectId, name: body.name, url: body.url, auth: body.auth });
    await this.audit.record(actorOf(p), { action: 'dicomweb-source.created', objectType: 'dicomweb_source', objectId: source.id, projectId, details: { name: body.name, url: body.url, authType: body.auth.type } });
    return { id: source.id, name: source.name, url: source.url, authType: source.auth.type };
  }

  /** Searches the source with QIDO-RS (study level) so a manager can see what an import would bring. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get('sources/:sourceId/studies')
  async searchSource(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('sourceId', uuid) sourceId: string, @Query({ schema: StudyQuery }) query: z.infer<typeof StudyQuery>) {
    const source = await this.source(projectId, sourceId);
    let studies: DicomJson[];
    try {
      studies = await new DicomWebClient(source.url, source.auth, this.config.dicomweb).searchStudies(query);
    } catch (e) {
      if (e instanceof DicomWebError) throw new BadGatewayException(e.message);
      throw e;
    }
    await this.audit.record(actorOf(p), { action: 'dicomweb-source.searched', objectType: 'dicomweb_source', objectId: sourceId, projectId, details: { query, results: studies.length } });
    // Only what is needed to choose studies: no patient names.
    return studies.map((s) => ({
      studyInstanceUid: jsonString(s, '0020000D'),
      studyDate: jsonString(s, '00080020') ?? null,
      studyDescription: jsonString(s, '00081030') ?? null,
      modalities: (s['00080061']?.Value as string[] | undefined) ?? [],
      instances: Number(jsonString(s, '00201208') ?? 0) || null,
    }));
  }

  /** Imports the studies matching a query (or the listed StudyInstanceUIDs) as one ingest batch, in a worker. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post('sources/:sourceId/imports')
  @HttpCode(202)
  @ApiBody(openapi(ImportBody))
  async importFromSource(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('sourceId', uuid) sourceId: string, @Body({ schema: ImportBody }) body: z.infer<typeof ImportBody>) {
    const source = await this.source(projectId, sourceId);
    const actor = actorOf(p);
    const label = body.studyInstanceUids?.length ? `${body.studyInstanceUids.length} stud(ies) from ${source.name}` : `query ${JSON.stringify(body.query ?? {})} on ${source.name}`;
    const batch = await this.receiver.openBatch(projectId, IngestSource.DicomWeb, label, actor);
    await this.jobs.add(JobName.DicomWebImport, { batchId: batch.id, sourceId, query: body.query, studyInstanceUids: body.studyInstanceUids, actor: { id: actor.id, name: actor.name } }, { jobId: importJobId(batch.id) });
    return { batchId: batch.id, progress: `/api/projects/${projectId}/uploads/${batch.id}` };
  }

  private async source(projectId: string, sourceId: string) {
    const source = await this.dataSource.getRepository(DicomWebSource).findOneBy({ id: sourceId, projectId });
    if (!source) throw new NotFoundException(`No source ${sourceId} in this project`);
    return source;
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Delete('sources/:sourceId')
  @HttpCode(204)
  async deleteSource(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('sourceId', uuid) sourceId: string) {
    const result = await this.dataSource.getRepository(DicomWebSource).delete({ id: sourceId, projectId });
    if (!result.affected) throw new NotFoundException(`No source ${sourceId} in this project`);
    await this.audit.record(actorOf(p), { action: 'dicomweb-source.deleted', objectType: 'dicomweb_source', objectId: sourceId, projectId });
  }
}
