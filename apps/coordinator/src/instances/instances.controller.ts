import { Controller, Get, Inject, NotFoundException, Param, Query, Req, Res, StreamableFile, UnprocessableEntityException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AuditService } from '@contour/audit';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { Instance, ProjectRole } from '@contour/db';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { heldInstanceSql } from '@contour/deid';
import { SeriesNifti } from '@contour/prelabel';
import { PrivacyHold } from '../ingest/privacy-hold.service';

const uuid = { schema: z.uuid() };
const ListQuery = z.object({
  seriesId: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  offset: z.coerce.number().int().min(0).default(0),
});

/** The de-identified image data of a project, for any member. Every file read is audited. */
const VolumeQuery = z.object({ format: z.enum(['nii.gz', 'nii']).default('nii.gz') });

/**
 * A stored .nii.gz as the client asked: as is, or (`nii`) the uncompressed .nii carried by HTTP compression: the
 * .nii.gz goes out with Content-Encoding: gzip and the browser inflates it natively (far faster than inflating in
 * JavaScript); a client that does not accept gzip gets it inflated here.
 */
function niftiResponse(gz: Readable, length: number, name: string, format: 'nii' | 'nii.gz', req: Request, res: Response): StreamableFile {
  if (format === 'nii.gz') return new StreamableFile(gz, { type: 'application/octet-stream', length, disposition: `attachment; filename="${name}.nii.gz"` });
  const disposition = `attachment; filename="${name}.nii"`;
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Vary', 'Accept-Encoding');
    return new StreamableFile(gz, { type: 'application/octet-stream', length, disposition });
  }
  return new StreamableFile(gz.pipe(createGunzip()), { type: 'application/octet-stream', disposition });
}

@ApiTags('images')
@ApiBearerAuth()
@Controller('api/projects/:projectId')
export class InstancesController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly audit: AuditService,
    private readonly volumes: SeriesNifti,
    private readonly privacy: PrivacyHold,
  ) {}

  /**
   * The project's studies with their series and instance counts (de-identified UIDs and dates only). For a caller who
   * may not see images held for a privacy review (annotators, reviewers), those are not counted, and a study or series
   * that holds nothing else is not listed, as in QIDO-RS.
   */
  @Access({ project: { param: 'projectId' } })
  @Get('studies')
  async studies(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string) {
    const shown = `($2::text[] IS NULL OR NOT ${heldInstanceSql('i', 2)})`;
    return this.dataSource.query(
      `SELECT st.id, st.study_instance_uid AS "studyInstanceUid", st.study_date AS "studyDate", st.description, p.pseudonym AS "patientPseudonym",
              (SELECT count(*)::int FROM series se WHERE se.study_id = st.id
                  AND ($2::text[] IS NULL OR EXISTS (SELECT 1 FROM instances i WHERE i.series_id = se.id AND ${shown}))) AS "seriesCount",
              (SELECT count(*)::int FROM instances i JOIN series se ON se.id = i.series_id WHERE se.study_id = st.id AND ${shown}) AS "instanceCount"
         FROM studies st JOIN patients p ON p.id = st.patient_id
        WHERE st.project_id = $1
          AND ($2::text[] IS NULL OR EXISTS (SELECT 1 FROM instances i JOIN series se ON se.id = i.series_id WHERE se.study_id = st.id AND ${shown}))
        ORDER BY st.created_at`,
      [projectId, await this.privacy.hiddenFlags(p, projectId)],
    );
  }

  /**
   * A study's de-identification report: each attribute removed, replaced, emptied or kept, how many instances
   * it concerned, and why (the profile rule or the project's option). Summed from the instances' reports once
   * a series settles (the geometry job), so it can trail the newest instances by a few seconds. It names
   * attributes, never their original values; managers only, and each read is audited.
   */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get('studies/:studyId/deid-report')
  async deidReport(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('studyId', uuid) studyId: string) {
    const [study]: { deid_report: Record<string, unknown> }[] = await this.dataSource.query(`SELECT deid_report FROM studies WHERE id = $1 AND project_id = $2`, [studyId, projectId]);
    if (!study) throw new NotFoundException(`No study ${studyId} in this project`);
    await this.audit.record(actorOf(p), { action: 'study.deid-report.read', objectType: 'study', objectId: studyId, projectId });
    return study.deid_report;
  }

  /**
   * The project's series with their geometry check: `qcStatus` (ok, warning, failed) and `qcIssues` (code, message,
   * severity), so a series that failed its check (and so was not split into tasks) says why; `plane` (axial,
   * coronal, sagittal, oblique; null for a series without 3D geometry) and `viewGroup` (the series read together:
   * mammography views, MR/CT series of one body part in several planes; null when none).
   */
  @Access({ project: { param: 'projectId' } })
  @Get('series')
  async series(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string) {
    // Held images are left out of the counts of callers who may not see them, and a series of nothing else (studies()).
    return this.dataSource.query(
      `SELECT s.id, s.study_id AS "studyId", s.series_instance_uid AS "seriesInstanceUid", s.modality, s.description, s.body_part AS "bodyPart",
              s.series_number AS "seriesNumber", s.qc_status AS "qcStatus", s.qc_issues AS "qcIssues", s.geometry ->> 'plane' AS plane, s.view_group AS "viewGroup",
              count(i.id)::int AS "instanceCount"
         FROM series s LEFT JOIN instances i ON i.series_id = s.id AND ($2::text[] IS NULL OR NOT ${heldInstanceSql('i', 2)})
        WHERE s.project_id = $1
        GROUP BY s.id
       HAVING $2::text[] IS NULL OR count(i.id) > 0
        ORDER BY s.created_at`,
      [projectId, await this.privacy.hiddenFlags(p, projectId)],
    );
  }

  /**
   * The series as one NIfTI volume (.nii.gz), for the viewer and for scripts. Voxels are in Contour's volume
   * layout (i along the image rows' direction, j down the columns, k along the slice normal; masks of the
   * series' tasks use the same voxel order), the affine in NIfTI RAS. Built once from the stored
   * de-identified instances and cached. Every read is audited. `?format=nii` serves the uncompressed .nii
   * (through HTTP gzip when the client accepts it).
   */
  @Access({ project: { param: 'projectId' } })
  @Get('series/:seriesId/volume')
  async volume(
    @CurrentPrincipal() p: Principal,
    @Param('projectId', uuid) projectId: string,
    @Param('seriesId', uuid) seriesId: string,
    @Query({ schema: VolumeQuery }) q: z.infer<typeof VolumeQuery>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    await this.privacy.assertVisible(p, projectId, { seriesId });
    const key = await this.volumes.niftiOf(projectId, seriesId);
    await this.audit.record(actorOf(p), { action: 'series.volume.read', objectType: 'series', objectId: seriesId, projectId, details: { via: 'api' } });
    return niftiResponse(await this.blobs.get(key), await this.blobs.size(key), seriesId, q.format, req, res);
  }

  /**
   * One image (all its frames) as a NIfTI volume on its own grid: [columns, rows, frames], the pixel spacing on the
   * image axes. Image and frame-range tasks of a series that is not one volume (its geometry check failed: images
   * of different sizes, such as a PA and a lateral radiograph) are drawn on this; their masks use its voxel order.
   * Same formats and checks as the series volume; every read is audited.
   */
  @Access({ project: { param: 'projectId' } })
  @Get('instances/:instanceId/volume')
  async instanceVolume(
    @CurrentPrincipal() p: Principal,
    @Param('projectId', uuid) projectId: string,
    @Param('instanceId', uuid) instanceId: string,
    @Query({ schema: VolumeQuery }) q: z.infer<typeof VolumeQuery>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const instance = await this.dataSource.getRepository(Instance).findOneBy({ id: instanceId, projectId });
    if (!instance) throw new NotFoundException(`No instance ${instanceId} in this project`);
    if (!instance.rows || !instance.columns) throw new UnprocessableEntityException(`Instance ${instanceId} is not an image (SOP Class ${instance.sopClassUid}, no pixel data): it has no volume`);
    await this.privacy.assertVisible(p, projectId, { instanceId });
    const nifti = await this.volumes.instanceNifti(instanceId);
    await this.audit.record(actorOf(p), { action: 'instance.volume.read', objectType: 'instance', objectId: instanceId, projectId, details: { via: 'api' } });
    return niftiResponse(Readable.from([nifti]), nifti.length, instanceId, q.format, req, res);
  }

  /**
   * The project's instances (header summaries, no identifying values), by series and instance number. Annotators and
   * reviewers are not listed the images held for a privacy review or excluded after one (as in QIDO-RS).
   */
  @Access({ project: { param: 'projectId' } })
  @Get('instances')
  async instances(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Query({ schema: ListQuery }) q: z.infer<typeof ListQuery>) {
    const hidden = await this.privacy.hiddenFlags(p, projectId);
    const where = `i.project_id = $1 AND ($2::uuid IS NULL OR i.series_id = $2) AND ($3::text[] IS NULL OR NOT ${heldInstanceSql('i', 3)})`;
    const params = [projectId, q.seriesId ?? null, hidden];
    const [items, [{ total }]] = await Promise.all([
      this.dataSource.query(
        `SELECT i.id, i.series_id AS "seriesId", i.sop_instance_uid AS "sopInstanceUid", i.sop_class_uid AS "sopClassUid", i.transfer_syntax_uid AS "transferSyntaxUid",
                i.instance_number AS "instanceNumber", i.rows, i.columns, i.number_of_frames AS "numberOfFrames", i.size_bytes AS "sizeBytes", i.flags, i.created_at AS "createdAt"
           FROM instances i WHERE ${where} ORDER BY i.series_id, i.instance_number, i.created_at LIMIT $4 OFFSET $5`,
        [...params, q.limit, q.offset],
      ),
      this.dataSource.query(`SELECT count(*)::int AS total FROM instances i WHERE ${where}`, params),
    ]);
    return { total, items };
  }

  @Access({ project: { param: 'projectId' } })
  @Get('instances/:instanceId/file')
  async file(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('instanceId', uuid) instanceId: string) {
    const instance = await this.dataSource.getRepository(Instance).findOneBy({ id: instanceId, projectId });
    if (!instance) throw new NotFoundException(`No instance ${instanceId} in this project`);
    await this.privacy.assertVisible(p, projectId, { instanceId });
    await this.audit.record(actorOf(p), { action: 'instance.read', objectType: 'instance', objectId: instanceId, projectId, details: { via: 'api' } });
    return new StreamableFile(await this.blobs.get(instance.blobKey), {
      type: 'application/dicom',
      length: Number(instance.sizeBytes),
      disposition: `attachment; filename="${instance.sopInstanceUid}.dcm"`,
    });
  }
}
