// NIfTI volumes (.nii, .nii.gz) as series of their own: one patient, study and series per file (or per the
// uploader's `subject`), the affine kept as the geometry, the header's free-text fields cleared (they can hold
// names), the volume stored as a re-written .nii.gz. The file name (which often names the patient) stays with the
// upload item, which only managers see: study and series are described as "NIfTI volume".
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService, systemActor } from '@contour/audit';
import { IngestBatch, IngestItem, IngestItemStatus } from '@contour/db';
import { syntheticUid } from '@contour/dicom';
import { JobName, JobQueue } from '@contour/queue';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { determinant3, readNifti, writeNifti } from '@contour/volume';
import { ProjectSettings } from '@contour/workflow';
import type { IngestOutcome } from './ingest-pipeline.service';

const actor = systemActor('ingest');

export function looksLikeNifti(fileName: string, raw: Buffer): boolean {
  if (/\.nii(\.gz)?$/i.test(fileName)) return true;
  if (raw.length >= 348 && raw.toString('latin1', 344, 347) === 'n+1') return true;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      const head = gunzipSync(raw.subarray(0, Math.min(raw.length, 65536)), { finishFlush: 2 });
      return head.length >= 348 && head.toString('latin1', 344, 347) === 'n+1';
    } catch {
      return false;
    }
  }
  return false;
}

@Injectable()
export class NiftiIngest {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
  ) {}

  async ingest(item: IngestItem, raw: Buffer, settings: ProjectSettings, quarantine: (code: string, reason: string) => Promise<IngestOutcome>): Promise<IngestOutcome> {
    let image;
    try {
      image = readNifti(raw);
    } catch (e) {
      return quarantine('corrupt-nifti', `The file is named like a NIfTI volume but cannot be read (${(e as Error).message}): check it opens in a viewer and upload it again`);
    }
    const dims = image.dims.slice(0, 3) as [number, number, number];
    if (image.dims.length > 3 && image.dims.slice(3).some((d) => d > 1)) {
      return quarantine('unsupported-nifti', `The volume is ${image.dims.join('x')} (4D or more): upload one 3D volume per file`);
    }
    // A voxel size of zero or two axes along one direction: no position can be given to a voxel, and nothing can be
    // written (it failed five times as a temporary error, then asked an admin to re-process a file that cannot change).
    if (Math.abs(determinant3(image.affine)) < 1e-12) {
      const sizes = [0, 1, 2].map((c) => Math.hypot(image.affine[0][c], image.affine[1][c], image.affine[2][c]));
      return quarantine('corrupt-nifti', `The volume's affine (sform/qform) is singular (voxel sizes ${sizes.map((v) => +v.toFixed(4)).join(' x ')} mm, or two axes along one direction), so its voxels have no position: fix the header's geometry in the tool that wrote it and upload it again`);
    }
    const batch = await this.dataSource.getRepository(IngestBatch).findOneByOrFail({ id: item.batchId });
    const modality = (batch.hints?.modality ?? settings.expectedModalities[0] ?? 'MR').toUpperCase();
    if (settings.expectedModalities.length && !settings.expectedModalities.includes(modality)) {
      return quarantine('unexpected-modality', `The volume was uploaded as ${modality} but this project expects ${settings.expectedModalities.join(', ')}: upload it with modality=${settings.expectedModalities[0]}`);
    }
    const hash = createHash('sha256').update(raw).digest('hex');
    const subject = batch.hints?.subject ?? `NIFTI-${hash.slice(0, 10).toUpperCase()}`;
    const cleaned = writeNifti({ dims, affineRas: image.affine, data: image.data, description: 'Contour', sclSlope: image.sclSlope, sclInter: image.sclInter, gzip: true });
    const stored = await this.blobs.put(cleaned);
    const spacing = [0, 1, 2].map((c) => Math.hypot(image.affine[0][c], image.affine[1][c], image.affine[2][c])) as [number, number, number];
    const affineLps = image.affine.map((row, r) => (r < 2 ? row.map((v) => -v) : [...row]));
    const geometry = { kind: 'volume', dims, spacing, affineRas: image.affine, affineLps, order: [], issues: [] };
    const studyUid = syntheticUid(`nifti/${item.projectId}/${subject}/${hash}/study`);
    const seriesUid = syntheticUid(`nifti/${item.projectId}/${subject}/${hash}/series`);
    const { outcome, splitStudyId, seriesId } = await this.dataSource.transaction(async (m) => {
      const [patient] = await m.query(
        `INSERT INTO patients (project_id, pseudonym) VALUES ($1, $2) ON CONFLICT (project_id, pseudonym) DO UPDATE SET pseudonym = EXCLUDED.pseudonym RETURNING id`,
        [item.projectId, subject],
      );
      const [study] = await m.query(
        `INSERT INTO studies (project_id, patient_id, study_instance_uid, description) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, study_instance_uid) DO UPDATE SET description = EXCLUDED.description RETURNING id`,
        [item.projectId, patient.id, studyUid, 'NIfTI volume'],
      );
      const inserted: { id: string }[] = await m.query(
        `INSERT INTO series (project_id, study_id, series_instance_uid, modality, description, source, qc_status, geometry, volume_blob_key)
         VALUES ($1, $2, $3, $4, $5, 'nifti', 'ok', $6, $7) ON CONFLICT (project_id, series_instance_uid) DO NOTHING RETURNING id`,
        [item.projectId, study.id, seriesUid, modality, 'NIfTI volume', JSON.stringify(geometry), stored.key],
      );
      const status = inserted.length ? IngestItemStatus.Stored : IngestItemStatus.Duplicate;
      await m.update(IngestItem, item.id, { status, reasonCode: null, reason: null });
      await this.audit.record(actor, { action: `ingest.item.${status}`, objectType: 'ingest_item', objectId: item.id, projectId: item.projectId, details: { nifti: true, dims, seriesUid } }, m);
      return { outcome: { itemId: item.id, status }, splitStudyId: inserted.length ? (study.id as string) : null, seriesId: inserted[0]?.id as string | undefined };
    });
    // Only once the series is committed: a split job that ran before would find nothing to split.
    if (splitStudyId) await this.jobs.add(JobName.SplitStudy, { studyId: splitStudyId }, { jobId: `split-nifti-${seriesId}` });
    return outcome;
  }
}
