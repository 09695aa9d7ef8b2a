// The processing side of ingest (worker process): parse -> de-identify -> check -> store -> index, one received
// file per job. Idempotent: a redelivered job for a finished item does nothing; one for an item whose worker
// died half-way redoes the work, and the unique keys make sure each instance is stored exactly once.
import { randomUUID } from 'node:crypto';
import * as dcmjs from 'dcmjs';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService, systemActor } from '@contour/audit';
import { entityOf, IngestItem, IngestItemStatus, Instance, preparedQuery, Project } from '@contour/db';
import { deidentify, DeidResult, mergeReports } from '@contour/deid';
import { rawBlobLockIds } from './raw-blob-lock';
import { DicomRejection, ParsedDicom, readDicom, storedTransferSyntax, withoutQuotedValues, writePreservingPixelData } from '@contour/dicom';
import { JobName, JobQueue, TerminalJobError } from '@contour/queue';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { decodeFrames, InstanceGeometry, instanceGeometryFromDicom, PixelDecodeError, sameDicomContent } from '@contour/volume';
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

// Found-or-created rows: INSERT ... ON CONFLICT DO NOTHING takes no lock on an existing row (DO UPDATE would,
// and every instance of a series would then queue behind the others). The plain SELECT after it reads the
// statement's snapshot: a row another transaction committed meanwhile is missed, and the caller runs the
// statement again. Every later step depends on the instance row being inserted (`ins`).
const INDEX_SQL = `
WITH pi AS (
  INSERT INTO patients (project_id, pseudonym, sex, age) VALUES ($1, $2, $3, $4)
  ON CONFLICT (project_id, pseudonym) DO NOTHING RETURNING id
), pat AS (
  SELECT id FROM pi UNION ALL SELECT id FROM patients WHERE project_id = $1 AND pseudonym = $2 LIMIT 1
), pfill AS (
  -- A patient first seen without sex or age gets them from a later instance (locks the row only then).
  UPDATE patients SET sex = COALESCE(sex, $3), age = COALESCE(age, $4)
   WHERE id = (SELECT id FROM pat) AND NOT EXISTS (SELECT 1 FROM pi)
     AND ((sex IS NULL AND $3::text IS NOT NULL) OR (age IS NULL AND $4::text IS NOT NULL))
), sti AS (
  INSERT INTO studies (project_id, patient_id, study_instance_uid, study_date, description)
  SELECT $1, pat.id, $5, $6, $7 FROM pat
  ON CONFLICT (project_id, study_instance_uid) DO NOTHING RETURNING id
), st AS (
  SELECT id FROM sti UNION ALL SELECT id FROM studies WHERE project_id = $1 AND study_instance_uid = $5 LIMIT 1
), sei AS (
  INSERT INTO series (project_id, study_id, series_instance_uid, modality, description, body_part, series_number, frame_of_reference_uid)
  SELECT $1, st.id, $8, $9, $10, $11, $12, $13 FROM st
  ON CONFLICT (project_id, series_instance_uid) DO NOTHING RETURNING id
), se AS (
  SELECT id FROM sei UNION ALL SELECT id FROM series WHERE project_id = $1 AND series_instance_uid = $8 LIMIT 1
), ins AS (
  INSERT INTO instances (id, project_id, series_id, sop_instance_uid, sop_class_uid, transfer_syntax_uid, instance_number, rows, columns,
                         number_of_frames, image_position, image_orientation, pixel_spacing, blob_key, size_bytes, source_hash, flags, attributes)
  SELECT $14, $1, se.id, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29 FROM se
  ON CONFLICT (project_id, sop_instance_uid) DO NOTHING RETURNING id, series_id
), reid AS (
  INSERT INTO reid_keys (project_id, kind, deid_value, original)
  SELECT $1, k, v, o::jsonb FROM unnest($31::text[], $32::text[], $33::text[]) AS t(k, v, o) WHERE EXISTS (SELECT 1 FROM ins)
  ON CONFLICT (project_id, kind, deid_value) DO NOTHING
), item AS (
  UPDATE ingest_items SET status = 'stored', instance_id = $14, reason_code = NULL, reason = NULL, updated_at = now()
   WHERE id = $30 AND EXISTS (SELECT 1 FROM ins)
), audit AS (
  INSERT INTO audit_events (actor_id, actor_name, ip, action, object_type, object_id, project_id, details)
  SELECT NULL, $34, NULL, a.action, a.object_type, a.object_id, $1, a.details
    FROM ins, (VALUES
      (1, 'instance.stored', 'instance', $14::text, jsonb_build_object('itemId', $30::text, 'seriesId', (SELECT series_id FROM ins), 'flags', $35::jsonb)),
      (2, 'ingest.item.stored', 'ingest_item', $30::text, jsonb_build_object('instanceId', $14::text))
    ) AS a(n, action, object_type, object_id, details)
   ORDER BY a.n
)
SELECT (SELECT id FROM ins) AS instance_id, (SELECT id FROM se) AS series_id`;

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

/**
 * Which of the content keys $1 are still needed: by an item other than $2 in a state of $3, or stored unchanged as an
 * instance. Both through the key's index (without them, each key scanned both tables: 1.2 s per job of 8 files with
 * 400,000 instances).
 */
export const RAWS_NEEDED_SQL = `SELECT k.key FROM unnest($1::text[]) AS k(key)
  WHERE EXISTS (SELECT 1 FROM ingest_items WHERE raw_blob_key = k.key AND id <> ALL($2::uuid[]) AND status = ANY($3::text[]))
     OR EXISTS (SELECT 1 FROM instances WHERE blob_key = k.key)`;

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

  /**
   * Processes one received file. What is left once it is stored (its received file to delete, its series' geometry
   * to check) goes into `after` when given, for `finish` to do once for a whole job's files (a few statements instead
   * of a few per file); without it, it is done before this returns.
   */
  async process(itemId: string, after?: IngestAftercare): Promise<IngestOutcome> {
    const own = after ?? newAftercare();
    const outcome = await this.processOne(itemId, own);
    if (!after) await this.finish(own);
    return outcome;
  }

  /** The work `process` left in `after`: the series' geometry jobs queued, the received files no longer needed deleted. */
  async finish(after: IngestAftercare): Promise<void> {
    for (const seriesId of after.series) {
      // After the commit, so the geometry job sees this instance. Debounced: the geometry of a series is
      // (re)built once its instances stop arriving for a moment.
      await this.jobs.add(JobName.SeriesGeometry, { seriesId }, { delay: GEOMETRY_DEBOUNCE_MS, deduplication: { id: `geometry-${seriesId}`, ttl: GEOMETRY_DEBOUNCE_MS, extend: true, replace: true } });
    }
    after.series.clear();
    if (after.raws.length) await this.dropRawsIfUnused(after.raws.splice(0));
  }

  private async processOne(itemId: string, after: IngestAftercare): Promise<IngestOutcome> {
    // The item marked as being processed, with its project's settings: one statement (this runs for every file).
    const [started] = await preparedQuery<{ item: Record<string, unknown>; settings: Project['settings'] }>(
      this.dataSource,
      'ingest-start-item',
      `UPDATE ingest_items i SET status = $3, attempts = i.attempts + 1, updated_at = now() FROM projects p
        WHERE i.id = $1 AND p.id = i.project_id AND i.status <> ALL($2::text[])
        RETURNING row_to_json(i) AS item, p.settings`,
      [itemId, FINAL, IngestItemStatus.Processing],
    );
    if (!started) {
      const done = await this.dataSource.getRepository(IngestItem).findOneBy({ id: itemId });
      if (!done) throw new TerminalJobError(`Ingest item ${itemId} does not exist (deleted with its project?)`);
      if (FINAL.includes(done.status)) {
        // Done before (a redelivered job): what a crash may have kept its job from finishing is finished now (its
        // received file deleted, its series checked).
        if (done.status !== IngestItemStatus.Quarantined) after.raws.push(done);
        if (done.status === IngestItemStatus.Stored && done.instanceId) {
          const instance = await this.dataSource.getRepository(Instance).findOne({ where: { id: done.instanceId }, select: { seriesId: true } });
          if (instance) after.series.add(instance.seriesId);
        }
        return { itemId, status: done.status, instanceId: done.instanceId, reasonCode: done.reasonCode };
      }
      throw new TerminalJobError(`Project ${done.projectId} no longer exists`);
    }
    const item = entityOf<IngestItem>(started.item);
    const settings = parseProjectSettings(started.settings);

    const raw = await this.blobs.getBuffer(item.rawBlobKey);
    if (looksLikeNifti(item.fileName, raw)) {
      const outcome = await this.nifti.ingest(item, raw, settings, (code, reason) => this.quarantine(item, code, reason));
      if (outcome.status !== IngestItemStatus.Quarantined) after.raws.push(item);
      return outcome;
    }
    let prepared: PreparedInstance;
    try {
      prepared = await this.prepare(raw, settings, await this.secret.get());
    } catch (e) {
      if (e instanceof DicomRejection) return this.quarantine(item, e.code, e.message);
      if (e instanceof PixelDecodeError) return this.quarantine(item, e.code, e.message);
      // prepare() only reads the bytes it was given: any other failure there is the file's, and retrying
      // would fail the same way. Quarantine it with what went wrong rather than retry or lose it.
      return this.quarantine(item, 'unreadable', `Contour could not read this file (${withoutQuotedValues((e as Error).message)}); it may be damaged or use a DICOM feature Contour does not support. An admin can download it from the quarantine.`);
    }
    const stored = await this.blobs.put(prepared.bytes);
    // Blob keys are the SHA-256 of the content: the received file's key is its hash.
    const sourceHash = item.rawBlobKey;
    const { seriesId, ...outcome } = await this.index(item, prepared, stored, sourceHash);
    if (outcome.status === IngestItemStatus.Stored && seriesId) after.series.add(seriesId);
    if (outcome.status !== IngestItemStatus.Quarantined) after.raws.push(item);
    return outcome;
  }

  /** Parse, check and de-identify one file. Throws DicomRejection / PixelDecodeError for quarantine. */
  private async prepare(raw: Buffer, settings: ProjectSettings, secret: string): Promise<PreparedInstance> {
    const parsed = readDicom(raw);
    const image = !isNonImage(parsed.sopClassUid);
    // What is wrong with the file itself comes first: told only that the modality is unexpected, a manager who added
    // it and re-processed a truncated file would be told something new the second time.
    if (image) {
      if (!parsed.dataset.PixelData && !parsed.dataset.FloatPixelData && !parsed.dataset.DoubleFloatPixelData) {
        throw new DicomRejection('missing-pixel-data', 'The file is an image object without pixel data (7FE0,0010): it was probably exported with "metadata only"; export it again with the images');
      }
      // Decoding proves the pixel data is complete and in a transfer syntax Contour can read.
      await decodeFrames({ buffer: raw, parsed }, { untileMosaic: false });
    }
    if (settings.expectedModalities.length && !settings.expectedModalities.includes(parsed.modality.toUpperCase())) {
      throw new DicomRejection('unexpected-modality', `The image is ${parsed.modality} but this project expects ${settings.expectedModalities.join(', ')}: send it to another project, or add ${parsed.modality} to the project's expected modalities and re-process`);
    }
    const deid = deidentify(parsed.dict, settings.deid, { secret });
    const bytes = writePreservingPixelData(deid.dict, raw, parsed.transferSyntaxUid);
    const deidDataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(deid.dict.dict);
    // Named by the de-identified SOP Instance UID: the original (the record's default id) is kept in the
    // re-identification key only.
    const geometry = image ? instanceGeometryFromDicom(parsed, String(deidDataset.SOPInstanceUID)) : null;
    return { parsed, deid, deidDataset, bytes, flags: deid.flags, geometry };
  }

  /**
   * Indexes a stored instance in one statement: patient, study and series (found or created), the instance,
   * its re-identification keys, the item's new status and the two audit lines. Rows that already exist are
   * found, not updated, so instances of one series arriving together never wait on each other's row locks
   * (the study's de-identification report, which every instance used to update, is summed up by the geometry
   * job instead). A single statement is atomic without a transaction block, and is one round trip.
   */
  private async index(item: IngestItem, p: PreparedInstance, stored: { key: string; size: number }, sourceHash: string): Promise<IngestOutcome & { seriesId?: string }> {
    const d = p.deidDataset;
    const projectId = item.projectId;
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
    const studyUid = String(d.StudyInstanceUID);
    const seriesUid = String(d.SeriesInstanceUID);
    const sopUid = String(d.SOPInstanceUID);
    const instanceId = randomUUID();
    const o = p.deid.originals;
    const reid: [string, string, Record<string, unknown>][] = [
      ['patient', p.deid.pseudonym, { PatientName: o.PatientName, PatientID: o.PatientID, IssuerOfPatientID: o.IssuerOfPatientID, PatientBirthDate: o.PatientBirthDate, dateShiftDays: p.deid.dateShiftDays }],
      ['study', studyUid, { StudyInstanceUID: o.StudyInstanceUID, AccessionNumber: o.AccessionNumber, InstitutionName: o.InstitutionName, StudyDate: p.parsed.dataset.StudyDate ?? null }],
      ['series', seriesUid, { SeriesInstanceUID: o.SeriesInstanceUID }],
      ['instance', sopUid, { SOPInstanceUID: o.SOPInstanceUID }],
    ];
    const params = [
      projectId, // 1
      p.deid.pseudonym, // 2
      text(d.PatientSex), // 3
      text(d.PatientAge), // 4
      studyUid, // 5
      text(d.StudyDate), // 6
      text(d.StudyDescription) ?? '', // 7
      seriesUid, // 8
      p.parsed.modality, // 9
      text(d.SeriesDescription) ?? '', // 10
      text(d.BodyPartExamined), // 11
      num(d.SeriesNumber), // 12
      text(d.FrameOfReferenceUID), // 13
      instanceId, // 14
      sopUid, // 15
      p.parsed.sopClassUid, // 16
      storedTransferSyntax(p.parsed.transferSyntaxUid), // 17: the stored file's (a deflated file is stored inflated)
      num(d.InstanceNumber), // 18
      num(d.Rows), // 19
      num(d.Columns), // 20
      num(d.NumberOfFrames) ?? 1, // 21
      nums(d.ImagePositionPatient), // 22
      nums(d.ImageOrientationPatient), // 23
      nums(d.PixelSpacing), // 24
      stored.key, // 25
      stored.size, // 26
      sourceHash, // 27
      p.flags, // 28
      withoutNul({ geometry: p.geometry, view: viewOf(d), deid: mergeReports([p.deid.report]) }), // 29
      item.id, // 30
      reid.map((r) => r[0]), // 31
      reid.map((r) => r[1]), // 32
      reid.map((r) => JSON.stringify(r[2])), // 33
      actor.name, // 34
      JSON.stringify(p.flags), // 35
    ];
    for (let attempt = 1; ; attempt++) {
      // Prepared: a CTE of a dozen parts, planned once per connection instead of once per instance.
      const [row] = await preparedQuery<{ instance_id: string | null; series_id: string | null }>(this.dataSource, 'ingest-index', INDEX_SQL, params);
      if (row.instance_id) return { itemId: item.id, status: IngestItemStatus.Stored, instanceId: row.instance_id, seriesId: row.series_id! };
      if (row.series_id) break; // the SOP Instance UID is already stored: a duplicate, or a conflicting one
      // Another instance created the patient, study or series while this statement ran, after its snapshot:
      // the next statement sees it.
      if (attempt >= 3) throw new Error(`Could not index instance ${sopUid}: its series row was not visible after ${attempt} attempts`);
    }
    const first = await this.dataSource.getRepository(Instance).findOneByOrFail({ projectId, sopInstanceUid: sopUid });
    // The same content: the same received file, or the same de-identified object (what the file meta of each door
    // adds, such as the sending AE title, is not part of it), or the same attributes and pixels in another encoding (a
    // study uploaded compressed and pushed again uncompressed by a PACS, an RT structure set sent with implicit VRs
    // and uploaded with explicit ones). Only the pixels were compared: a copy for another patient or study was taken
    // for the same object and dropped, and an object without pixels was always a conflict.
    const same = first.sourceHash === sourceHash || first.blobKey === stored.key || (await sameDicomContent(await this.blobs.getBuffer(first.blobKey), p.bytes));
    const existing = first;
    return this.dataSource.transaction(async (m) => {
      if (!same) {
        return this.quarantine(
          item,
          'conflicting-duplicate',
          `An instance with the same SOP Instance UID but different content is already stored (instance ${existing.id}): the sender reused a UID; check the source before re-processing`,
          m,
        );
      }
      await m.update(IngestItem, item.id, { status: IngestItemStatus.Duplicate, instanceId: existing.id, reasonCode: null, reason: null });
      await this.audit.record(actor, { action: `ingest.item.${IngestItemStatus.Duplicate}`, objectType: 'ingest_item', objectId: item.id, projectId, details: { instanceId: existing.id } }, m);
      return { itemId: item.id, status: IngestItemStatus.Duplicate, instanceId: existing.id, seriesId: existing.seriesId };
    });
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

  /**
   * The received files hold identifying data: each is kept only while some other item still needs it. Checked and
   * deleted under their keys' advisory locks, which receivers share while they write the same content and commit its
   * item (raw-blob-lock.ts): a copy arriving now is either seen here or written again after the delete.
   */
  async dropRawsIfUnused(items: Pick<IngestItem, 'id' | 'rawBlobKey'>[]): Promise<void> {
    const keys = [...new Set(items.map((i) => i.rawBlobKey))];
    await this.dataSource.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k`, [rawBlobLockIds(keys)]);
      // Still needed by another item of the same file not yet done (or quarantined), or stored unchanged as an
      // instance (a file that needed no change has the same content key).
      const needed = await preparedQuery<{ key: string }>(m, 'ingest-raws-needed', RAWS_NEEDED_SQL, [
        keys,
        items.map((i) => i.id),
        [IngestItemStatus.Queued, IngestItemStatus.Processing, IngestItemStatus.Quarantined],
      ]);
      const keep = new Set(needed.map((r) => r.key));
      for (const key of keys) if (!keep.has(key)) await this.blobs.delete(key);
    });
  }
}

/** What `IngestPipeline.process` leaves for `finish`: received files that may be deleted, series to check. */
export interface IngestAftercare {
  raws: Pick<IngestItem, 'id' | 'rawBlobKey'>[];
  series: Set<string>;
}

export const newAftercare = (): IngestAftercare => ({ raws: [], series: new Set() });
