import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Project } from './project.entity';

/** Which door a batch came through. */
export enum IngestSource {
  Upload = 'upload',
  StowRs = 'stow-rs',
  CStore = 'c-store',
  DicomWeb = 'dicomweb-pull',
}

/** One delivery: an HTTP upload, a STOW-RS request, a C-STORE association, a PACS import. */
@Entity('ingest_batches')
export class IngestBatch {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  @Column({ type: 'text' })
  source: IngestSource;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy: string | null;

  /** Free text shown to people: the calling AE title, the PACS query, the uploaded file names. */
  @Column({ type: 'text', default: '' })
  label: string;

  /** What the uploader said about files that do not say it themselves (NIfTI): { modality, subject }. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  hints: { modality?: string; subject?: string };

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

export enum IngestItemStatus {
  Queued = 'queued',
  Processing = 'processing',
  Stored = 'stored',
  Duplicate = 'duplicate',
  Quarantined = 'quarantined',
}

/**
 * One received file and what became of it. Quarantined items keep the received file (rawBlobKey) so an admin
 * can download and re-process it; stored items point to the de-identified instance.
 */
@Entity('ingest_items')
@Index(['projectId', 'status'])
export class IngestItem {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ name: 'batch_id', type: 'uuid' })
  batchId: string;

  @ManyToOne(() => IngestBatch, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'batch_id' })
  batch?: IngestBatch;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @Column({ name: 'file_name', type: 'text' })
  fileName: string;

  /** Content hash of the received bytes; the key of the raw file in the blob store while it is kept (indexed: who else needs it). */
  @Index('ingest_items_raw_blob_key')
  @Column({ name: 'raw_blob_key', type: 'text' })
  rawBlobKey: string;

  @Column({ name: 'size_bytes', type: 'bigint' })
  sizeBytes: string;

  @Column({ type: 'text', default: IngestItemStatus.Queued })
  status: IngestItemStatus;

  /** Machine-readable quarantine reason (e.g. "truncated"), with `reason` the sentence a person reads. */
  @Column({ name: 'reason_code', type: 'text', nullable: true })
  reasonCode: string | null;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ name: 'instance_id', type: 'uuid', nullable: true })
  instanceId: string | null;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
