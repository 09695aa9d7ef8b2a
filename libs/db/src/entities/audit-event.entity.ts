import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One line of the append-only audit log. The database refuses UPDATE, DELETE and TRUNCATE on this table
 * (trigger installed by the migration), so not even a bug in the application can rewrite history.
 */
@Entity('audit_events')
@Index(['objectType', 'objectId', 'id'])
// A task's history: the lines about its reads, versions and reviews name it in details.taskId (expression index,
// created by the migration).
@Index('audit_events_task', { synchronize: false })
// A project's trail, paged by id (the audit list).
@Index('audit_events_project', ['projectId', 'id'])
export class AuditEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Index()
  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;

  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  /** Username at the time of the event, or a system actor such as "worker:ingest". */
  @Column({ name: 'actor_name', type: 'text' })
  actorName: string;

  @Index()
  @Column({ type: 'text' })
  action: string;

  @Column({ name: 'object_type', type: 'text' })
  objectType: string;

  @Column({ name: 'object_id', type: 'text', nullable: true })
  objectId: string | null;

  @Column({ name: 'project_id', type: 'uuid', nullable: true })
  projectId: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  details: Record<string, unknown>;

  @Column({ type: 'text', nullable: true })
  ip: string | null;
}
