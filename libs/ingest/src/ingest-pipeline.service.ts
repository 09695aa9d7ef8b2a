// The processing side of ingest (worker process): parse -> de-identify -> check -> store -> index, one received
// file per job. Idempotent: a redelivered job for a finished item does nothing; one for an item whose worker
// died half-way redoes the work, and the unique keys make sure each instance is stored exactly once.
import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Not } from 'typeorm';
import { AuditService, systemActor } from '@contour/audit';
import { IngestItem, IngestItemStatus, Instance } from '@contour/db';
import { DicomRejection, ParsedDicom, readDicom } from '@contour/dicom';
import { TerminalJobError } from '@contour/queue';
import { BLOB_STORE, BlobStore } from '@contour/storage';

const FINAL = [IngestItemStatus.Stored, IngestItemStatus.Duplicate, IngestItemStatus.Quarantined];
const actor = systemActor('ingest');

export interface IngestOutcome {
  itemId: string;
  status: IngestItemStatus;
  instanceId?: string | null;
  reasonCode?: string | null;
}

/** What gets written for one accepted instance. */
interface PreparedInstance {
  parsed: ParsedDicom;
  bytes: Buffer;
  flags: string[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);
const nums = (v: unknown): number[] | null => {
  const arr = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  const out = arr.map(num);
  return out.length && out.every((x) => x !== null) ? (out as number[]) : null;
};

@Injectable()
export class IngestPipeline {
  private readonly logger = new Logger(IngestPipeline.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly audit: AuditService,
  ) {}

  async process(itemId: string): Promise<IngestOutcome> {
    const items = this.dataSource.getRepository(IngestItem);
    const item = await items.findOneBy({ id: itemId });
    if (!item) throw new TerminalJobError(`Ingest item ${itemId} does not exist (deleted with its project?)`);
    if (FINAL.includes(item.status)) return { itemId, status: item.status, instanceId: item.instanceId, reasonCode: item.reasonCode };
    await items.update(itemId, { status: IngestItemStatus.Processing, attempts: item.attempts + 1 });

    const raw = await this.blobs.getBuffer(item.rawBlobKey);
    let prepared: PreparedInstance;
    try {
      prepared = this.prepare(raw);
    } catch (e) {
      if (e instanceof DicomRejection) return this.quarantine(item, e.code, e.message);
      throw e;
    }
    const stored = await this.blobs.put(prepared.bytes);
    const sourceHash = createHash('sha256').update(raw).digest('hex');
    const outcome = await this.dataSource.transaction((m) => this.index(m, item, prepared, stored, sourceHash));
    if (outcome.status !== IngestItemStatus.Quarantined) await this.dropRawIfUnused(item);
    return outcome;
  }

  /** Parse and check one file. Issue #3 adds de-identification and the full quality checks here. */
  private prepare(raw: Buffer): PreparedInstance {
    const parsed = readDicom(raw);
    return { parsed, bytes: raw, flags: [] };
  }

  private async index(m: EntityManager, item: IngestItem, p: PreparedInstance, stored: { key: string; size: number }, sourceHash: string): Promise<IngestOutcome> {
    const d = p.parsed.dataset;
    const projectId = item.projectId;
    const patientId = await this.upsertId(
      m,
      `INSERT INTO patients (project_id, pseudonym, sex, age) VALUES ($1, $2, $3, $4)
       ON CONFLICT (project_id, pseudonym) DO UPDATE SET pseudonym = EXCLUDED.pseudonym RETURNING id`,
      [projectId, String(d.PatientID ?? 'UNKNOWN'), d.PatientSex ?? null, d.PatientAge ?? null],
    );
    const studyId = await this.upsertId(
      m,
      `INSERT INTO studies (project_id, patient_id, study_instance_uid, study_date, description) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (project_id, study_instance_uid) DO UPDATE SET study_instance_uid = EXCLUDED.study_instance_uid RETURNING id`,
      [projectId, patientId, p.parsed.studyInstanceUid, d.StudyDate ?? null, d.StudyDescription ?? ''],
    );
    const seriesId = await this.upsertId(
      m,
      `INSERT INTO series (project_id, study_id, series_instance_uid, modality, description, body_part, series_number, frame_of_reference_uid)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (project_id, series_instance_uid) DO UPDATE SET series_instance_uid = EXCLUDED.series_instance_uid RETURNING id`,
      [projectId, studyId, p.parsed.seriesInstanceUid, p.parsed.modality, d.SeriesDescription ?? '', d.BodyPartExamined ?? null, num(d.SeriesNumber), d.FrameOfReferenceUID ?? null],
    );
    const inserted: { id: string }[] = await m.query(
      `INSERT INTO instances (project_id, series_id, sop_instance_uid, sop_class_uid, transfer_syntax_uid, instance_number, rows, columns,
         number_of_frames, image_position, image_orientation, pixel_spacing, blob_key, size_bytes, source_hash, flags)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       ON CONFLICT (project_id, sop_instance_uid) DO NOTHING RETURNING id`,
      [
        projectId,
        seriesId,
        p.parsed.sopInstanceUid,
        p.parsed.sopClassUid,
        p.parsed.transferSyntaxUid,
        num(d.InstanceNumber),
        num(d.Rows),
        num(d.Columns),
        num(d.NumberOfFrames) ?? 1,
        nums(d.ImagePositionPatient),
        nums(d.ImageOrientationPatient),
        nums(d.PixelSpacing),
        stored.key,
        stored.size,
        sourceHash,
        p.flags,
      ],
    );
    let status = IngestItemStatus.Stored;
    let instanceId: string;
    if (inserted.length) {
      instanceId = inserted[0].id;
      await this.audit.record(actor, { action: 'instance.stored', objectType: 'instance', objectId: instanceId, projectId, details: { itemId: item.id, seriesId } }, m);
    } else {
      const existing = await m.findOneByOrFail(Instance, { projectId, sopInstanceUid: p.parsed.sopInstanceUid });
      instanceId = existing.id;
      if (existing.sourceHash !== sourceHash) {
        return this.quarantine(
          item,
          'conflicting-duplicate',
          `An instance with the same SOP Instance UID but different content is already stored (instance ${existing.id}): the sender reused a UID; check the source before re-processing`,
          m,
        );
      }
      status = IngestItemStatus.Duplicate;
    }
    await m.update(IngestItem, item.id, { status, instanceId, reasonCode: null, reason: null });
    await this.audit.record(actor, { action: `ingest.item.${status}`, objectType: 'ingest_item', objectId: item.id, projectId, details: { instanceId } }, m);
    return { itemId: item.id, status, instanceId };
  }

  private async upsertId(m: EntityManager, sql: string, params: unknown[]): Promise<string> {
    const rows: { id: string }[] = await m.query(sql, params);
    return rows[0].id;
  }

  async quarantine(item: IngestItem, code: string, reason: string, m: EntityManager = this.dataSource.manager): Promise<IngestOutcome> {
    await m.update(IngestItem, item.id, { status: IngestItemStatus.Quarantined, reasonCode: code, reason, instanceId: null });
    await this.audit.record(actor, { action: 'ingest.item.quarantined', objectType: 'ingest_item', objectId: item.id, projectId: item.projectId, details: { code, reason, fileName: item.fileName } }, m);
    this.logger.warn({ itemId: item.id, code, fileName: item.fileName }, 'quarantined');
    return { itemId: item.id, status: IngestItemStatus.Quarantined, reasonCode: code };
  }

  /** The received file holds identifying data: keep it only while some item still needs it. */
  private async dropRawIfUnused(item: IngestItem) {
    const stillNeeded =
      (await this.dataSource.getRepository(IngestItem).exists({
        where: { rawBlobKey: item.rawBlobKey, id: Not(item.id), status: In([IngestItemStatus.Queued, IngestItemStatus.Processing, IngestItemStatus.Quarantined]) },
      })) ||
      // A file that needed no change is stored under the same content key as the received one.
      (await this.dataSource.getRepository(Instance).existsBy({ blobKey: item.rawBlobKey }));
    if (!stillNeeded) await this.blobs.delete(item.rawBlobKey);
  }
}
