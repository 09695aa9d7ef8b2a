// The receiving side of ingest, shared by every door (HTTP upload, STOW-RS, C-STORE, PACS pull): each
// received file is moved into the blob store, recorded as an ingest item and queued. Nothing is parsed here,
// so receiving stays fast and memory stays flat whatever arrives.
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Actor, AuditService } from '@contour/audit';
import { IngestBatch, IngestItem, IngestItemStatus, IngestSource } from '@contour/db';
import { importJobId, JOB_QUEUE, JobName, JobQueue } from '@contour/queue';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { rawBlobLockIds, sha256File } from './raw-blob-lock';

/** Files per ingest job: big enough to amortise the queue round trip, small enough to spread over workers. */
export const INGEST_CHUNK = 8;
/**
 * Files written to the store and committed as items together, under one shared lock on their keys: the group's
 * transaction holds a pooled connection while its files are written (and a clean-up of the same content waits
 * for it), so groups are small.
 */
const RECEIVE_GROUP = INGEST_CHUNK;

export interface ReceivedFile {
  /** A local file the receiver may move (it is consumed). */
  path: string;
  name: string;
  /** Its SHA-256 (hex) when the receiver hashed it as it arrived; else it is read again for the hash. */
  sha256?: string;
}

export interface BatchProgress {
  batchId: string;
  source: IngestSource;
  label: string;
  createdAt: Date;
  total: number;
  counts: Record<IngestItemStatus, number>;
  /** Every file received is processed, and (a PACS import) the retrieval itself has finished. */
  done: boolean;
  /** A PACS import: where its retrieval job stands ('waiting', 'active', 'completed', 'failed', ...). */
  importState?: string;
  /** A PACS import that failed for good: why (its files received so far are still processed). */
  error?: string;
  items?: Pick<IngestItem, 'id' | 'fileName' | 'status' | 'reasonCode' | 'reason' | 'instanceId'>[];
}

@Injectable()
export class IngestReceiver {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly jobs: JobQueue,
    private readonly audit: AuditService,
  ) {}

  async openBatch(projectId: string, source: IngestSource, label: string, actor: Actor, hints: IngestBatch['hints'] = {}): Promise<IngestBatch> {
    const batch = await this.dataSource.getRepository(IngestBatch).save({ projectId, source, label, createdBy: actor.id, hints });
    await this.audit.record(actor, { action: 'ingest.batch.opened', objectType: 'ingest_batch', objectId: batch.id, projectId, details: { source, label } });
    return batch;
  }

  /**
   * Stores the files, records them (with their audit lines) and queues them, a few files per ingest job. Returns the
   * new item ids.
   */
  async addFiles(batch: IngestBatch, files: ReceivedFile[], actor: Actor): Promise<string[]> {
    const ids: string[] = [];
    // In groups: each group's files are written and their items committed under a shared lock on their content
    // keys, so a concurrent clean-up of the same content (raw-blob-lock.ts) either sees the new items or has
    // finished deleting before the files are written again. Each group's items are queued as soon as they are
    // committed: a later group failing leaves none of them waiting without a job. One commit per group (items and
    // audit lines together): a C-STORE sender waits for it before sending the next image.
    for (let start = 0; start < files.length; start += RECEIVE_GROUP) {
      const group = files.slice(start, start + RECEIVE_GROUP);
      const keys: string[] = [];
      for (const file of group) keys.push(file.sha256 ?? (await sha256File(file.path)));
      const saved = await this.dataSource.transaction(async (m) => {
        await m.query(`SELECT pg_advisory_xact_lock_shared(k) FROM unnest($1::bigint[]) AS k`, [rawBlobLockIds(keys)]);
        const sizes: number[] = [];
        for (const [i, file] of group.entries()) {
          const stored = await this.blobs.putFile(file.path);
          if (stored.key !== keys[i]) throw new Error(`${file.name} changed while it was being received (hash ${keys[i]}, then ${stored.key})`);
          sizes.push(stored.size);
        }
        const items: { id: string; file_name: string; size_bytes: string }[] = await m.query(
          `INSERT INTO ingest_items (batch_id, project_id, file_name, raw_blob_key, size_bytes, status)
           SELECT $1, $2, f.name, f.key, f.size, $6 FROM unnest($3::text[], $4::text[], $5::bigint[]) WITH ORDINALITY AS f(name, key, size, n) ORDER BY f.n
           RETURNING id, file_name, size_bytes`,
          [batch.id, batch.projectId, group.map((f) => f.name), keys, sizes, IngestItemStatus.Queued],
        );
        await this.audit.recordMany(
          actor,
          items.map((item) => ({ action: 'ingest.item.received', objectType: 'ingest_item', objectId: item.id, projectId: batch.projectId, details: { batchId: batch.id, fileName: item.file_name, sizeBytes: Number(item.size_bytes) } })),
          m,
        );
        return items.map((item) => item.id);
      });
      await this.queueItems(saved);
      ids.push(...saved);
    }
    return ids;
  }

  /**
   * Files are processed in chunks: one job per file would cost more in queue round trips than the work itself for
   * small slices. The first item id names the job, so a redelivered request never adds a second.
   */
  private async queueItems(itemIds: string[]) {
    const chunks: string[][] = [];
    for (let i = 0; i < itemIds.length; i += INGEST_CHUNK) chunks.push(itemIds.slice(i, i + INGEST_CHUNK));
    await this.jobs.addBulk(
      JobName.IngestFiles,
      chunks.map((chunk) => ({ data: { itemIds: chunk }, options: { jobId: `ingest-${chunk[0]}` } })),
    );
  }

  async progress(projectId: string, batchId: string, withItems = false): Promise<BatchProgress> {
    const batch = await this.dataSource.getRepository(IngestBatch).findOneBy({ id: batchId, projectId });
    if (!batch) throw new NotFoundException(`No ingest batch ${batchId} in this project`);
    const rows: { status: IngestItemStatus; n: string }[] = await this.dataSource
      .getRepository(IngestItem)
      .createQueryBuilder('i')
      .select('i.status', 'status')
      .addSelect('count(*)', 'n')
      .where('i.batch_id = :batchId', { batchId })
      .groupBy('i.status')
      .getRawMany();
    const counts = Object.fromEntries(Object.values(IngestItemStatus).map((s) => [s, 0])) as Record<IngestItemStatus, number>;
    for (const r of rows) counts[r.status] = Number(r.n);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const progress: BatchProgress = {
      batchId,
      source: batch.source,
      label: batch.label,
      createdAt: batch.createdAt,
      total,
      counts,
      done: counts.queued + counts.processing === 0,
    };
    if (batch.source === IngestSource.DicomWeb) {
      // The files of a PACS import arrive while its job runs: until it has finished the batch is not done, even
      // with nothing queued (it used to read "done, 0 files" before the first study came, and after a failure).
      const job = await this.jobs.queue(JOB_QUEUE[JobName.DicomWebImport]).getJob(importJobId(batchId));
      const state = job ? await job.getState() : 'unknown';
      progress.importState = state;
      if (state === 'failed') progress.error = job!.failedReason;
      progress.done = progress.done && (state === 'completed' || state === 'failed' || state === 'unknown');
    }
    if (withItems) {
      progress.items = await this.dataSource.getRepository(IngestItem).find({
        where: { batchId },
        select: { id: true, fileName: true, status: true, reasonCode: true, reason: true, instanceId: true },
        order: { createdAt: 'ASC' },
      });
    }
    return progress;
  }
}
