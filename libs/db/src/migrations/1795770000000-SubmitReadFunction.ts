import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A read's submission in one round trip, without BEGIN and COMMIT from the client: the function locks the read
 * and its task, checks they are still as the caller saw them and the task is not held for a privacy review (else
 * answers NULL, and the caller takes the slow path with its precise messages), then inserts the label version,
 * submits the read with its audit lines, counts the task's other unsubmitted reads and, when none is left, moves the
 * task with its transition row and audit line. (`privacy_held` is added by migration 1795790000000; PL/pgSQL
 * resolves the column when the function first runs.)
 * The count needs the lock first: in a volatile PL/pgSQL function each statement takes a new snapshot, so it sees
 * every submission that committed while this one waited for the task (one statement could not: its snapshot
 * predates its lock, and two last reads submitted at once would each count the other as pending).
 * Returns the number of the task's annotation reads still pending after this one.
 */
export class SubmitReadFunction1795770000000 implements MigrationInterface {
  name = 'SubmitReadFunction1795770000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE OR REPLACE FUNCTION contour_submit_read(
  p_read uuid, p_author uuid, p_version uuid, p_task uuid, p_actor jsonb, p_audit jsonb, p_project uuid, p_round int,
  p_protocol_version int, p_blob_key text, p_encoding text, p_grid jsonb, p_answers jsonb, p_stats jsonb,
  p_idempotency_key text, p_from text, p_to text, p_event text)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  v_pending integer;
BEGIN
  PERFORM 1 FROM task_reads r JOIN tasks t ON t.id = r.task_id
   WHERE r.id = p_read AND t.id = p_task AND r.project_id = p_project AND r.kind = 'annotation' AND r.round = p_round AND t.state = p_from AND NOT t.privacy_held
     AND ((r.state = 'leased' AND r.annotator_id = p_author) OR (r.state = 'open' AND r.previous_annotator_id = p_author))
     FOR UPDATE OF r, t;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  WITH version AS (
     INSERT INTO label_versions (id, task_id, project_id, kind, read_id, author_id, round, protocol_version, blob_key, encoding, grid, answers, stats, idempotency_key)
     VALUES (p_version, p_task, p_project, 'read', p_read, p_author, p_round, p_protocol_version, p_blob_key, p_encoding, p_grid, p_answers, p_stats, p_idempotency_key) RETURNING id),
   done AS (
     UPDATE task_reads SET state = 'submitted', annotator_id = p_author, previous_annotator_id = NULL, submitted_at = now(),
            label_version_id = (SELECT id FROM version), lease_expires_at = NULL
      WHERE id = p_read RETURNING id),
   audit AS (
     INSERT INTO audit_events (actor_id, actor_name, ip, action, object_type, object_id, project_id, details)
     SELECT (p_actor ->> 'id')::uuid, p_actor ->> 'name', p_actor ->> 'ip', x.action, x.object_type, x.object_id, x.project_id, COALESCE(x.details, '{}')
       FROM ROWS FROM (jsonb_to_recordset(p_audit) AS (action text, object_type text, object_id text, project_id uuid, details jsonb))
            WITH ORDINALITY AS x(action, object_type, object_id, project_id, details, n)
      ORDER BY x.n),
   pending AS (
     SELECT count(*)::int AS n FROM task_reads
      WHERE task_id = p_task AND kind = 'annotation' AND state <> 'submitted' AND id NOT IN (SELECT id FROM done)),
   moved AS (
     UPDATE tasks SET state = p_to, state_changed_at = now() WHERE id = p_task AND state = p_from AND (SELECT n FROM pending) = 0 RETURNING id),
   transition AS (
     INSERT INTO task_transitions (task_id, project_id, from_state, to_state, event, actor_id, actor_name)
     SELECT id, p_project, p_from, p_to, p_event, (p_actor ->> 'id')::uuid, p_actor ->> 'name' FROM moved),
   task_audit AS (
     INSERT INTO audit_events (actor_id, actor_name, ip, action, object_type, object_id, project_id, details)
     SELECT (p_actor ->> 'id')::uuid, p_actor ->> 'name', p_actor ->> 'ip', 'task.' || p_event, 'task', id::text, p_project,
            jsonb_build_object('from', p_from, 'to', p_to) FROM moved)
  SELECT n INTO v_pending FROM pending;
  RETURN v_pending;
END
$fn$`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION IF EXISTS contour_submit_read(uuid, uuid, uuid, uuid, jsonb, jsonb, uuid, int, int, text, text, jsonb, jsonb, jsonb, text, text, text, text)`);
  }
}
