// Once a series' instances have arrived (debounced job), builds its volume geometry from the per-instance
// records kept at ingest and runs the consistency checks: mixed orientation or size, duplicate or missing
// slice positions, uneven spacing. A series that fails is kept, listed with its reasons, and not split into
// tasks. A 3D series' plane (axial, coronal, sagittal, oblique) is kept with its geometry, and the study's view
// groups are decided again (mammography views; MR/CT series of one body part in two planes or more); then the
// study is (re)split, and a series small enough (VOLUME_PREBUILD_MAX_MB) gets its NIfTI built
// ahead of first use. The study's de-identification report is summed up here from its instances' reports.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService, systemActor } from '@contour/audit';
import { CONFIG, ContourConfig } from '@contour/config';
import { Series } from '@contour/db';
import { combineSummaries, StudyDeidSummary, withExcludedSql } from '@contour/deid';
import { JobName, JobQueue } from '@contour/queue';
import { computeSeriesGeometry, InstanceGeometry, seriesPlane, SlicePlane, storedGeometry, volumeBuildMb } from '@contour/volume';
import { multiPlaneViewGroups, projectionViewGroup } from './view-groups';

export const SPLIT_DEBOUNCE_MS = 1500;
/**
 * The NIfTI build waits longer than the split: a series still arriving in chunks would otherwise be built once
 * per chunk (143 builds for 100 series in the export benchmark with 1.5 s), each thrown away by the next one.
 */
export const VOLUME_DEBOUNCE_MS = 5000;
/**
 * While other series of the study are still waiting for their check, the split waits for them (the last one's
 * check queues it after the usual SPLIT_DEBOUNCE_MS): a split run in between would give a view group's first
 * series a task of its own, or a group task without the views still arriving (the split never takes a series
 * back from a task). This long only in case a check never comes (its job failed for good).
 */
export const SPLIT_WAIT_FOR_SERIES_MS = 5 * 60_000;

@Injectable()
export class SeriesGeometryService {
  private readonly logger = new Logger(SeriesGeometryService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
    @Inject(CONFIG) private readonly config: ContourConfig,
  ) {}

  /**
   * Series whose stored geometry predates what ingest keeps now: multi-frame series (an instance repeats in the slice
   * order) stored without the frame number of each slice, which a DICOM SEG or RTSTRUCT of their tasks must name. Their
   * geometry is built again (the geometry job; the series' study is split again, idempotently). Run at start-up, in
   * the background; single-frame series are ruled out first (an index lookup), so it is cheap once all are rebuilt.
   * Returns how many were queued.
   */
  async rebuildStale(): Promise<number> {
    const stale: { id: string }[] = await this.dataSource.query(
      `SELECT se.id FROM series se
        WHERE se.source = 'dicom' AND jsonb_typeof(se.geometry -> 'order') = 'array' AND NOT se.geometry ? 'frames'
          AND EXISTS (SELECT 1 FROM instances i WHERE i.series_id = se.id AND i.number_of_frames > 1)
          AND jsonb_array_length(se.geometry -> 'order') > (SELECT count(DISTINCT x) FROM jsonb_array_elements_text(se.geometry -> 'order') x)`,
    );
    for (const { id } of stale) await this.jobs.add(JobName.SeriesGeometry, { seriesId: id }, { deduplication: { id: `geometry-${id}` } });
    if (stale.length) this.logger.log(`${stale.length} multi-frame series stored without frame numbers: their geometry is built again`);
    return stale.length;
  }

  async build(seriesId: string) {
    const series = await this.dataSource.getRepository(Series).findOneBy({ id: seriesId });
    if (!series) return { status: 'missing' };
    const rows: { id: string; attributes: { geometry?: InstanceGeometry | null; view?: string | null } }[] = await this.dataSource.query(`SELECT id, attributes FROM instances WHERE series_id = $1`, [seriesId]);
    const records = rows.filter((r) => r.attributes?.geometry).map((r) => ({ ...r.attributes.geometry!, id: r.id }));
    let qcStatus: Series['qcStatus'] = 'ok';
    let qcIssues: Series['qcIssues'] = [];
    let geometry: Record<string, unknown> | null = null;
    let plane: SlicePlane | null = null;
    if (records.length) {
      const g = computeSeriesGeometry(records);
      qcIssues = g.issues.map((i) => ({ code: i.code, message: i.message, severity: i.severity }));
      qcStatus = g.issues.some((i) => i.severity === 'error') ? 'failed' : g.issues.length ? 'warning' : 'ok';
      plane = seriesPlane(g);
      geometry = { ...storedGeometry(g), ...(plane ? { plane } : {}) };
    }
    const view = rows.find((r) => r.attributes?.view)?.attributes.view ?? null;
    let waitForOthers = false;
    await this.dataSource.transaction(async (m) => {
      // The study row is locked first, before any series row: deciding the view groups updates the sibling
      // series too, and two series of one study checked at once would otherwise each hold their own row while
      // waiting for the other's (a deadlock), or each decide the groups without the other's plane.
      await m.query(`SELECT 1 FROM studies WHERE id = $1 FOR UPDATE`, [series.studyId]);
      // A DICOM series' cached NIfTI (built when someone opened the series) is stale once its geometry changes:
      // drop the reference so the next read rebuilds it with every instance. The geometry lists the images a
      // manager excluded (their slices are blanked in the volume), read under the study's lock, which a decision
      // takes too.
      await m.query(`UPDATE series SET geometry = ${withExcludedSql('$2::jsonb', '$1')}, qc_status = $3, qc_issues = $4, view_group = $5, updated_at = now(),
                            volume_blob_key = CASE WHEN source = 'dicom' THEN NULL ELSE volume_blob_key END WHERE id = $1`, [seriesId, geometry ? JSON.stringify(geometry) : null, qcStatus, JSON.stringify(qcIssues), projectionViewGroup(series.studyId, view, series)]);
      const { viewGroup, linked, othersPending } = await this.linkViews(m, series.studyId, seriesId);
      waitForOthers = othersPending;
      // The study's de-identification report: the sum of its instances' reports, kept with each instance at
      // ingest (summed here rather than by every instance, which would make them wait on the study row).
      // Under the study row's lock (above): two series of one study checked at once would otherwise each write a
      // sum read before the other's instances were in.
      const reports: { deid: StudyDeidSummary | null }[] = await m.query(
        `SELECT i.attributes -> 'deid' AS deid FROM instances i JOIN series s ON s.id = i.series_id WHERE s.study_id = $1 ORDER BY i.created_at, i.id`,
        [series.studyId],
      );
      // Instances indexed before reports were kept per instance have none: their study keeps the report it has.
      if (reports.length && reports.every((r) => r.deid)) {
        const report = reports.reduce<StudyDeidSummary | null>((sum, r) => combineSummaries(sum, r.deid!), null);
        await m.query(`UPDATE studies SET deid_report = $2 WHERE id = $1`, [series.studyId, JSON.stringify(report)]);
      }
      await this.audit.record(systemActor('geometry'), { action: 'series.checked', objectType: 'series', objectId: seriesId, projectId: series.projectId, details: { qcStatus, issues: qcIssues.map((i) => i.code), instances: rows.length, plane, viewGroup, ...(linked.length ? { viewGroupChanged: linked } : {}) } }, m);
    });
    if (qcStatus === 'failed') this.logger.warn(`series ${seriesId} failed its geometry check: ${qcIssues.map((i) => i.code).join(', ')}`);
    const dims = (geometry?.dims as number[] | undefined) ?? [];
    if (series.source === 'dicom' && geometry && qcStatus !== 'failed' && volumeBuildMb(dims) <= this.config.volumes.prebuildMaxMb) {
      // Debounced: a series still receiving instances is built once, after the last one.
      const dedupe = { id: `volume-${seriesId}`, ttl: VOLUME_DEBOUNCE_MS, extend: true, replace: true };
      await this.jobs.add(JobName.SeriesVolume, { seriesId, dims }, { delay: VOLUME_DEBOUNCE_MS, deduplication: dedupe });
    }
    const split = `split-${series.studyId}`;
    if (waitForOthers) {
      // Without replace: a split already queued (by a sibling checked just after this one) keeps its delay.
      await this.jobs.add(JobName.SplitStudy, { studyId: series.studyId }, { delay: SPLIT_WAIT_FOR_SERIES_MS, deduplication: { id: split, ttl: SPLIT_WAIT_FOR_SERIES_MS } });
    } else {
      // Debounced, and replacing a split that waits for this series.
      await this.jobs.add(JobName.SplitStudy, { studyId: series.studyId }, { delay: SPLIT_DEBOUNCE_MS, deduplication: { id: split, ttl: SPLIT_DEBOUNCE_MS, extend: true, replace: true } });
    }
    return { status: qcStatus, issues: qcIssues.length };
  }

  /**
   * Decides the study's multi-plane view groups again, with this series' new geometry in (under the study row's
   * lock): the series that arrived before it in another plane are linked, or unlinked, too. Returns this series'
   * group, the other series whose group changed, and whether other series still wait for their check.
   */
  private async linkViews(m: EntityManager, studyId: string, seriesId: string) {
    const siblings: { id: string; modality: string; body_part: string | null; qc_status: string; kind: string | null; normal: number[] | null; view_group: string | null }[] = await m.query(
      `SELECT id, modality, body_part, qc_status, geometry ->> 'kind' AS kind, geometry -> 'direction' -> 'normal' AS normal, view_group FROM series WHERE study_id = $1`,
      [studyId],
    );
    // The plane from the stored normal rather than the stored plane: series checked before planes were kept count too.
    const groups = multiPlaneViewGroups(
      studyId,
      siblings.map((s) => ({ id: s.id, modality: s.modality, bodyPart: s.body_part, qcStatus: s.qc_status, viewGroup: s.view_group, plane: s.kind && s.normal ? seriesPlane({ kind: s.kind, direction: { normal: s.normal } }) : null })),
    );
    const changed = siblings.filter((s) => groups.has(s.id) && groups.get(s.id) !== s.view_group);
    if (changed.length) {
      await m.query(`UPDATE series SET view_group = g.view_group, updated_at = now() FROM unnest($1::uuid[], $2::text[]) AS g(id, view_group) WHERE series.id = g.id`, [changed.map((s) => s.id), changed.map((s) => groups.get(s.id) ?? null)]);
    }
    const self = siblings.find((s) => s.id === seriesId);
    return {
      viewGroup: groups.has(seriesId) ? groups.get(seriesId)! : (self?.view_group ?? null),
      linked: changed.map((s) => s.id).filter((id) => id !== seriesId),
      othersPending: siblings.some((s) => s.id !== seriesId && s.qc_status === 'pending'),
    };
  }
}
