import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CONFIG, ContourConfig } from '@contour/config';
import { heldInstanceSql } from '@contour/deid';
import { includeFieldsOf, qidoFilter, qidoJson, QidoLevel } from './qido';

export interface StoredInstanceRef {
  id: string;
  sop_instance_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  blob_key: string;
  size_bytes: string;
  number_of_frames: number;
  series_instance_uid: string;
  study_instance_uid: string;
}

const PATIENT_STUDY = 'pa.pseudonym, pa.sex, pa.age, st.study_instance_uid, st.study_date, st.description AS study_description';

/**
 * QIDO-RS at the study level. The page of matching studies is chosen first, walking the project's studies in answer
 * order (studies_qido) and testing each for a series (and image) that matches the series- and instance-level
 * conditions; only the page's studies' series and images are then counted. Counting came first before, over every
 * image of the project: 1.5-2.5 s for a study list with 400,000 images. `conditions` are the filter's SQL conditions
 * (st., pa., se. or i. columns); `flags` is the parameter number of the hold's flags for callers who may not see held
 * images (null: they see everything): a study is listed only with an image they can open, and only such images, and
 * their series, count.
 */
export function studySearchSql(conditions: string[], page: string, flags: number | null): string {
  const visible = flags ? ` AND NOT ${heldInstanceSql('i', flags)}` : '';
  const inner = conditions.filter((c) => /\b(se|i)\./.test(c));
  const outer = conditions.filter((c) => !inner.includes(c));
  // A series of the study that matches; with an image when the filter names one, or when held images are hidden.
  const images = flags || inner.some((c) => /\bi\./.test(c)) ? ` JOIN instances i ON i.series_id = se.id${visible}` : '';
  const hasSeries = `EXISTS (SELECT 1 FROM series se${images} WHERE ${['se.study_id = st.id', ...inner].join(' AND ')})`;
  // For callers who see everything a series without instances still counts; for the others only series they can open.
  const seriesCount = flags ? 'count(DISTINCT i.series_id)' : 'count(DISTINCT se.id)';
  const modalities = flags ? 'array_agg(DISTINCT se.modality) FILTER (WHERE i.id IS NOT NULL)' : 'array_agg(DISTINCT se.modality)';
  return `WITH page AS (
      SELECT st.id FROM studies st JOIN patients pa ON pa.id = st.patient_id
       WHERE ${[...outer, hasSeries].join(' AND ')}
       ORDER BY st.study_date, st.study_instance_uid ${page})
    SELECT ${PATIENT_STUDY}, ${modalities} AS modalities, array_agg(DISTINCT i.sop_class_uid) FILTER (WHERE i.sop_class_uid IS NOT NULL) AS sop_classes,
           ${seriesCount} AS series_count, count(i.id) AS instance_count
      FROM page JOIN studies st ON st.id = page.id JOIN patients pa ON pa.id = st.patient_id
      JOIN series se ON se.study_id = st.id LEFT JOIN instances i ON i.series_id = se.id${visible}
     GROUP BY st.id, pa.id ORDER BY st.study_date, st.study_instance_uid`;
}

/**
 * The stored instances under a study, series or single instance of a project (WADO-RS retrieve and metadata), in
 * series/instance order. The study and series are looked up by the project's own UID indexes: without the project on
 * them, a series-level request scanned every study of the deployment.
 */
export function storedInstancesQuery(projectId: string, study: string, series?: string, sop?: string, hiddenFlags: string[] | null = null): { sql: string; params: unknown[] } {
  const params: unknown[] = [projectId, study];
  let where = 'i.project_id = $1 AND st.project_id = $1 AND se.project_id = $1 AND st.study_instance_uid = $2';
  if (hiddenFlags) {
    // Images held for a privacy review are not served to annotators and reviewers (PrivacyHold).
    params.push(hiddenFlags);
    where += ` AND NOT ${heldInstanceSql('i', params.length)}`;
  }
  if (series) {
    params.push(series);
    where += ` AND se.series_instance_uid = $${params.length}`;
  }
  if (sop) {
    params.push(sop);
    where += ` AND i.sop_instance_uid = $${params.length}`;
  }
  const sql = `SELECT i.id, i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax_uid, i.blob_key, i.size_bytes, i.number_of_frames,
          se.series_instance_uid, st.study_instance_uid
     FROM instances i JOIN series se ON se.id = i.series_id JOIN studies st ON st.id = se.study_id
    WHERE ${where} ORDER BY se.series_number NULLS LAST, se.series_instance_uid, i.instance_number NULLS LAST, i.sop_instance_uid`;
  return { sql, params };
}

/** Reads the project's de-identified index for the DICOMweb endpoints. */
@Injectable()
export class DicomWebService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CONFIG) private readonly config: ContourConfig,
  ) {}

  root(projectId: string) {
    return `${this.config.http.publicUrl ?? ''}/dicom-web/projects/${projectId}`;
  }

  /**
   * QIDO-RS; `hiddenFlags` (callers who may not see images held for a privacy review) leaves held instances out: of
   * instance searches, and of the counts, modalities and SOP classes of study and series searches, where a series or
   * study with nothing but held images is not listed at all.
   */
  async search(level: QidoLevel, projectId: string, query: Record<string, string | string[] | undefined>, fixed: Record<string, string>, hiddenFlags: string[] | null = null) {
    const f = qidoFilter(query, fixed);
    const include = includeFieldsOf(query);
    const params: unknown[] = [projectId, ...f.params];
    const conditions = ['st.project_id = $1', ...f.where.map((w) => w.replace(/\$(\d+)/g, (_, n) => `$${Number(n) + 1}`))];
    const where = conditions.join(' AND ');
    const page = `LIMIT ${f.limit} OFFSET ${f.offset}`;
    const root = this.root(projectId);
    // The instances a caller may see: joined with the hold test in the join itself, so held images count nowhere.
    const visible = hiddenFlags ? ` AND NOT ${heldInstanceSql('i', params.length + 1)}` : '';
    const visibleOnly = hiddenFlags ? 'HAVING count(i.id) > 0' : '';
    const withFlags = hiddenFlags ? [...params, hiddenFlags] : params;
    // Each level selects every column an answer can hold (see qido.ts): includefield only chooses among them.
    if (level === 'study') {
      const rows = await this.dataSource.query(studySearchSql(conditions, page, hiddenFlags ? params.length + 1 : null), withFlags);
      return rows.map((r: Record<string, any>) => qidoJson('study', r, `${root}/studies/${r.study_instance_uid}`, include));
    }
    const series = 'se.series_instance_uid, se.modality, se.description AS series_description, se.body_part, se.series_number, se.frame_of_reference_uid';
    if (level === 'series') {
      const rows = await this.dataSource.query(
        `SELECT ${PATIENT_STUDY}, ${series}, count(i.id) AS instance_count
           FROM series se JOIN studies st ON st.id = se.study_id JOIN patients pa ON pa.id = st.patient_id LEFT JOIN instances i ON i.series_id = se.id${visible}
          WHERE ${where} GROUP BY se.id, st.id, pa.id ${visibleOnly} ORDER BY se.series_number NULLS LAST, se.series_instance_uid ${page}`,
        withFlags,
      );
      return rows.map((r: Record<string, any>) => qidoJson('series', r, `${root}/studies/${r.study_instance_uid}/series/${r.series_instance_uid}`, include));
    }
    const rows = await this.dataSource.query(
      `SELECT ${PATIENT_STUDY}, ${series}, i.sop_instance_uid, i.sop_class_uid, i.instance_number, i.number_of_frames, i.rows, i.columns, i.transfer_syntax_uid,
              i.image_position, i.image_orientation, i.pixel_spacing
         FROM instances i JOIN series se ON se.id = i.series_id JOIN studies st ON st.id = se.study_id JOIN patients pa ON pa.id = st.patient_id
        WHERE ${where}${visible} ORDER BY se.series_instance_uid, i.instance_number NULLS LAST, i.sop_instance_uid ${page}`,
      withFlags,
    );
    return rows.map((r: Record<string, any>) => qidoJson('instance', r, `${root}/studies/${r.study_instance_uid}/series/${r.series_instance_uid}/instances/${r.sop_instance_uid}`, include));
  }

  /** The stored instances under a study, series or single instance, in series/instance order; 404 when none. */
  async instances(projectId: string, study: string, series?: string, sop?: string, hiddenFlags: string[] | null = null): Promise<StoredInstanceRef[]> {
    const { sql, params } = storedInstancesQuery(projectId, study, series, sop, hiddenFlags);
    const rows: StoredInstanceRef[] = await this.dataSource.query(sql, params);
    if (!rows.length) throw new NotFoundException(`Nothing stored in this project under ${[study, series, sop].filter(Boolean).join('/')}${hiddenFlags ? ' that you may see (images held for a privacy review are shown to managers only)' : ''}`);
    return rows;
  }
}
