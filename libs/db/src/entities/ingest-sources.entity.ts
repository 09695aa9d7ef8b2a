import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { Project } from './project.entity';

/** Which project receives the studies a DICOM modality or PACS sends with a given calling AE title. */
@Entity('ae_routes')
export class AeRoute {
  @PrimaryColumn({ name: 'calling_ae_title', type: 'text' })
  callingAeTitle: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

export type DicomWebAuth = { type: 'none' } | { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };

/** A DICOMweb server (PACS) a project imports studies from by QIDO-RS query and WADO-RS retrieval. */
@Entity('dicomweb_sources')
@Unique(['projectId', 'name'])
export class DicomWebSource {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  @Column({ type: 'text' })
  name: string;

  /** The DICOMweb root, e.g. http://pacs:8042/dicom-web */
  @Column({ type: 'text' })
  url: string;

  /** Credentials for the PACS. Never returned by the API. */
  @Column({ type: 'jsonb', default: () => `'{"type": "none"}'` })
  auth: DicomWebAuth;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/**
 * The re-identification key: original identifiers behind each de-identified value. Readable only by admins,
 * and every read is audited.
 */
@Entity('reid_keys')
@Unique(['projectId', 'kind', 'deidValue'])
export class ReidKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  /** patient | study | series | instance */
  @Column({ type: 'text' })
  kind: string;

  /** The de-identified value (pseudonym or remapped UID). */
  @Column({ name: 'deid_value', type: 'text' })
  deidValue: string;

  /** The original identifying values (names, IDs, dates, original UIDs). */
  @Column({ type: 'jsonb' })
  original: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
