import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AuditService } from '@contour/audit';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { IngestItem, IngestItemStatus, ProjectRole, ReidKey, Role } from '@contour/db';
import { JobName, JobQueue } from '@contour/queue';
import { BLOB_STORE, BlobStore } from '@contour/storage';

const uuid = { schema: z.uuid() };
/** A paging number: a whole number within [min, max], or the default when absent. */
const pageNumber = (min: number, max: number, fallback: number) => {
  const error = `must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error }).default(fallback);
};
/** Paged like the other lists (tasks, instances): newest first, `limit` items from `offset`. */
const QuarantineQuery = z.object({ limit: pageNumber(1, 1000, 100), offset: pageNumber(0, Number.MAX_SAFE_INTEGER, 0) });

/**
 * Quarantined files: listed with their reasons for the project's managers; the received file itself (which
 * may hold identifying data) downloadable by admins only; re-processable after a fix (e.g. a changed
 * project setting, a new version of Contour).
 */
@ApiTags('ingest')
@ApiBearerAuth()
@Controller('api/projects/:projectId/quarantine')
export class QuarantineController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly jobs: JobQueue,
    private readonly audit: AuditService,
  ) {}

  /** The project's quarantined files, newest first: `total` in all, and `items`, `limit` (default 100, at most 1000) from `offset`. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get()
  async list(@Param('projectId', uuid) projectId: string, @Query({ schema: QuarantineQuery }) q: z.infer<typeof QuarantineQuery>) {
    const [items, total] = await this.dataSource.getRepository(IngestItem).findAndCount({
      where: { projectId, status: IngestItemStatus.Quarantined },
      select: { id: true, batchId: true, fileName: true, sizeBytes: true, reasonCode: true, reason: true, attempts: true, updatedAt: true },
      // The id breaks ties (a batch quarantined in one statement): pages neither repeat nor skip an item.
      order: { updatedAt: 'DESC', id: 'ASC' },
      take: q.limit,
      skip: q.offset,
    });
    return { total, items };
  }

  @Access({ roles: [Role.Admin] })
  @Get(':itemId/file')
  async file(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('itemId', uuid) itemId: string) {
    const item = await this.dataSource.getRepository(IngestItem).findOneBy({ id: itemId, projectId, status: IngestItemStatus.Quarantined });
    if (!item) throw new NotFoundException(`No quarantined item ${itemId} in this project`);
    await this.audit.record(actorOf(p), { action: 'quarantine.file.read', objectType: 'ingest_item', objectId: itemId, projectId, details: { fileName: item.fileName } });
    return new StreamableFile(await this.blobs.get(item.rawBlobKey), {
      type: 'application/octet-stream',
      length: await this.blobs.size(item.rawBlobKey),
      disposition: `attachment; filename="${item.fileName.replace(/[^\w.-]/g, '_')}"`,
    });
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post(':itemId/reprocess')
  async reprocess(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('itemId', uuid) itemId: string) {
    const repo = this.dataSource.getRepository(IngestItem);
    const item = await repo.findOneBy({ id: itemId, projectId });
    if (!item) throw new NotFoundException(`No ingest item ${itemId} in this project`);
    if (item.status !== IngestItemStatus.Quarantined) throw new BadRequestException(`Only quarantined items can be re-processed; this one is ${item.status}`);
    if (!(await this.blobs.exists(item.rawBlobKey))) throw new BadRequestException('The received file is no longer in the store; send it again');
    await repo.update(itemId, { status: IngestItemStatus.Queued, reasonCode: null, reason: null });
    await this.jobs.add(JobName.IngestFiles, { itemIds: [itemId] }, { jobId: `ingest-${itemId}-retry-${item.attempts}` });
    await this.audit.record(actorOf(p), { action: 'quarantine.reprocess', objectType: 'ingest_item', objectId: itemId, projectId });
    return { itemId, status: IngestItemStatus.Queued };
  }
}

const ReidQuery = z.object({ kind: z.enum(['patient', 'study', 'series', 'instance']).optional(), deidValue: z.string().min(1).optional() });

/** The re-identification key: admins only, and every read is audited with what was looked up. */
@ApiTags('admin')
@ApiBearerAuth()
@Controller('api/admin/projects/:projectId/reid-keys')
export class ReidController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  @Access({ roles: [Role.Admin] })
  @Get()
  async find(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Query({ schema: ReidQuery }) q: z.infer<typeof ReidQuery>) {
    const rows = await this.dataSource.getRepository(ReidKey).find({
      where: { projectId, ...(q.kind ? { kind: q.kind } : {}), ...(q.deidValue ? { deidValue: q.deidValue } : {}) },
      order: { createdAt: 'ASC' },
      take: 1000,
    });
    await this.audit.record(actorOf(p), { action: 'reid-key.read', objectType: 'reid_key', projectId, details: { query: q, rows: rows.length } });
    return rows;
  }
}
