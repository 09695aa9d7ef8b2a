import { BadRequestException, Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AuditService } from '@contour/audit';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { LabelProtocol, ProjectRole, Study } from '@contour/db';
import { JobName, JobQueue } from '@contour/queue';
import { ProtocolInput } from '@contour/workflow';

const uuid = { schema: z.uuid() };

/** Labelling protocols (versioned: each change is a new version) and the manual split trigger. */
@ApiTags('projects')
@ApiBearerAuth()
@Controller('api/projects/:projectId')
export class ProtocolsController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
  ) {}

  @Access({ project: { param: 'projectId' } })
  @Get('protocols')
  list(@Param('projectId', uuid) projectId: string) {
    return this.dataSource.getRepository(LabelProtocol).find({ where: { projectId }, order: { version: 'DESC' } });
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post('protocols')
  async create(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Body() raw: unknown) {
    const parsed = ProtocolInput.safeParse(raw);
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.') || 'protocol'}: ${i.message}`));
    return this.dataSource.transaction(async (m) => {
      const [{ next }] = await m.query(`SELECT COALESCE(max(version), 0) + 1 AS next FROM label_protocols WHERE project_id = $1`, [projectId]);
      const protocol = await m.save(m.create(LabelProtocol, { projectId, version: Number(next), definition: parsed.data as unknown as Record<string, unknown>, createdBy: p.userId }));
      await this.audit.record(actorOf(p), { action: 'protocol.created', objectType: 'label_protocol', objectId: protocol.id, projectId, details: { version: protocol.version, labels: parsed.data.labels.map((l) => l.name) } }, m);
      return protocol;
    });
  }

  /** Splits every study of the project into tasks (idempotent: existing tasks are kept, none is made twice). */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post('split')
  @HttpCode(202)
  async split(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string) {
    const studies = await this.dataSource.getRepository(Study).find({ where: { projectId }, select: { id: true } });
    await this.jobs.addBulk(JobName.SplitStudy, studies.map((s) => ({ data: { studyId: s.id }, options: { deduplication: { id: `split-${s.id}` } } })));
    await this.audit.record(actorOf(p), { action: 'project.split-requested', objectType: 'project', objectId: projectId, projectId, details: { studies: studies.length } });
    return { studies: studies.length };
  }
}
