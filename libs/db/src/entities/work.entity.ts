// Annotation work: protocols, tasks, read slots (leases), label versions, consensus results, reviews and the
// history of task transitions.
import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { Project } from './project.entity';
import { Study } from './imaging.entity';

@Entity('label_protocols')
@Unique(['projectId', 'version'])
export class LabelProtocol {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  @Column({ type: 'int' })
  version: number;

  /** The validated protocol (@contour/workflow ProtocolInput): labels, annotation types, instructions. */
  @Column({ type: 'jsonb' })
  definition: Record<string, unknown>;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

@Entity('tasks')
@Unique(['projectId', 'splitKey'])
@Index(['projectId', 'state'])
// The manager's task list in its order (priority DESC, then age, then id), with the state to filter on: created by the
// migration (TypeORM cannot declare a mixed-direction index or INCLUDE columns).
@Index('tasks_list', { synchronize: false })
export class Task {
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

  @Column({ name: 'series_ids', type: 'uuid', array: true })
  seriesIds: string[];

  @Column({ name: 'instance_id', type: 'uuid', nullable: true })
  instanceId: string | null;

  @Column({ name: 'frame_start', type: 'int', nullable: true })
  frameStart: number | null;

  @Column({ name: 'frame_end', type: 'int', nullable: true })
  frameEnd: number | null;

  /** series | image | frames | view-group */
  @Column({ type: 'text' })
  kind: string;

  /** Deterministic key from the split policy; unique per project so re-splitting creates nothing twice. */
  @Column({ name: 'split_key', type: 'text' })
  splitKey: string;

  @Column({ type: 'text' })
  modality: string;

  @Column({ type: 'text' })
  state: string;

  /** Routing priority: set by managers, raised by model uncertainty and by age. Higher first. */
  @Column({ type: 'int', default: 0 })
  priority: number;

  /** From the pre-label step: mean normalised entropy inside the predicted foreground (0..1). */
  @Column({ type: 'real', nullable: true })
  uncertainty: number | null;

  /** The part of `priority` the latest draft's uncertainty added (0 once a manager sets the priority outright). */
  @Column({ name: 'uncertainty_points', type: 'int', default: 0 })
  uncertaintyPoints: number;

  /**
   * An image of the task's series is held for a privacy review (burned-in text; a hold raised after the task was
   * made, or a flagged image that arrived later): nobody is offered, assigned or may submit work on it until it is
   * cleared. Set by the study's split (TaskSplitter.refreshPrivacyHolds).
   */
  @Column({ name: 'privacy_held', type: 'boolean', default: false })
  privacyHeld: boolean;

  @Column({ name: 'required_skills', type: 'text', array: true, default: () => "'{}'" })
  requiredSkills: string[];

  @Column({ name: 'reads_required', type: 'int' })
  readsRequired: number;

  @Column({ name: 'protocol_version', type: 'int', nullable: true })
  protocolVersion: number | null;

  @Column({ name: 'rework_round', type: 'int', default: 0 })
  reworkRound: number;

  @Column({ name: 'rejection_count', type: 'int', default: 0 })
  rejectionCount: number;

  /** Latest task-level agreement (mean Dice, or kappa), once consensus ran. */
  @Column({ type: 'real', nullable: true })
  agreement: number | null;

  /** Why the task failed or was escalated, for the manager. */
  @Column({ name: 'state_reason', type: 'text', nullable: true })
  stateReason: string | null;

  @Column({ name: 'state_changed_at', type: 'timestamptz', default: () => 'now()' })
  stateChangedAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/**
 * One unit of work on a task: an annotation read slot (k per task), a review or an adjudication. Routing
 * claims open slots with FOR UPDATE SKIP LOCKED; the routing columns are copied from the task so the claim
 * query reads one index.
 */
@Entity('task_reads')
@Index('task_reads_one_read_per_person', ['taskId', 'annotatorId'], { unique: true, where: `"kind" = 'annotation' AND "annotator_id" IS NOT NULL` })
// The claim index walks open, unassigned slots in routing order (priority DESC, then age); TypeORM cannot declare
// a mixed-direction index, so the migration creates it and synchronisation leaves it alone.
// One per pool (annotation; review and adjudication), each with its kind in the predicate, so that a claim walks only
// its own pool's slots, and only those of tasks that take work (offered).
@Index('task_reads_claim', { synchronize: false })
@Index('task_reads_claim_review', { synchronize: false })
// An annotator's inbox (TaskQueries.myReads): their reads in a project, newest first; those leased or open.
@Index('task_reads_annotator', { synchronize: false })
@Index('task_reads_annotator_active', ['annotatorId'], { where: `"state" IN ('leased', 'open')` })
// A task's open slots (the trigger that keeps `offered` when the task moves; migration OpenReadsByTask).
@Index('task_reads_open_by_task', ['taskId'], { where: `"state" = 'open'` })
// The lease expiry sweep: leased reads by the end of their lease.
@Index('task_reads_leased', ['leaseExpiresAt'], { where: `"state" = 'leased'` })
@Index('task_reads_assigned', ['assignedTo'], { where: `"state" = 'open' AND "assigned_to" IS NOT NULL` })
// An annotator's reads whose lease lapsed while nobody took them: theirs again first when they ask for work.
@Index('task_reads_lapsed', ['previousAnnotatorId'], { where: `"state" = 'open' AND "previous_annotator_id" IS NOT NULL` })
// The same two for reads that are no longer open (the export's blinding check looks for both halves; routing looks for
// open reads only, and keeps to its own indexes).
@Index('task_reads_assigned_not_open', ['assignedTo'], { where: `"state" <> 'open' AND "assigned_to" IS NOT NULL` })
@Index('task_reads_lapsed_not_open', ['previousAnnotatorId'], { where: `"state" <> 'open' AND "previous_annotator_id" IS NOT NULL` })
export class TaskRead {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ name: 'task_id', type: 'uuid' })
  taskId: string;

  @ManyToOne(() => Task, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id' })
  task?: Task;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  /** annotation | review | adjudication */
  @Column({ type: 'text' })
  kind: string;

  @Column({ type: 'int' })
  slot: number;

  /** open | leased | submitted | closed (no longer needed) */
  @Column({ type: 'text', default: 'open' })
  state: string;

  @Index()
  @Column({ name: 'annotator_id', type: 'uuid', nullable: true })
  annotatorId: string | null;

  /** Who held the lease before it expired: they may still submit if nobody else took the read. */
  @Column({ name: 'previous_annotator_id', type: 'uuid', nullable: true })
  previousAnnotatorId: string | null;

  /** The latest auto-saved work in progress (a label version of kind read-draft). */
  @Column({ name: 'draft_version_id', type: 'uuid', nullable: true })
  draftVersionId: string | null;

  /** Push routing: only this person may claim the slot. */
  @Column({ name: 'assigned_to', type: 'uuid', nullable: true })
  assignedTo: string | null;

  /** People who gave the read back (released it): not offered it again, unless a manager assigns it to them. */
  @Column({ name: 'declined_by', type: 'uuid', array: true, default: () => "'{}'" })
  declinedBy: string[];

  /**
   * Whether the read's task takes work (a leasable state, not held for a privacy review), kept by the database's
   * triggers (migration OfferedReads): only offered slots are in the claim indexes.
   */
  @Column({ type: 'boolean', default: true })
  offered: boolean;

  @Column({ type: 'int', default: 0 })
  round: number;

  @Column({ name: 'leased_at', type: 'timestamptz', nullable: true })
  leasedAt: Date | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt: Date | null;

  @Column({ name: 'submitted_at', type: 'timestamptz', nullable: true })
  submittedAt: Date | null;

  @Column({ name: 'label_version_id', type: 'uuid', nullable: true })
  labelVersionId: string | null;

  /** Reviewer's comment that sent this read back for rework. */
  @Column({ name: 'rework_comment', type: 'text', nullable: true })
  reworkComment: string | null;

  @Column({ type: 'int', default: 0 })
  priority: number;

  /** The part of `priority` earned by waiting (project routing settings), recomputed by the ageing job. */
  @Column({ name: 'age_boost', type: 'int', default: 0 })
  ageBoost: number;

  @Column({ name: 'task_created_at', type: 'timestamptz' })
  taskCreatedAt: Date;

  @Column({ name: 'required_skills', type: 'text', array: true, default: () => "'{}'" })
  requiredSkills: string[];
}

/** A mask (or answers) on a task, immutable: drafts, each read, merged results, adjudications, review edits. */
@Entity('label_versions')
// The reads (and their drafts) a person wrote, by task (the export's blinding check).
@Index('label_versions_read_author', ['authorId', 'taskId'], { where: `"kind" IN ('read', 'read-draft')` })
export class LabelVersion {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ name: 'task_id', type: 'uuid' })
  taskId: string;

  @ManyToOne(() => Task, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id' })
  task?: Task;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  /** draft | read | merged | adjudicated | review-edit */
  @Column({ type: 'text' })
  kind: string;

  @Column({ name: 'read_id', type: 'uuid', nullable: true })
  readId: string | null;

  @Column({ name: 'author_id', type: 'uuid', nullable: true })
  authorId: string | null;

  /** For drafts: { id, name, version } of the model. */
  @Column({ type: 'jsonb', nullable: true })
  model: Record<string, unknown> | null;

  @Column({ type: 'int', default: 0 })
  round: number;

  @Column({ name: 'protocol_version', type: 'int', nullable: true })
  protocolVersion: number | null;

  /** The compressed label map in the blob store (null for answer-only labels such as classifications). */
  @Column({ name: 'blob_key', type: 'text', nullable: true })
  blobKey: string | null;

  @Column({ type: 'text', default: 'labelmap-u8-deflate' })
  encoding: string;

  /** The voxel grid the mask lies on: { seriesId, dims, spacing, affine? }. */
  @Column({ type: 'jsonb', nullable: true })
  grid: Record<string, unknown> | null;

  /** Non-mask answers: classification choices, boxes, points. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  answers: Record<string, unknown>;

  /** Voxel counts per label, uncertainty, anything derived. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  stats: Record<string, unknown>;

  /** For drafts: the DICOM SEG written from it, in the blob store. */
  @Column({ name: 'seg_blob_key', type: 'text', nullable: true })
  segBlobKey: string | null;

  /** Client-chosen key: a retried submission with the same key returns the first version. */
  @Column({ name: 'idempotency_key', type: 'text', nullable: true, unique: true })
  idempotencyKey: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

@Entity('consensus_results')
export class ConsensusResult {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ name: 'task_id', type: 'uuid' })
  taskId: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @Column({ type: 'int' })
  round: number;

  @Column({ type: 'real' })
  agreement: number;

  @Column({ type: 'text' })
  method: string;

  /** Per-label and per-reader metrics (Dice, IoU, HD95, volumes; kappa for classifications). */
  @Column({ type: 'jsonb' })
  metrics: Record<string, unknown>;

  /** Slices and regions where readers disagree (for adjudication). */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  disagreement: Record<string, unknown>;

  @Column({ name: 'merged_version_id', type: 'uuid', nullable: true })
  mergedVersionId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/**
 * The numbers each consensus result adds to its project's reader statistics (readerScores in @contour/consensus): a
 * read's Dice against the merge per label, two reads' mean Dice, two readers' shape agreement. The statistics sum
 * this narrow table; reading every result's metrics (3 KB of JSON each) took 1.7 s at 50,000 results.
 */
@Entity('consensus_scores')
@Index('consensus_scores_project', ['projectId', 'kind'])
export class ConsensusScore {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Index()
  @Column({ name: 'consensus_result_id', type: 'uuid' })
  consensusResultId: string;

  @ManyToOne(() => ConsensusResult, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'consensus_result_id' })
  consensusResult?: ConsensusResult;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  /** vs-merged | pair-dice | pair-shape */
  @Column({ type: 'text' })
  kind: string;

  @Column({ name: 'reader_a', type: 'uuid', nullable: true })
  readerA: string | null;

  @Column({ name: 'reader_b', type: 'uuid', nullable: true })
  readerB: string | null;

  @Column({ type: 'double precision' })
  value: number;
}

@Entity('reviews')
// A project's reviews (the statistics' review counts and rejected rounds); the task index alone made those read every
// review of the deployment.
@Index('reviews_project', ['projectId', 'decision'])
export class Review {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ name: 'task_id', type: 'uuid' })
  taskId: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @Column({ name: 'reviewer_id', type: 'uuid' })
  reviewerId: string;

  /** approved | edited-approved | rejected */
  @Column({ type: 'text' })
  decision: string;

  @Column({ type: 'text', default: '' })
  comment: string;

  @Column({ type: 'int' })
  round: number;

  @Column({ name: 'label_version_id', type: 'uuid', nullable: true })
  labelVersionId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/** Every state change of every task, for time-in-state and the task's history. */
@Entity('task_transitions')
// A project's transitions in (task, id) order with their state and time (the statistics' time in state reads it alone,
// without a sort); INCLUDE is beyond TypeORM's index options: migration TransitionsByTask makes it.
@Index('task_transitions_by_task', { synchronize: false })
export class TaskTransition {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Index()
  @Column({ name: 'task_id', type: 'uuid' })
  taskId: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @Column({ name: 'from_state', type: 'text', nullable: true })
  fromState: string | null;

  @Column({ name: 'to_state', type: 'text' })
  toState: string;

  @Column({ type: 'text' })
  event: string;

  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ name: 'actor_name', type: 'text' })
  actorName: string;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;
}
