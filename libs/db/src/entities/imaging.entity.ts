// The de-identified image hierarchy: patient -> study -> series -> instance. Every UID and identifier stored
// here is already de-identified; the originals live only in reid_keys (admins only).
import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { Project } from './project.entity';

@Entity('patients')
@Unique(['projectId', 'pseudonym'])
export class Patient {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  /** The de-identified Patient ID written into the files. */
  @Column({ type: 'text' })
  pseudonym: string;

  /** Kept only when the project retains patient characteristics. */
  @Column({ type: 'text', nullable: true })
  sex: string | null;

  @Column({ type: 'text', nullable: true })
  age: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

@Entity('studies')
@Unique(['projectId', 'studyInstanceUid'])
// QIDO-RS study lists: a project's studies in answer order (date, then UID).
@Index('studies_qido', ['projectId', 'studyDate', 'studyInstanceUid'])
export class Study {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  @Index()
  @Column({ name: 'patient_id', type: 'uuid' })
  patientId: string;

  @ManyToOne(() => Patient, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'patient_id' })
  patient?: Patient;

  @Column({ name: 'study_instance_uid', type: 'text' })
  studyInstanceUid: string;

  /** DICOM DA (YYYYMMDD), shifted or removed per the project's de-identification options. */
  @Column({ name: 'study_date', type: 'text', nullable: true })
  studyDate: string | null;

  @Column({ type: 'text', default: '' })
  description: string;

  /** Attribute-by-attribute de-identification report: what was removed, replaced or kept, and why. */
  @Column({ name: 'deid_report', type: 'jsonb', default: () => "'{}'" })
  deidReport: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

@Entity('series')
@Unique(['projectId', 'seriesInstanceUid'])
export class Series {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  @Index()
  @Column({ name: 'study_id', type: 'uuid' })
  studyId: string;

  @ManyToOne(() => Study, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'study_id' })
  study?: Study;

  @Column({ name: 'series_instance_uid', type: 'text' })
  seriesInstanceUid: string;

  @Column({ type: 'text' })
  modality: string;

  @Column({ type: 'text', default: '' })
  description: string;

  @Column({ name: 'body_part', type: 'text', nullable: true })
  bodyPart: string | null;

  @Column({ name: 'series_number', type: 'int', nullable: true })
  seriesNumber: number | null;

  @Column({ name: 'frame_of_reference_uid', type: 'text', nullable: true })
  frameOfReferenceUid: string | null;

  /** Volume geometry computed from the instances (see @contour/volume); null until built. */
  @Column({ type: 'jsonb', nullable: true })
  geometry: Record<string, unknown> | null;

  /** Where the images came from: DICOM instances, or an uploaded NIfTI volume. */
  @Column({ type: 'text', default: 'dicom' })
  source: 'dicom' | 'nifti';

  /** pending until the geometry check ran; ok, warning (usable, with issues) or failed (not usable as a volume). */
  @Column({ name: 'qc_status', type: 'text', default: 'pending' })
  qcStatus: 'pending' | 'ok' | 'warning' | 'failed';

  /** Geometry and consistency problems found, each with a code and a sentence a person can act on. */
  @Column({ name: 'qc_issues', type: 'jsonb', default: () => "'[]'" })
  qcIssues: { code: string; message: string; severity: 'warning' | 'error' }[];

  /** The series as a NIfTI volume in the blob store (uploaded NIfTI, or built from the slices), when available. */
  @Column({ name: 'volume_blob_key', type: 'text', nullable: true })
  volumeBlobKey: string | null;

  /** Link between series showing the same body part from several views (e.g. mammography CC/MLO L/R). */
  @Column({ name: 'view_group', type: 'text', nullable: true })
  viewGroup: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

@Entity('instances')
@Unique(['projectId', 'sopInstanceUid'])
// The privacy review queue: a project's flagged images, oldest first (most images carry no flag).
@Index('instances_flagged', ['projectId', 'createdAt', 'id'], { where: `"flags" <> '{}'` })
export class Instance {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  @Index()
  @Column({ name: 'series_id', type: 'uuid' })
  seriesId: string;

  @ManyToOne(() => Series, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'series_id' })
  series?: Series;

  @Column({ name: 'sop_instance_uid', type: 'text' })
  sopInstanceUid: string;

  @Column({ name: 'sop_class_uid', type: 'text' })
  sopClassUid: string;

  @Column({ name: 'transfer_syntax_uid', type: 'text' })
  transferSyntaxUid: string;

  @Column({ name: 'instance_number', type: 'int', nullable: true })
  instanceNumber: number | null;

  @Column({ type: 'int', nullable: true })
  rows: number | null;

  @Column({ type: 'int', nullable: true })
  columns: number | null;

  @Column({ name: 'number_of_frames', type: 'int', default: 1 })
  numberOfFrames: number;

  /** Image Position (Patient), Image Orientation (Patient) and Pixel Spacing, for geometry. */
  @Column({ name: 'image_position', type: 'double precision', array: true, nullable: true })
  imagePosition: number[] | null;

  @Column({ name: 'image_orientation', type: 'double precision', array: true, nullable: true })
  imageOrientation: number[] | null;

  @Column({ name: 'pixel_spacing', type: 'double precision', array: true, nullable: true })
  pixelSpacing: number[] | null;

  /** Key of the de-identified file in the blob store (indexed: ingest asks whether a received file is stored as is). */
  @Index('instances_blob_key')
  @Column({ name: 'blob_key', type: 'text' })
  blobKey: string;

  @Column({ name: 'size_bytes', type: 'bigint' })
  sizeBytes: string;

  /** SHA-256 of the file as received, to tell a re-send of the same file from a conflicting one. */
  @Column({ name: 'source_hash', type: 'text' })
  sourceHash: string;

  /** Flags a person must look at (e.g. burned-in annotation). */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  flags: string[];

  /** Selected de-identified attributes (DICOM JSON model) for QIDO-RS and the metadata endpoints. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  attributes: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
