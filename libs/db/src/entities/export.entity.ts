import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** A dataset export: what was asked, how far it got, and the archive once done. */
@Entity('exports')
export class DatasetExport {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @Column({ type: 'text' })
  name: string;

  /** queued | running | done | failed */
  @Column({ type: 'text', default: 'queued' })
  state: string;

  /** Formats, label version choice, task filters, split and balance settings. */
  @Column({ type: 'jsonb' })
  options: Record<string, unknown>;

  @Column({ type: 'int', default: 0 })
  progress: number;

  /** Split summary and balance report, for the dashboard. */
  @Column({ type: 'jsonb', nullable: true })
  report: Record<string, unknown> | null;

  @Column({ name: 'result_blob_key', type: 'text', nullable: true })
  resultBlobKey: string | null;

  @Column({ name: 'size_bytes', type: 'bigint', nullable: true })
  sizeBytes: string | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}

/** One exported case's files, kept so an interrupted export resumes where it stopped. */
@Entity('export_cases')
export class ExportCase {
  @PrimaryColumn({ name: 'export_id', type: 'uuid' })
  exportId: string;

  @PrimaryColumn({ name: 'task_id', type: 'uuid' })
  taskId: string;

  @Column({ name: 'case_name', type: 'text' })
  caseName: string;

  @Column({ type: 'text' })
  split: string;

  /** [{ path inside the archive, blobKey }] */
  @Column({ type: 'jsonb' })
  files: { path: string; blobKey: string }[];

  @Column({ type: 'jsonb', default: () => "'{}'" })
  summary: Record<string, unknown>;
}
