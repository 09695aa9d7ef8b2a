// The processing side of ingest (worker process): parse -> de-identify -> check -> store -> index, one received
// file per job. Idempotent: a redelivered job for a finished item does nothing; one for an item whose worker
// died half-way redoes the work, and the unique keys make sure each instance is stored exactly once.
import { createHash } from 'node:crypto';
import * as dcmjs from 'dcmjs';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Not } from 'typeorm';
import { AuditService, systemActor } from '@contour/audit';
import { IngestItem, IngestItemStatus, Instance, Project } from '@contour/db';
import { combineSummaries, deidentify, DeidResult, mergeReports } from '@contour/deid';
import { DicomRejection, ParsedDicom, readDicom, writePreservingPixelData } from '@contour/dicom';
import { JobName, JobQueue, TerminalJobError } from '@contour/queue';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { decodeFrames, InstanceGeometry, instanceGeometryFromDicom, PixelDecodeError } from '@contour/volume';
import { parseProjectSettings, ProjectSettings } from '@contour/workflow';
import { DeploymentSecret } from './deployment-secret.service';
import { looksLikeNifti, NiftiIngest } from './nifti-ingest.service';

const FINAL = [IngestItemStatus.Stored, IngestItemStatus.Duplicate, IngestItemStatus.Quarantined];
export const GEOMETRY_DEBOUNCE_MS = 2000;

/** PostgreSQL's jsonb refuses \u0000, which broken files put in strings: drop it. */
const withoutNul = <T>(value: T): T => JSON.parse(JSON.stringify(value).replace(/\\u0000/g, ''));

/** View of a mammogram or similar projection image, e.g. "L-CC", for linking views of one body part. */
function viewOf(d: Record<string, any>): string | null {
  const laterality = d.ImageLaterality ?? d.Laterality;
  const view = d.ViewPosition;
  return typeof laterality === 'string' && laterality && typeof view === 'string' && view ? `${laterality}-${view}` : null;
}
const actor = systemActor('ingest');

export interface IngestOutcome {
  itemId: string;
  status: IngestItemStatus;
  instanceId?: string | null;
  reasonCode?: string | null;
}

/** What gets written for one accepted instance: the de-identified file and what it is made of. */
interface PreparedInstance {
  /** The received file, parsed (identifying values still in it: never stored). */
  parsed: ParsedDicom;
  /** The de-identified file, parsed view. */
  deid: DeidResult;
  deidDataset: Record<string, any>;
  bytes: Buffer;
  flags: string[];
  geometry: InstanceGeometry | null;
}

// SOP classes without pixel data that Contour still keeps (reports, structures, waveforms): not images.
const NON_IMAGE_SOP_PREFIXES = ['1.2.840.10008.5.1.4.1.1.88.', '1.2.840.10008.5.1.4.1.1.481.3', '1.2.840.10008.5.1.4.1.1.9.', '1.2.840.10008.5.1.4.1.1.11.', '1.2.840.10008.5.1.4.1.1.104.', '1.2.840.10008.5.1.4.1.1.481.', '1.2.840.10008.5.1.4.1.1.66', '1.2.840.10008.5.1.4.1.1.67'];
const isNonImage = (sopClassUid: string) => NON_IMAGE_SOP_PREFIXES.some((p) => sopClassUid.startsWith(p) && !sopClassUid.startsWith('1.2.840.10008.5.1.4.1.1.66.4'));

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
    private readonly secret: DeploymentSecret,
    private readonly jobs: JobQueue,
    private readonly nifti: NiftiIngest,
  ) {}

  async process(itemId: string): Promise<IngestOutcome> {
    const items = this.dataSource.getRepository(IngestItem);
    const item = await items.findOneBy({ id: itemId });
    if (!item) throw new TerminalJobError(`Ingest item ${itemId} does not exist (deleted with its project?)`);
    if (FINAL.includes(item.status)) return { itemId, status: item.status, instanceId: item.instanceId, reasonCode: item.reasonCode };
    await items.update(itemId, { status: IngestItemStatus.Processing, attempts: item.attempts + 1 });

    const raw = await this.blobs.getBuffer(item.rawBlobKey);
    const project = await this.dataSource.getRepository(Project).findOneBy({ id: item.projectId });
    if (!project) throw new TerminalJobError(`Project ${item.projectId} no longer exists`);
    if (looksLikeNifti(item.fileName, raw)) {
      const outcome = await this.nifti.ingest(item, raw, parseProjectSettings(project.settings), (code, reason) => this.quarantine(item, code, reason));
      if (outcome.status !== IngestItemStatus.Quarantined) await this.dropRawIfUnused(item);
      return outcome;
    }
    let prepared: PreparedInstance;
    try {
      prepared = await this.prepare(raw, parseProjectSettings(project.settings), await this.secret.get());
    } catch (e) {
      if (e instanceof DicomRejection) return this.quarantine(item, e.code, e.message);
      if (e instanceof PixelDecodeError) return this.quarantine(item, e.code, e.message);
      // prepare() only reads the bytes it was given: any other failure there is the file's, and retrying
      // would fail the same way. Quarantine it with what went wrong rather than retry or lose it.
      return this.quarantine(item, 'unreadable', `Contour could not read this file (${(e as Error).message}); it may be damaged or use a DICOM feature Contour does not support. An admin can download it from the quarantine.`);
    }
    const stored = await this.blobs.put(prepared.bytes);
    const sourceHash = createHash('sha256').update(raw).digest('hex');
    const { seriesId, ...outcome } = await this.dataSource.transaction((m) => this.index(m, item, prepared, stored, sourceHash));
    if (outcome.status === IngestItemStatus.Stored && seriesId) {
      // After the commit, so the geometry job sees this instance. Debounced: the geometry of a series is
      // (re)built once its instances stop arriving for a moment.
      await this.jobs.add(JobName.SeriesGeometry, { seriesId }, { delay: GEOMETRY_DEBOUNCE_MS, deduplication: { id: `geometry-${seriesId}`, ttl: GEOMETRY_DEBOUNCE_MS, extend: true, replace: true } });
    }
    if (outcome.status !== IngestItemStatus.Quarantined) await this.dropRawIfUnused(item);
    return outcome;
  }

  /** Parse, check and de-identify one file. Throws DicomRejection / PixelDecodeError for quarantine. */
  private async prepare(raw: Buffer, settings: ProjectSettings, secret: string): Promise<PreparedInstance> {
    const parsed = readDicom(raw);
    if (settings.expectedModalities.length && !settings.expectedModalities.includes(parsed.modality.toUpperCase())) {
      throw new DicomRejection('unexpected-modality', `The image is ${parsed.modality} but this project expects ${settings.expectedModalities.join(', ')}: send it to another project, or add ${parsed.modality} to the project's expected modalities and re-process`);
    }
    let geometry: InstanceGeometry | null = null;
    if (!isNonImage(parsed.sopClassUid)) {
      if (!parsed.dataset.PixelData && !parsed.dataset.FloatPixelData && !parsed.dataset.DoubleFloatPixelData) {
        throw new DicomRejection('missing-pixel-data', 'The file is an image object without pixel data (7FE0,0010): it was probably exported with "metadata only"; export it again with the images');
      }
      // Decoding proves the pixel data is complete and in a transfer syntax Contour can read.
      await decodeFrames({ buffer: raw, parsed }, { untileMosaic: false });
      geometry = instanceGeometryFromDicom(parsed);
    }
    const deid = deidentify(parsed.dict, settings.deid, { secret });
    const bytes = writePreservingPixelData(deid.dict, raw, parsed.transferSyntaxUid);
    const deidDataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(deid.dict.dict);
    return { parsed, deid, deidDataset, bytes, flags: deid.flags, geometry };
  }

  private async index(m: EntityManager, item: IngestItem, p: PreparedInstance, stored: { key: string; size: number }, sourceHash: string): Promise<IngestOutcome & { seriesId?: string }> {
    const d = p.deidDataset;
    const projectId = item.projectId;
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
    const patientId = await this.upsertId(
      m,
      `INSERT INTO patients (project_id, pseudonym, sex, age) VALUES ($1, $2, $3, $4)
       ON CONFLICT (project_id, pseudonym) DO UPDATE SET sex = COALESCE(patients.sex, EXCLUDED.sex), age = COALESCE(patients.age, EXCLUDED.age) RETURNING id`,
      [projectId, p.deid.pseudonym, text(d.PatientSex), text(d.PatientAge)],
    );
    const studyUid = String(d.StudyInstanceUID);
    const seriesUid = String(d.SeriesInstanceUID);
    const sopUid = String(d.SOPInstanceUID);
    const summary = mergeReports([p.deid.report]);
    const [study]: { id: string; deid_report: Record<string, unknown> }[] = await m.query(
      `INSERT INTO studies (project_id, patient_id, study_instance_uid, study_date, description) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (project_id, study_instance_uid) DO UPDATE SET study_instance_uid = EXCLUDED.study_instance_uid RETURNING id, deid_report`,
      [projectId, patientId, studyUid, text(d.StudyDate), text(d.StudyDescription) ?? ''],
    );
    const studyId = study.id;
    const seriesId = await this.upsertId(
      m,
      `INSERT INTO series (project_id, study_id, series_instance_uid, modality, description, body_part, series_number, frame_of_reference_uid)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (project_id, series_instance_uid) DO UPDATE SET series_instance_uid = EXCLUDED.series_instance_uid RETURNING id`,
      [projectId, studyId, seriesUid, p.parsed.modality, text(d.SeriesDescription) ?? '', text(d.BodyPartExamined), num(d.SeriesNumber), text(d.FrameOfReferenceUID)],
    );
    const inserted: { id: string }[] = await m.query(
      `INSERT INTO instances (project_id, series_id, sop_instance_uid, sop_class_uid, transfer_syntax_uid, instance_number, rows, columns,
         number_of_frames, image_position, image_orientation, pixel_spacing, blob_key, size_bytes, source_hash, flags, attributes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (project_id, sop_instance_uid) DO NOTHING RETURNING id`,
      [
        projectId,
        seriesId,
        sopUid,
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
        withoutNul({ geometry: p.geometry, view: viewOf(d) }),
      ],
    );
    let status = IngestItemStatus.Stored;
    let instanceId: string;
    if (inserted.length) {
      instanceId = inserted[0].id;
      await this.audit.record(actor, { action: 'instance.stored', objectType: 'instance', objectId: instanceId, projectId, details: { itemId: item.id, seriesId, flags: p.flags } }, m);
      // The study's de-identification report grows with each instance (row locked by the upsert above).
      await m.query(`UPDATE studies SET deid_report = $2 WHERE id = $1`, [studyId, combineSummaries(study.deid_report as never, summary)]);
      await this.recordReidKeys(m, projectId, p, { patient: p.deid.pseudonym, study: studyUid, series: seriesUid, instance: sopUid });
    } else {
      const existing = await m.findOneByOrFail(Instance, { projectId, sopInstanceUid: sopUid });
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
    return { itemId: item.id, status, instanceId, seriesId };
  }

  /** The re-identification key: original identifiers behind each de-identified value, kept apart from the images. */
  private async recordReidKeys(m: EntityManager, projectId: string, p: PreparedInstance, values: { patient: string; study: string; series: string; instance: string }) {
    const o = p.deid.originals;
    const rows: [string, string, Record<string, unknown>][] = [
      ['patient', values.patient, { PatientName: o.PatientName, PatientID: o.PatientID, IssuerOfPatientID: o.IssuerOfPatientID, PatientBirthDate: o.PatientBirthDate, dateShiftDays: p.deid.dateShiftDays }],
      ['study', values.study, { StudyInstanceUID: o.StudyInstanceUID, AccessionNumber: o.AccessionNumber, InstitutionName: o.InstitutionName, StudyDate: p.parsed.dataset.StudyDate ?? null }],
      ['series', values.series, { SeriesInstanceUID: o.SeriesInstanceUID }],
      ['instance', values.instance, { SOPInstanceUID: o.SOPInstanceUID }],
    ];
    await m.query(
      `INSERT INTO reid_keys (project_id, kind, deid_value, original) SELECT $1, k, v, o::jsonb FROM unnest($2::text[], $3::text[], $4::text[]) AS t(k, v, o)
       ON CONFLICT (project_id, kind, deid_value) DO NOTHING`,
      [projectId, rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => JSON.stringify(r[2]))],
    );
  }

  private async upsertId(m: EntityManager, sql: string, params: unknown[]): Promise<string> {
    const rows: { id: string }[] = await m.query(sql, params);
    return rows[0].id;
  }

  async quarantineById(itemId: string, code: string, reason: string): Promise<IngestOutcome> {
    const item = await this.dataSource.getRepository(IngestItem).findOneBy({ id: itemId });
    if (!item) return { itemId, status: IngestItemStatus.Quarantined, reasonCode: code };
    return this.quarantine(item, code, reason);
  }

  async quarantine(item: IngestItem, code: string, rawReason: string, m: EntityManager = this.dataSource.manager): Promise<IngestOutcome> {
    // Reasons may quote bytes of a broken file; PostgreSQL text cannot hold NUL or other control characters.
    const reason = rawReason.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '?');
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
