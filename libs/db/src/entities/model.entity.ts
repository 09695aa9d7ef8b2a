import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** A registered ONNX model: the file (in the blob store, by checksum) and its validated manifest. */
@Entity('models')
@Unique(['name', 'version'])
export class Model {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  version: string;

  /** The validated @contour/inference ModelManifest. */
  @Column({ type: 'jsonb' })
  manifest: Record<string, unknown>;

  /** SHA-256 of the .onnx file; also its blob store key. */
  @Column({ type: 'text' })
  checksum: string;

  @Column({ name: 'size_bytes', type: 'bigint' })
  sizeBytes: string;

  /** True for models Contour generates from code (e.g. the rule-based CT starter model). */
  @Column({ type: 'boolean', default: false })
  builtin: boolean;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
