// The one place that names every queue and job, with the payload type of each job.
//
// Queue names and job names are stored in Redis keys and job records. Renaming one strands the jobs already
// waiting under the old name: add the new name, drain the old queue, then remove it (a migration plan).
import { createHash } from 'node:crypto';

export enum QueueName {
  /** Parse, de-identify, check and store received files. Light: runs beside the coordinator. */
  Ingest = 'ingest',
  /** Split studies into tasks; per-series volume geometry. */
  Routing = 'routing',
  /** ONNX pre-labelling. Heavy: deploy these workers apart from the light ones. */
  Prelabel = 'prelabel',
  /** Agreement metrics and merging of reads. */
  Consensus = 'consensus',
  /** Dataset exports. */
  Export = 'export',
}
export const ALL_QUEUES = Object.values(QueueName);

export enum JobName {
  /** Parse, de-identify, check, store and index received files (a chunk of one batch). */
  IngestFiles = 'ingest.files',
  /** Query a DICOMweb PACS (QIDO-RS) and retrieve the matching studies (WADO-RS) into a batch. */
  DicomWebImport = 'ingest.dicomweb-import',
  /** Build and check a series' volume geometry once its instances have arrived. */
  SeriesGeometry = 'routing.series-geometry',
  /** Build a checked DICOM series' NIfTI ahead of its first use (viewer, pre-labelling, export). */
  SeriesVolume = 'routing.series-volume',
  /** Split a study into tasks by the project's policy (idempotent). */
  SplitStudy = 'routing.split-study',
  /** Give expired leases back to the pool (repeating). */
  ExpireLeases = 'routing.expire-leases',
  /** Tasks waiting on a pre-label or consensus job that will not come: queue it again or give up with its reason (repeating). */
  RecoverStuckTasks = 'routing.recover-stuck-tasks',
  /** Tasks that have waited rise in priority by the project's routing settings (repeating). */
  AgePriorities = 'routing.age-priorities',
  /** A project's pre-label models changed: draft its untouched tasks again. */
  RedraftProject = 'routing.redraft-project',
  /** Draft a pre-label for a task with the project's model. */
  PrelabelTask = 'prelabel.task',
  /** Agreement, merge and next step of a task whose reads are in. */
  ConsensusTask = 'consensus.task',
  /** Build a dataset export archive. */
  ExportDataset = 'export.dataset',
}

export interface IngestFilesJob {
  itemIds: string[];
}

export interface DicomWebImportJob {
  batchId: string;
  sourceId: string;
  /** QIDO-RS study query parameters (e.g. PatientID, StudyDate) or explicit StudyInstanceUIDs. */
  query?: Record<string, string>;
  studyInstanceUids?: string[];
  actor: { id: string | null; name: string };
  /**
   * Kept by the job as it goes, so a retry resumes where the failed attempt stopped (it started again from the first
   * study, re-downloading everything): the studies the search found, how many of them are done, and those the PACS
   * could not return.
   */
  resolved?: string[];
  done?: number;
  failed?: { study: number; reason: string }[];
}

export interface SeriesGeometryJob {
  seriesId: string;
}

export interface SeriesVolumeJob {
  seriesId: string;
  /** The geometry's dims when the job was queued: a series that changed since is left to its newer job. */
  dims: number[];
}

export interface RedraftProjectJob {
  projectId: string;
  actor: { id: string | null; name: string };
}

export interface SplitStudyJob {
  studyId: string;
}

export interface PrelabelTaskJob {
  taskId: string;
  /** interactive: an annotator is waiting (served first); batch: the backlog. */
  lane: 'interactive' | 'batch';
  modelId?: string;
}

export interface ExportDatasetJob {
  exportId: string;
}

export interface ConsensusTaskJob {
  taskId: string;
  round: number;
}

/** Payload type of each job name. Adding a JobName without an entry here is a compile error. */
export interface JobPayloads {
  [JobName.IngestFiles]: IngestFilesJob;
  [JobName.DicomWebImport]: DicomWebImportJob;
  [JobName.SeriesGeometry]: SeriesGeometryJob;
  [JobName.SeriesVolume]: SeriesVolumeJob;
  [JobName.SplitStudy]: SplitStudyJob;
  [JobName.ExpireLeases]: Record<string, never>;
  [JobName.RecoverStuckTasks]: Record<string, never>;
  [JobName.AgePriorities]: Record<string, never>;
  [JobName.RedraftProject]: RedraftProjectJob;
  [JobName.PrelabelTask]: PrelabelTaskJob;
  [JobName.ConsensusTask]: ConsensusTaskJob;
  [JobName.ExportDataset]: ExportDatasetJob;
}

/** Which queue carries each job. A worker serving a queue must handle every job name mapped to it. */
export const JOB_QUEUE: { readonly [N in JobName]: QueueName } = {
  [JobName.IngestFiles]: QueueName.Ingest,
  [JobName.DicomWebImport]: QueueName.Ingest,
  [JobName.SeriesGeometry]: QueueName.Routing,
  [JobName.SeriesVolume]: QueueName.Routing,
  [JobName.SplitStudy]: QueueName.Routing,
  [JobName.ExpireLeases]: QueueName.Routing,
  [JobName.RecoverStuckTasks]: QueueName.Routing,
  [JobName.AgePriorities]: QueueName.Routing,
  [JobName.RedraftProject]: QueueName.Routing,
  [JobName.PrelabelTask]: QueueName.Prelabel,
  [JobName.ConsensusTask]: QueueName.Consensus,
  [JobName.ExportDataset]: QueueName.Export,
};

export function jobsOfQueue(queue: QueueName): JobName[] {
  return (Object.keys(JOB_QUEUE) as JobName[]).filter((name) => JOB_QUEUE[name] === queue);
}

export function parseQueueList(list: string[] | undefined): QueueName[] {
  if (!list || list.length === 0) return [...ALL_QUEUES];
  const unknown = list.filter((q) => !ALL_QUEUES.includes(q as QueueName));
  if (unknown.length) {
    throw new Error(`Unknown queue(s) ${unknown.join(', ')} in --queues/WORKER_QUEUES; known queues: ${ALL_QUEUES.join(', ')}`);
  }
  return [...new Set(list as QueueName[])];
}

/**
 * A task's pre-label job for a set of models (registered model ids: each names one version): one job per task and
 * model versions, so a task is never drafted twice by the same models, and a project that moves to a new model
 * version drafts its untouched tasks again (TaskSplitter.redraft).
 */
export const prelabelJobId = (taskId: string, modelIds: readonly string[]) =>
  `prelabel-${taskId}-${createHash('sha256').update([...modelIds].sort().join(',')).digest('hex').slice(0, 12)}`;

/** A PACS import's job: one per ingest batch. */
export const importJobId = (batchId: string) => `import-${batchId}`;
