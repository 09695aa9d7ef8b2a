import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AuditEvent } from '@contour/db';

/** Who did something: a signed-in user, or a named system component (e.g. "worker:ingest"). */
export interface Actor {
  id: string | null;
  name: string;
  ip?: string | null;
}

export const systemActor = (component: string): Actor => ({ id: null, name: `system:${component}` });

export interface AuditEntry {
  action: string;
  objectType: string;
  objectId?: string | null;
  projectId?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  projectId?: string;
  objectType?: string;
  objectId?: string;
  actorId?: string;
  action?: string;
  afterId?: string;
  limit?: number;
}

/**
 * An INSERT of audit rows from two jsonb parameters, for statements that write their change and its audit
 * lines in one round trip (as a CTE): `$actor` is auditActor(actor), `$rows` is auditRows(entries). Rows keep
 * their order (ids ascend in the order given).
 */
export const auditInsertSql = (actorParam: number, rowsParam: number) =>
  `INSERT INTO audit_events (actor_id, actor_name, ip, action, object_type, object_id, project_id, details)
   SELECT ($${actorParam}::jsonb ->> 'id')::uuid, $${actorParam}::jsonb ->> 'name', $${actorParam}::jsonb ->> 'ip', x.action, x.object_type, x.object_id, x.project_id, COALESCE(x.details, '{}')
     FROM ROWS FROM (jsonb_to_recordset($${rowsParam}::jsonb) AS (action text, object_type text, object_id text, project_id uuid, details jsonb))
          WITH ORDINALITY AS x(action, object_type, object_id, project_id, details, n)
    ORDER BY x.n`;
export const auditActor = (actor: Actor) => JSON.stringify({ id: actor.id, name: actor.name, ip: actor.ip ?? null });
export const auditRows = (entries: AuditEntry[]) =>
  JSON.stringify(entries.map((e) => ({ action: e.action, object_type: e.objectType, object_id: e.objectId ?? null, project_id: e.projectId ?? null, details: e.details ?? {} })));

/**
 * Writes to and reads from the append-only audit log. Pass the transaction's EntityManager when the audited
 * change happens in a transaction, so the change and its audit line commit (or roll back) together.
 */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async record(actor: Actor, entry: AuditEntry, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await this.recordMany(actor, [entry], manager);
  }

  async recordMany(actor: Actor, entries: AuditEntry[], manager: EntityManager = this.dataSource.manager): Promise<void> {
    if (entries.length === 0) return;
    await manager.insert(
      AuditEvent,
      entries.map<QueryDeepPartialEntity<AuditEvent>>((entry) => ({
        actorId: actor.id,
        actorName: actor.name,
        ip: actor.ip ?? null,
        action: entry.action,
        objectType: entry.objectType,
        objectId: entry.objectId ?? null,
        projectId: entry.projectId ?? null,
        details: (entry.details ?? {}) as QueryDeepPartialEntity<AuditEvent>['details'],
      })),
    );
  }

  /** Oldest first, paged by id. */
  async find(query: AuditQuery): Promise<AuditEvent[]> {
    const qb = this.dataSource.getRepository(AuditEvent).createQueryBuilder('a').orderBy('a.id', 'ASC');
    if (query.projectId) qb.andWhere('a.project_id = :projectId', { projectId: query.projectId });
    if (query.objectType) qb.andWhere('a.object_type = :objectType', { objectType: query.objectType });
    if (query.objectId) qb.andWhere('a.object_id = :objectId', { objectId: query.objectId });
    if (query.actorId) qb.andWhere('a.actor_id = :actorId', { actorId: query.actorId });
    if (query.action) qb.andWhere('a.action = :action', { action: query.action });
    if (query.afterId) qb.andWhere('a.id > :afterId', { afterId: query.afterId });
    return qb.limit(Math.min(query.limit ?? 100, 1000)).getMany();
  }
}
