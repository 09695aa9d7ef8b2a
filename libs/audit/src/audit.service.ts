import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, SelectQueryBuilder } from 'typeorm';
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
  /** Newest first: the lines before this id (the last line of the previous page). */
  beforeId?: string;
  newestFirst?: boolean;
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

  /** Oldest first, paged by id (afterId); newest first with `newestFirst`, paged by beforeId. */
  async find(query: AuditQuery): Promise<AuditEvent[]> {
    return this.findQuery(query).getMany();
  }

  /**
   * The statement find() runs. A project's page takes its ids from audit_events_project (project, id) alone, then
   * those lines by key: filtered on the project while walking the whole log by id (the plan the planner picks when the
   * project looks common enough to meet soon, as a busy new project beside an old big one does) it read every older
   * line first, 400 ms for a project with 70,000 recent lines among 640,000.
   */
  findQuery(query: AuditQuery): SelectQueryBuilder<AuditEvent> {
    const repository = this.dataSource.getRepository(AuditEvent);
    const limit = Math.min(query.limit ?? 100, 1000);
    const filtered = (qb: SelectQueryBuilder<AuditEvent>, alias: string) => {
      if (query.projectId) qb.andWhere(`${alias}.project_id = :projectId`, { projectId: query.projectId });
      if (query.objectType) qb.andWhere(`${alias}.object_type = :objectType`, { objectType: query.objectType });
      if (query.objectId) qb.andWhere(`${alias}.object_id = :objectId`, { objectId: query.objectId });
      if (query.actorId) qb.andWhere(`${alias}.actor_id = :actorId`, { actorId: query.actorId });
      if (query.action) qb.andWhere(`${alias}.action = :action`, { action: query.action });
      if (query.afterId) qb.andWhere(`${alias}.id > :afterId`, { afterId: query.afterId });
      if (query.beforeId) qb.andWhere(`${alias}.id < :beforeId`, { beforeId: query.beforeId });
      return qb.orderBy(`${alias}.id`, order).limit(limit);
    };
    const order = query.newestFirst ? 'DESC' : 'ASC';
    if (!query.projectId) return filtered(repository.createQueryBuilder('a'), 'a');
    const page = filtered(repository.createQueryBuilder('p').select('p.id'), 'p');
    return repository.createQueryBuilder('a').where(`a.id = ANY(ARRAY(${page.getQuery()}))`).setParameters(page.getParameters()).orderBy('a.id', order);
  }
}
