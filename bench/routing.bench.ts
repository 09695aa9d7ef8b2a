// 200 simulated annotators against the real coordinator (separate process), PostgreSQL and Redis: each loops
// next-task -> submit as fast as it can. Throughput of next+submit operations, next-task latency percentiles,
// and the invariants: no read handed out twice, none lost.
import { performance } from 'node:perf_hooks';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { randomUUID } from 'node:crypto';
import { newApiToken } from '../libs/auth/src/api-tokens';
import { computeSeriesGeometry, storedGeometry } from '../libs/volume/src/series-geometry';
import { fmt, machineCpu, startContour } from './harness';

const USERS = Number(process.env.BENCH_USERS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/**
 * Offered load in operations per second over all users (open loop): each user starts a next -> submit cycle every
 * 2 * USERS / RATE seconds on average (exponentially distributed think time, as people pause), so latency is
 * measured at a load the system can sustain. Unset: closed loop, every user as fast as the answers come.
 */
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : null;
const TASKS = Number(process.env.BENCH_TASKS ?? 50_000);
/**
 * Seconds of the same load before the measured window (not counted in ops/s or the percentiles): a freshly started
 * coordinator opens its database connections and prepares its statements, and V8 compiles the hot paths, during the
 * first second. Their latencies are reported apart; errors count from the first request.
 */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
/**
 * Slices of the series every task is on (0: a series without geometry, whose task view carries none). With a number,
 * the series gets the geometry ingest would store for that many 512 x 512 axial slices (the slice order is one id per
 * slice), and every "next" answers with it, as for a real CT.
 */
const GEOMETRY_SLICES = Number(process.env.BENCH_GEOMETRY_SLICES ?? 0);

/** The coordinator's own histogram of next-task answers (route, status 200): cumulative counts by upper bound (s). */
async function serverNextHistogram(base: string): Promise<Map<number, number>> {
  const text = await (await request(`${base}/api/metrics`)).body.text();
  const counts = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('contour_http_request_duration_seconds_bucket{') || !line.includes('route="/api/projects/:projectId/tasks/next"') || !line.includes('status="200"')) continue;
    const le = /le="([^"]+)"/.exec(line)![1];
    counts.set(le === '+Inf' ? Infinity : Number(le), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

/** Share of the window's next-task answers the coordinator gave within 50 ms, from its histogram before and after. */
function serverShareWithin(before: Map<number, number>, after: Map<number, number>, bound: number): number {
  const delta = (le: number) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  return delta(bound) / Math.max(1, delta(Infinity));
}

export async function main(): Promise<string> {
  setGlobalDispatcher(new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000 }));
  const contour = await startContour({ workers: 0, env: { DATABASE_POOL_SIZE: process.env.BENCH_POOL ?? '40' } });
  const ds = contour.db.dataSource;
  const project = (await contour.api.request('POST', '/api/projects', { name: 'routing-bench', settings: { quality: { reads: 1, reviewRequired: false } } })).id;
  await contour.api.request('POST', `/api/projects/${project}/protocols`, { annotationTypes: [{ kind: 'classification', question: 'Finding?', choices: ['yes', 'no'] }] });
  // Users and tasks straight into the database: the benchmark measures routing, not set-up.
  const [{ id: patient }] = await ds.query(`INSERT INTO patients (project_id, pseudonym) VALUES ($1, 'BENCH') RETURNING id`, [project]);
  const [{ id: study }] = await ds.query(`INSERT INTO studies (project_id, patient_id, study_instance_uid) VALUES ($1, $2, '1.2.3') RETURNING id`, [project, patient]);
  const geometry = GEOMETRY_SLICES
    ? storedGeometry(
        computeSeriesGeometry(
          Array.from({ length: GEOMETRY_SLICES }, (_, k) => ({ id: randomUUID(), imagePositionPatient: [-250, -250, k * 1.25], imageOrientationPatient: [1, 0, 0, 0, 1, 0], pixelSpacing: [0.98, 0.98], rows: 512, columns: 512, numberOfFrames: 1, instanceNumber: k + 1 })),
        ),
      )
    : null;
  const [{ id: series }] = await ds.query(`INSERT INTO series (project_id, study_id, series_instance_uid, modality, qc_status, geometry) VALUES ($1, $2, '1.2.3.4', 'CT', 'ok', $3) RETURNING id`, [
    project,
    study,
    geometry ? JSON.stringify(geometry) : null,
  ]);
  await ds.query(
    `WITH t AS (INSERT INTO tasks (project_id, study_id, series_ids, kind, split_key, modality, state, reads_required, protocol_version)
                SELECT $1, $2, ARRAY[$3::uuid], 'series', 'bench-' || g, 'CT', 'ready', 1, 1 FROM generate_series(1, $4) g RETURNING id, created_at)
     INSERT INTO task_reads (task_id, project_id, kind, slot, state, task_created_at) SELECT t.id, $1, 'annotation', 0, 'open', t.created_at FROM t`,
    [project, study, series, TASKS],
  );
  const ids: string[] = (await ds.query(`INSERT INTO users (username, display_name, password_hash, roles) SELECT 'bench' || g, 'bench' || g, 'x', '{annotator}' FROM generate_series(1, $1) g RETURNING id`, [USERS])).map((r: { id: string }) => r.id);
  await ds.query(`INSERT INTO project_members (project_id, user_id, roles) SELECT $1, unnest($2::uuid[]), '{annotator}'`, [project, ids]);
  // API tokens for the simulated users (one each), created through the API as a script would.
  const tokens: string[] = [];
  for (const id of ids) {
    const t = newApiToken();
    await ds.query(`INSERT INTO api_tokens (user_id, name, token_hash) VALUES ($1, 'bench', $2)`, [id, t.hash]);
    tokens.push(t.secret);
  }

  const latencies: number[] = [];
  const warmupLatencies: number[] = [];
  let ops = 0;
  let errors = 0;
  // The first refusal of each kind, so a run with errors says what they were.
  const errorKinds = new Map<string, string>();
  const noteError = (what: string, status: number, body: string) => {
    errors++;
    const kind = `${what} ${status}`;
    if (!errorKinds.has(kind)) errorKinds.set(kind, body.slice(0, 300));
  };
  const measureFrom = performance.now() + WARMUP * 1000;
  const deadline = measureFrom + SECONDS * 1000;
  let histogramBefore = new Map<number, number>();
  let cpuBefore = machineCpu();
  const histogramTaken = new Promise<void>((resolve) =>
    setTimeout(
      () =>
        void serverNextHistogram(contour.base).then((h) => {
          histogramBefore = h;
          cpuBefore = machineCpu();
          resolve();
        }),
      Math.max(0, measureFrom - performance.now()),
    ),
  );
  let cpuAfter = cpuBefore;
  const windowEnd = setTimeout(() => (cpuAfter = machineCpu()), deadline - performance.now());
  await Promise.all(
    tokens.map(async (token, i) => {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      let n = 0;
      // Open loop: cycles start at exponentially spaced times, whatever the last cycle's latency was.
      const cycleMs = RATE ? (2 * USERS * 1000) / RATE : 0;
      let nextStart = performance.now() + (RATE ? Math.random() * cycleMs : 0);
      let resynced = false;
      while (performance.now() < deadline) {
        if (RATE) {
          // The measured window keeps its own schedule: cycles that the cold start of the warm-up left overdue are
          // dropped, not sent in a burst into the window (arrivals are memoryless, so the window's stay Poisson).
          if (!resynced && performance.now() >= measureFrom) {
            resynced = true;
            if (nextStart < measureFrom) nextStart = measureFrom - Math.log(1 - Math.random()) * cycleMs;
          }
          const wait = Math.min(nextStart, deadline) - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          nextStart += -Math.log(1 - Math.random()) * cycleMs;
          if (performance.now() >= deadline) break;
        }
        const t0 = performance.now();
        // undici's request, not fetch: the load generator shares the two cores with what it measures, and fetch's
        // WHATWG streams cost it about twice the CPU per request.
        const res = await request(`${contour.base}/api/projects/${project}/tasks/next`, { method: 'POST', headers });
        const counted = t0 >= measureFrom;
        (counted ? latencies : warmupLatencies).push(performance.now() - t0);
        if (counted) ops++;
        if (res.statusCode !== 200) {
          const body = await res.body.text();
          if (res.statusCode !== 204) noteError('next', res.statusCode, body);
          continue;
        }
        const lease = (await res.body.json()) as { readId: string };
        const sub = await request(`${contour.base}/api/projects/${project}/reads/${lease.readId}/submit`, { method: 'POST', headers: { ...headers, 'idempotency-key': `b-${i}-${n++}` }, body: JSON.stringify({ answers: { 'Finding?': i % 2 ? 'yes' : 'no' } }) });
        const subBody = await sub.body.text();
        if (counted && performance.now() <= deadline) ops++;
        if (sub.statusCode !== 200) noteError('submit', sub.statusCode, subBody);
      }
    }),
  );
  await histogramTaken;
  clearTimeout(windowEnd);
  const cpuMsPerOp = (cpuAfter.busyMs - cpuBefore.busyMs) / Math.max(1, ops);
  const serverWithin50 = serverShareWithin(histogramBefore, await serverNextHistogram(contour.base), 0.05);
  const elapsed = SECONDS;
  const pctOf = (values: number[], p: number) => values.sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
  const pct = (p: number) => pctOf(latencies, p);
  const [{ dup }] = await ds.query(`SELECT count(*)::int AS dup FROM (SELECT task_id FROM label_versions WHERE kind = 'read' GROUP BY task_id HAVING count(*) > 1) d`);
  const [{ submitted }] = await ds.query(`SELECT count(*)::int AS submitted FROM task_reads WHERE state = 'submitted'`);
  const [{ versions }] = await ds.query(`SELECT count(*)::int AS versions FROM label_versions WHERE kind = 'read'`);
  const [{ leased }] = await ds.query(`SELECT count(*)::int AS leased FROM task_reads WHERE state = 'leased'`);
  const contourOutput = contour.coordinator.output().slice(-3000);
  await contour.stop();
  return [
    `${USERS} simulated annotators (API tokens, keep-alive HTTP), each looping next-task -> submit (classification answer) on tasks of ${GEOMETRY_SLICES ? `a ${GEOMETRY_SLICES}-slice series with its geometry` : 'a series without geometry'} for ${SECONDS} s after ${WARMUP} s of warm-up at the same load, against one coordinator process; ${RATE ? `open loop, ${RATE} operations/s offered in all (exponential think times)` : 'closed loop (no think time)'}; PostgreSQL and Redis local; the load generator runs on the same 2 cores.`,
    '',
    '| operations | ops/s | machine CPU per operation | next-task p50 | p95 | p99 | coordinator answered within 50 ms | warm-up p99 | errors | reads submitted | read versions | tasks with 2 reads (double assignment) | leases outstanding |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    `| ${ops} | ${fmt(ops / elapsed, 0)} | ${fmt(cpuMsPerOp, 2)} ms | ${fmt(pct(50))} ms | ${fmt(pct(95))} ms | ${fmt(pct(99))} ms | ${fmt(100 * serverWithin50, 2)} % | ${warmupLatencies.length ? `${fmt(pctOf(warmupLatencies, 99))} ms` : '-'} | ${errors} | ${submitted} | ${versions} | ${dup} | ${leased} |`,
    '',
    'Latencies are measured by the load generator (same two cores, so they include its own waits for a core); "coordinator answered within 50 ms" is from the coordinator\'s own request-duration histogram (first middleware to the response\'s finish) over the measured window; "machine CPU per operation" is the busy time of all cores (/proc/stat: coordinator, PostgreSQL, Redis, the load generator) over the window, per operation, which varies less than throughput on a shared host.',
    `"Lost" reads would show as submitted != versions or leases outstanding after the run beyond the ${USERS} in flight at the deadline.`,
    ...[...errorKinds].map(([kind, body]) => `\nFirst error of ${kind}: ${body}`),
    ...(errorKinds.size ? [`\nCoordinator output (last lines):\n${contourOutput}`] : []),
  ].join('\n');
}
