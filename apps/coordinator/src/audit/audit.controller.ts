import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Access } from '@contour/auth';
import { AuditService } from '@contour/audit';
import { ProjectRole, Role } from '@contour/db';

/** A line id (the log's ids are PostgreSQL bigints). */
const lineId = z
  .string()
  .regex(/^\d{1,19}$/, 'a line id: digits only')
  // Only digits reach BigInt (zod runs a refinement after a failed regex too, and BigInt('abc') threw: a 500).
  .refine((v) => !/^\d+$/.test(v) || BigInt(v) <= 9_223_372_036_854_775_807n, 'a line id: at most 9223372036854775807');

const AuditQuery = z
  .object({
    objectType: z.string().optional(),
    objectId: z.string().optional(),
    actorId: z.uuid().optional(),
    action: z.string().optional(),
    /** `asc` (default): oldest first, the next page after `afterId`; `desc`: newest first, the next page before `beforeId`. */
    order: z.enum(['asc', 'desc']).default('asc'),
    /** The id of the last line of the previous page, oldest first. */
    afterId: lineId.optional(),
    /** The id of the last line of the previous page, newest first. */
    beforeId: lineId.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .refine((q) => !(q.afterId && q.order === 'desc') && !(q.beforeId && q.order === 'asc'), { message: 'afterId pages oldest first (order=asc), beforeId newest first (order=desc)', path: ['order'] });
type AuditQuery = z.infer<typeof AuditQuery>;

const serviceQuery = ({ order, ...q }: AuditQuery) => ({ ...q, newestFirst: order === 'desc' });

@ApiTags('audit')
@ApiBearerAuth()
@Controller('api')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** The whole audit log, oldest first; page with afterId. Admins only. */
  @Access({ roles: [Role.Admin] })
  @Get('audit')
  all(@Query({ schema: AuditQuery }) q: AuditQuery) {
    return this.audit.find(serviceQuery(q));
  }

  /** One project's audit trail, for its managers. */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get('projects/:projectId/audit')
  project(@Param('projectId', { schema: z.uuid() }) projectId: string, @Query({ schema: AuditQuery }) q: AuditQuery) {
    return this.audit.find({ ...serviceQuery(q), projectId });
  }
}
