// What the task view needs besides the task row, as one set of SQL columns: read by TaskQueries for any task, and
// answered by the claim for the task it leased (RoutingService.nextWithView), so that "next task" is one statement.

type Row = Record<string, unknown>;

/** The related rows of a task as the task view reads them (PostgreSQL json: snake_case, timestamps as text). */
export interface TaskViewRows {
  task: Row;
  study_uid: string | null;
  protocol: Row | null;
  reads: Row[];
  versions: Row[];
  series: Row[];
  /** Series id to the view it shows ("L-CC"), for view-group and image tasks; null for the others. */
  views: Record<string, string | null> | null;
  consensus: Row[];
  reviews: Row[];
}

/** Modalities of projection images, whose laterality and view position name what an image shows. */
const VIEW_MODALITIES = `('MG', 'DX', 'CR', 'XA', 'RF', 'PX', 'IO')`;

/**
 * The view each series of the task shows, e.g. "L-CC" (laterality and view position, kept at ingest; `view` is null
 * for other images), by series id: looked up only for projection images of view-group and image tasks, so that
 * neither a CT task's "next" nor a multi-plane MR view group reads its instances; null for the others.
 */
const VIEWS_SQL = `CASE WHEN t.kind = 'view-group' THEN (SELECT json_object_agg(s.id, (SELECT i.attributes ->> 'view' FROM instances i WHERE i.series_id = s.id AND i.attributes ->> 'view' IS NOT NULL LIMIT 1))
                                                FROM series s WHERE s.id = ANY(t.series_ids) AND s.modality IN ${VIEW_MODALITIES})
       WHEN t.kind = 'image' THEN (SELECT json_build_object(i.series_id, i.attributes ->> 'view') FROM instances i JOIN series s ON s.id = i.series_id WHERE i.id = t.instance_id AND s.modality IN ${VIEW_MODALITIES}) END`;

/** SQL columns of TaskViewRows over the task row `t` (everything but `task` itself). */
export const TASK_VIEW_COLUMNS = `(SELECT study_instance_uid FROM studies WHERE id = t.study_id) AS study_uid,
       (SELECT row_to_json(p) FROM label_protocols p WHERE p.project_id = t.project_id AND p.version = t.protocol_version) AS protocol,
       COALESCE((SELECT json_agg(r ORDER BY r.kind, r.slot) FROM task_reads r WHERE r.task_id = t.id), '[]') AS reads,
       COALESCE((SELECT json_agg(v ORDER BY v.created_at) FROM label_versions v WHERE v.task_id = t.id), '[]') AS versions,
       COALESCE((SELECT json_agg(s ORDER BY array_position(t.series_ids, s.id)) FROM series s WHERE s.id = ANY(t.series_ids)), '[]') AS series,
       ${VIEWS_SQL} AS views,
       COALESCE((SELECT json_agg(c ORDER BY c.created_at) FROM consensus_results c WHERE c.task_id = t.id), '[]') AS consensus,
       COALESCE((SELECT json_agg(x ORDER BY x.created_at) FROM reviews x WHERE x.task_id = t.id), '[]') AS reviews`;
