// Once a series' instances have arrived (debounced job), builds its volume geometry from the per-instance
// records kept at ingest and runs the consistency checks: mixed orientation or size, duplicate or missing
// slice positions, uneven spacing. A series that fails is kept, listed with its reasons, and not split into
// tasks; then the study is (re)split, and a series small enough (VOLUME_PREBUILD_MAX_MB) gets its NIfTI built
// ahead of first use. The study's de-identification report is summed up here from its instances' reports.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService, systemActor } from '@contour/audit';
import { CONFIG, ContourConfig } from '@contour/config';
import { Series } from '@contour/db';
import { combineSummaries, StudyDeidSummary } from '@contour/deid';
import { JobName, JobQueue } from '@contour/queue';
import { computeSeriesGeometry, InstanceGeometry, storedGeometry, volumeBuildMb } from '@contour/volume';

export const SPLIT_DEBOUNCE_MS = 1500;
/**
 * The NIfTI build waits longer than the split: a series still arriving in chunks would otherwise be built once
 * per chunk (143 builds for 100 series in the export benchmark with 1.5 s), each thrown away by the next one.
 */
export const VOLUME_DEBOUNCE_MS = 5000;

@Injectable()
export class SeriesGeometryService {
  private readonly logger = new Logger(SeriesGeometryService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
    @Inject(CONFIG) private readonly config: ContourConfig,
  ) {}

  async build(seriesId: string) {
    const series = await this.dataSource.getRepository(Series).findOneBy({ id: seriesId });
    if (!series) return { status: 'missing' };
    const rows: { id: string; attributes: { geometry?: InstanceGeometry | null; view?: string | null } }[] = await this.dataSource.query(`SELECT id, attributes FROM instances WHERE series_id = $1`, [seriesId]);
    const records = rows.filter((r) => r.attributes?.geometry).map((r) => ({ ...r.attributes.geometry!, id: r.id }));
    let qcStatus: Series['qcStatus'] = 'ok';
    let qcIssues: Series['qcIssues'] = [];
    let geometry: Record<string, unknown> | null = null;
    if (records.length) {
      const g = computeSeriesGeometry(records);
      qcIssues = g.issues.map((i) => ({ code: i.code, message: i.message, severity: i.severity }));
      qcStatus = g.issues.some((i) => i.severity === 'error') ? 'failed' : g.issues.length ? 'warning' : 'ok';
      geometry = storedGeometry(g) as unknown as Record<string, unknown>;
    }
    const view = rows.find((r) => r.attributes?.view)?.attributes.view ?? null;
    await this.dataSource.transaction(async (m) => {
      // A DICOM series' cached NIfTI (built when someone opened the series) is stale once its geometry changes:
      // drop the reference so the next read rebuilds it with every instance.
      await m.query(`UPDATE series SET geometry = $2, qc_status = $3, qc_issues = $4, view_group = $5, updated_at = now(),
                            volume_blob_key = CASE WHEN source = 'dicom' THEN NULL ELSE volume_blob_key END WHERE id = $1`, [seriesId, geometry ? JSON.stringify(geometry) : null, qcStatus, JSON.stringify(qcIssues), view ? `${series.studyId}:${series.bodyPart ?? series.modality}` : null]);
      // The study's de-identification report: the sum of its instances' reports, kept with each instance at
      // ingest (summed here rather than by every instance, which would make them wait on the study row).
      // The study row is locked first: two series of one study checked at once would otherwise each write a
      // sum read before the other's instances were in.
      await m.query(`SELECT 1 FROM studies WHERE id = $1 FOR UPDATE`, [series.studyId]);
      const reports: { deid: StudyDeidSummary | null }[] = await m.query(
        `SELECT i.attributes -> 'deid' AS deid FROM instances i JOIN series s ON s.id = i.series_id WHERE s.study_id = $1 ORDER BY i.created_at, i.id`,
        [series.studyId],
      );
      // Instances indexed before reports were kept per instance have none: their study keeps the report it has.
      if (reports.length && reports.every((r) => r.deid)) {
        const report = reports.reduce<StudyDeidSummary | null>((sum, r) => combineSummaries(sum, r.deid!), null);
        await m.query(`UPDATE studies SET deid_report = $2 WHERE id = $1`, [series.studyId, JSON.stringify(report)]);
      }
      await this.audit.record(systemActor('geometry'), { action: 'series.checked', objectType: 'series', objectId: seriesId, projectId: series.projectId, details: { qcStatus, issues: qcIssues.map((i) => i.code), instances: rows.length } }, m);
    });
    if (qcStatus === 'failed') this.logger.warn(`series ${seriesId} failed its geometry check: ${qcIssues.map((i) => i.code).join(', ')}`);
    const dims = (geometry?.dims as number[] | undefined) ?? [];
    if (series.source === 'dicom' && geometry && qcStatus !== 'failed' && volumeBuildMb(dims) <= this.config.volumes.prebuildMaxMb) {
      // Debounced: a series still receiving instances is built once, after the last one.
      const dedupe = { id: `volume-${seriesId}`, ttl: VOLUME_DEBOUNCE_MS, extend: true, replace: true };
      await this.jobs.add(JobName.SeriesVolume, { seriesId, dims }, { delay: VOLUME_DEBOUNCE_MS, deduplication: dedupe });
    }
    await this.jobs.add(JobName.SplitStudy, { studyId: series.studyId }, { delay: SPLIT_DEBOUNCE_MS, deduplication: { id: `split-${series.studyId}`, ttl: SPLIT_DEBOUNCE_MS, extend: true, replace: true } });
    return { status: qcStatus, issues: qcIssues.length };
  }
}
