// Requests a reviewer found answered wrongly by probing a running coordinator with bad input: each got a 500, a
// silent acceptance or an unaudited action before. Every answer here is a 4xx that says what was wrong, and nothing
// the request named is changed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { zipSync } from 'fflate';
import { ProjectRole, Role } from '@contour/db';
import { startSystem, TestSystem } from '../support/system';

type U = { id: string; token: string };

describe('bad input gets a clear 4xx', () => {
  let sys: TestSystem;
  let pm: U, ann: U, rev: U;
  let projectId: string;
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });
  const admin = () => ({ authorization: `Bearer ${sys.adminToken}` });
  const auditCount = async () => Number((await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM audit_events`))[0].n);

  beforeAll(async () => {
    // A small limit for what one zip may expand to (16 GiB by default).
    sys = await startSystem({ env: { ZIP_MAX_BYTES: '2500000' } });
    pm = await sys.user('pm', [Role.Manager]);
    ann = await sys.user('ann', [Role.Annotator]);
    rev = await sys.user('rev', [Role.Reviewer]);
    projectId = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'bad input' }).expect(201)).body.id;
    await sys.http().put(`/api/projects/${projectId}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().put(`/api/projects/${projectId}/members/${rev.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
  });
  afterAll(() => sys.close());

  it('a session cookie that is not percent-encoded is no credential: 401, not a URIError 500 (also on the queue dashboard)', async () => {
    for (const path of ['/api/auth/me', `/dicom-web/projects/${projectId}/studies`, '/api/admin/queues/']) {
      const res = await sys.http().get(path).set('cookie', 'contour_token=%E0%A4%A');
      expect(res.status).toBe(401);
    }
  });

  it('a NUL character in any text, body or query, is a 400 naming it, whoever sends it', async () => {
    const nul = 'a\u0000b';
    const cases: [string, () => Promise<{ status: number; body: { message?: unknown } }>][] = [
      ['login', () => sys.http().post('/api/auth/login').send({ username: nul, password: 'x' })],
      ['new project', () => sys.http().post('/api/projects').set(bearer(pm)).send({ name: nul })],
      ['project description', () => sys.http().patch(`/api/projects/${projectId}`).set(bearer(pm)).send({ description: nul })],
      ['project audit filter', () => sys.http().get(`/api/projects/${projectId}/audit?action=%00`).set(bearer(pm))],
      ['admin audit filter', () => sys.http().get('/api/audit?objectId=%00').set(admin())],
      ['QIDO-RS text match', () => sys.http().get(`/dicom-web/projects/${projectId}/studies?PatientName=%00`).set(bearer(ann))],
      ['QIDO-RS wildcard', () => sys.http().get(`/dicom-web/projects/${projectId}/studies?PatientName=*%00*`).set(bearer(ann))],
      ['API token name', () => sys.http().post('/api/auth/tokens').set(bearer(ann)).send({ name: nul })],
    ];
    const projects = await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM projects`);
    for (const [name, send] of cases) {
      const res = await send();
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
      expect(String(res.body.message)).toMatch(/NUL character/);
    }
    expect(await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM projects`)).toEqual(projects);
  });

  it('numbers beyond what the database holds are a 400: audit cursor, QIDO-RS integers, task list offset', async () => {
    const huge = '99999999999999999999';
    await sys.http().get(`/api/audit?afterId=${huge}`).set(admin()).expect(400);
    await sys.http().get(`/api/projects/${projectId}/audit?afterId=${huge}`).set(bearer(pm)).expect(400);
    // The largest id there can be is a valid cursor (an empty page).
    expect((await sys.http().get('/api/audit?afterId=9223372036854775807').set(admin()).expect(200)).body).toEqual([]);
    await sys.http().get(`/api/audit?beforeId=${huge}&order=desc`).set(admin()).expect(400);
    // A cursor that is not digits at all is named too (it was a 500: the bound check ran BigInt on it).
    for (const cursor of ['abc', '1e400', '1.5', '-1']) {
      const bad = await sys.http().get(`/api/projects/${projectId}/audit?beforeId=${cursor}&order=desc`).set(bearer(pm)).expect(400);
      expect(JSON.stringify(bad.body)).toMatch(/a line id: digits only/);
      await sys.http().get(`/api/audit?afterId=${cursor}`).set(admin()).expect(400);
    }
    // A cursor that does not go with the order is named, not ignored.
    const mixed = await sys.http().get('/api/audit?afterId=5&order=desc').set(admin()).expect(400);
    expect(JSON.stringify(mixed.body)).toMatch(/afterId pages oldest first \(order=asc\), beforeId newest first \(order=desc\)/);
    await sys.http().get('/api/audit?beforeId=5').set(admin()).expect(400);
    // Newest first, paged back by beforeId.
    const newest = (await sys.http().get('/api/audit?order=desc&limit=3').set(admin()).expect(200)).body as { id: string }[];
    expect(newest.map((e) => BigInt(e.id))).toEqual([...newest.map((e) => BigInt(e.id))].sort((a, b) => (a > b ? -1 : 1)));
    const older = (await sys.http().get(`/api/audit?order=desc&limit=3&beforeId=${newest[2].id}`).set(admin()).expect(200)).body as { id: string }[];
    expect(older.every((e) => BigInt(e.id) < BigInt(newest[2].id))).toBe(true);
    const qido = await sys.http().get(`/dicom-web/projects/${projectId}/series?SeriesNumber=${huge}`).set(bearer(ann)).expect(400);
    expect(qido.body.message).toMatch(/SeriesNumber must be a whole number from 0 to 2147483647/);
    await sys.http().get(`/dicom-web/projects/${projectId}/series?SeriesNumber=2147483647`).set(bearer(ann)).expect(204);
    await sys.http().get(`/api/projects/${projectId}/tasks?offset=99999999999`).set(bearer(pm)).expect(400);
  });

  it('a WADO-RS frame list names each frame once (one repeated 5,000 times asked for gigabytes)', async () => {
    const uid = '1.2.3';
    const frames = Array.from({ length: 5000 }, () => '1').join(',');
    const res = await sys.http().get(`/dicom-web/projects/${projectId}/studies/${uid}/series/${uid}/instances/${uid}/frames/${frames}`).set(bearer(ann)).expect(400);
    expect(res.body.message).toMatch(/Frame 1 is asked for more than once/);
    await sys.http().get(`/dicom-web/projects/${projectId}/studies/${uid}/series/${uid}/instances/${uid}/frames/2,1,2`).set(bearer(ann)).expect(400);
  });

  it('a rendered image takes window and quality once each, quality from 1 to 100 (they were ignored)', async () => {
    const rendered = `/dicom-web/projects/${projectId}/studies/1.2.3/series/1.2.3/instances/1.2.3/rendered`;
    expect((await sys.http().get(`${rendered}?window=40,400,linear&window=50,350,linear`).set(bearer(ann)).expect(400)).body.message).toMatch(/Give window once/);
    expect((await sys.http().get(`${rendered}?quality=abc`).set(bearer(ann)).expect(400)).body.message).toMatch(/quality is a whole number from 1 to 100/);
    await sys.http().get(`${rendered}?quality=0`).set(bearer(ann)).expect(400);
    // A valid one reaches the instance (none such: 404).
    await sys.http().get(`${rendered}?quality=90`).set(bearer(ann)).expect(404);
  });

  it('a settings change names only what changes: the other fields of its group keep their values (they took defaults); an unknown pre-label model is a 400 and nothing is stored', async () => {
    const id = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'partial settings', settings: { quality: { reads: 2, agreementThreshold: 0.99, maxReworkRounds: 1, leaseSeconds: 30 } } }).expect(201)).body.id;
    await sys.http().patch(`/api/projects/${id}`).set(bearer(pm)).send({ settings: { quality: { leaseSeconds: 600 } } }).expect(200);
    const after = (await sys.http().get(`/api/projects/${id}`).set(bearer(pm)).expect(200)).body.settings.quality;
    expect(after).toMatchObject({ reads: 2, agreementThreshold: 0.99, maxReworkRounds: 1, leaseSeconds: 600 });
    for (const models of [['nope'], ['00000000-0000-4000-8000-000000000000']]) {
      const bad = await sys.http().patch(`/api/projects/${id}`).set(bearer(pm)).send({ settings: { prelabelModels: models } }).expect(400);
      expect(bad.body.message).toMatch(/settings.prelabelModels: ".*" is not a registered model/);
    }
    await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'unknown model', settings: { prelabelModels: ['nope'] } }).expect(400);
    expect((await sys.http().get(`/api/projects/${id}`).set(bearer(pm)).expect(200)).body.settings.prelabelModels).toEqual([]);
    // A project is renamed with "name" (it answered 200 and changed nothing); a field Contour does not know is refused.
    await sys.http().patch(`/api/projects/${id}`).set(bearer(pm)).send({ name: 'partial settings, renamed' }).expect(200);
    expect((await sys.http().get(`/api/projects/${id}`).set(bearer(pm)).expect(200)).body.name).toBe('partial settings, renamed');
    await sys.http().patch(`/api/projects/${id}`).set(bearer(pm)).send({ name: 'bad input' }).expect(409);
    expect(JSON.stringify((await sys.http().patch(`/api/projects/${id}`).set(bearer(pm)).send({ title: 'x' }).expect(400)).body)).toMatch(/title/);
  });

  it('an export request is checked: a body that is not an object, a name that is not text, an unknown task state', async () => {
    const exports = async () => Number((await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM exports`))[0].n);
    const before = await exports();
    const post = (body: unknown) => sys.http().post(`/api/projects/${projectId}/exports`).set(bearer(pm)).send(body as object);
    await post([]).expect(400);
    expect((await post({ name: 5 }).expect(400)).body.message.join(' ')).toMatch(/name/);
    expect((await post({ options: { filters: { states: ['bogus'] } } }).expect(400)).body.message.join(' ')).toMatch(/options\.filters\.states\.0/);
    await post({ options: { filters: { states: [] } } }).expect(400);
    expect(await exports()).toBe(before);
  });

  it("an export's page shows neither where its archive is stored nor the balance groups (those go through the audited report)", async () => {
    const [{ id }] = await sys.db.dataSource.query(
      `INSERT INTO exports (project_id, name, options, state, progress, report, result_blob_key, created_by)
       VALUES ($1, 'done', '{}', 'done', 100, $2, $3, $4) RETURNING id`,
      [projectId, JSON.stringify({ cases: 1, splits: { train: { cases: 1, patients: 1 } }, warnings: [], notices: [], balance: { groups: [{ sex: 'M', ageBand: '40-64', agreement: 0.97 }] } }), 'a'.repeat(64), pm.id],
    );
    const detail = (await sys.http().get(`/api/projects/${projectId}/exports/${id}`).set(bearer(pm)).expect(200)).body;
    expect(detail).not.toHaveProperty('resultBlobKey');
    expect(detail.report).toEqual({ cases: 1, splits: { train: { cases: 1, patients: 1 } }, warnings: [], notices: [] });
    for (const row of (await sys.http().get(`/api/projects/${projectId}/exports`).set(bearer(pm)).expect(200)).body) expect(row).not.toHaveProperty('resultBlobKey');
  });

  it("the member list keeps the project's skills apart from the account's: saving what it shows changes nothing (each save added the account's skills once more)", async () => {
    const member = await sys.user('skilled', [Role.Annotator]);
    await sys.http().patch(`/api/users/${member.id}`).set(admin()).send({ skills: ['body-ct'] }).expect(200);
    await sys.http().put(`/api/projects/${projectId}/members/${member.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator], skills: ['neuro-mr'] }).expect(204);
    const listed = async () => ((await sys.http().get(`/api/projects/${projectId}/members`).set(bearer(pm)).expect(200)).body as { userId: string }[]).find((m) => m.userId === member.id);
    const first = await listed();
    expect(first).toMatchObject({ skills: ['neuro-mr'], accountSkills: ['body-ct'], effectiveSkills: ['body-ct', 'neuro-mr'] });
    for (let i = 0; i < 2; i++) await sys.http().put(`/api/projects/${projectId}/members/${member.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator], skills: (first as unknown as { skills: string[] }).skills }).expect(204);
    expect(await listed()).toEqual(first);
  });

  it('a task state that does not exist, an overlong skill and a role named twice are named or kept once; the only manager cannot step down or leave', async () => {
    const state = await sys.http().get(`/api/projects/${projectId}/tasks?state=bogus`).set(bearer(pm)).expect(400);
    expect(JSON.stringify(state.body)).toMatch(/state \\"bogus\\" is not a task state: one of/);
    await sys.http().get(`/api/projects/${projectId}/tasks?state=ready`).set(bearer(pm)).expect(200);
    // The task list's filter is one of the states, so a NUL there is named as no state (it reached the database before).
    expect(JSON.stringify((await sys.http().get(`/api/projects/${projectId}/tasks?state=%00`).set(bearer(pm)).expect(400)).body)).toMatch(/is not a task state/);
    const skill = await sys.http().put(`/api/projects/${projectId}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator], skills: ['x'.repeat(65)] }).expect(400);
    expect(JSON.stringify(skill.body)).toMatch(/lower-case tags of up to 64 characters/);
    await sys.http().patch(`/api/users/${ann.id}`).set(admin()).send({ skills: ['y'.repeat(100_000)] }).expect(400);
    await sys.http().put(`/api/projects/${projectId}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator, ProjectRole.Annotator] }).expect(204);
    const [member] = await sys.db.dataSource.query(`SELECT roles FROM project_members WHERE project_id = $1 AND user_id = $2`, [projectId, ann.id]);
    expect(member.roles).toEqual([ProjectRole.Annotator]);
    // The project's only manager: stepping down or leaving would leave nobody to run it (it was allowed).
    const down = await sys.http().put(`/api/projects/${projectId}/members/${pm.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(409);
    expect(down.body.message).toMatch(/only manager: make someone else a manager of the project first/);
    await sys.http().delete(`/api/projects/${projectId}/members/${pm.id}`).set(bearer(pm)).expect(409);
    // With a second manager, the first may step down.
    await sys.http().put(`/api/projects/${projectId}/members/${rev.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer, ProjectRole.Manager] }).expect(204);
    await sys.http().put(`/api/projects/${projectId}/members/${rev.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Reviewer] }).expect(204);
  });

  it('an empty zip is a 400 (it opened an empty batch that looked done), a password-protected one says so, and nothing stays on disk', async () => {
    const empty = await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm)).attach('files', Buffer.from(zipSync({})), 'empty.zip').expect(400);
    expect(empty.body.message).toMatch(/empty\.zip holds no files \(an empty zip archive, or only folders\)/);
    const dir = mkdtempSync(join(tmpdir(), 'zip-pw-'));
    writeFileSync(join(dir, 'a.txt'), 'hello');
    execFileSync('zip', ['-q', '-P', 'secret', join(dir, 'secret.zip'), 'a.txt'], { cwd: dir });
    const locked = await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm)).attach('files', readFileSync(join(dir, 'secret.zip')), 'secret.zip').expect(400);
    expect(locked.body.message).toMatch(/secret\.zip is a password-protected zip archive, which Contour cannot open: zip the files again without a password/);
    expect(readdirSync(join(sys.config.dataDir, 'incoming')).filter((f) => f.startsWith('zip-') || f.startsWith('upload-'))).toEqual([]);
  });

  it('an AE title of spaces only is refused (it was stored as an empty title)', async () => {
    const res = await sys.http().put(`/api/projects/${projectId}/ae-routes/%20%20%20`).set(bearer(pm)).expect(400);
    expect(JSON.stringify(res.body)).toMatch(/not only spaces/);
    // A backslash separates values in DICOM: no AE title holds one (it was stored).
    expect(JSON.stringify((await sys.http().put(`/api/projects/${projectId}/ae-routes/BACK%5CSLASH`).set(bearer(pm)).expect(400)).body)).toMatch(/other than a backslash/);
    await sys.http().put(`/api/projects/${projectId}/ae-routes/%20SCANNER1%20`).set(bearer(pm)).expect(204);
    expect((await sys.http().get(`/api/projects/${projectId}/ae-routes`).set(bearer(pm)).expect(200)).body).toEqual([expect.objectContaining({ callingAeTitle: 'SCANNER1' })]);
  });

  it('two projects claiming one AE title at once: one gets it, the other a 409 (it was a 500 from the unique key)', async () => {
    const other = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'ae race' }).expect(201)).body.id as string;
    for (let round = 0; round < 8; round++) {
      const title = `RACE${round}`;
      const answers = await Promise.all([projectId, other].map((p) => sys.http().put(`/api/projects/${p}/ae-routes/${title}`).set(bearer(pm))));
      expect(answers.map((a) => a.status).sort()).toEqual([204, 409]);
      // The holder setting it again is no conflict.
      const holder = answers[0].status === 204 ? projectId : other;
      await sys.http().put(`/api/projects/${holder}/ae-routes/${title}`).set(bearer(pm)).expect(204);
    }
  });

  it('a privacy decision on a series that is not in the project is a 404; one with nothing waiting stays a 409', async () => {
    const missing = await sys.http().post(`/api/projects/${projectId}/privacy-review/series/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`).set(bearer(pm)).send({ decision: 'clear' }).expect(404);
    expect(missing.body.message).toMatch(/No series .* in this project/);
  });

  it('a review decision carrying a label it would drop is refused: a mask or answers go with edit-approve only', async () => {
    const readId = '00000000-0000-4000-8000-000000000000';
    for (const decision of ['approve', 'reject']) {
      const res = await sys.http().post(`/api/projects/${projectId}/reads/${readId}/review`).set(bearer(rev)).send({ decision, mask: 'AAAA' }).expect(400);
      expect(JSON.stringify(res.body)).toMatch(/edit-approve/);
    }
    // Without a label the same request reaches the read (none such: 404).
    await sys.http().post(`/api/projects/${projectId}/reads/${readId}/review`).set(bearer(rev)).send({ decision: 'approve' }).expect(404);
  });

  it('a DICOMweb source may not name a link-local address (cloud metadata), and a PACS redirect is not followed', async () => {
    const sources = `/api/projects/${projectId}/sources`;
    const metadata = await sys.http().post(sources).set(bearer(pm)).send({ name: 'metadata', url: 'http://169.254.169.254/latest/meta-data' }).expect(400);
    expect(metadata.body.message).toMatch(/169\.254\.169\.254, a link-local or unspecified address, which is never a PACS/);
    // The root only: a query or fragment would swallow the paths Contour appends; credentials go in auth, not the URL.
    for (const [url, why] of [['http://127.0.0.1:8143/patients#', /fragment/], ['http://127.0.0.1:3000/api/users?x=', /query/], ['http://user:pw@127.0.0.1:8143/dicom-web', /auth/]] as const) {
      const res = await sys.http().post(sources).set(bearer(pm)).send({ name: 'root-only', url }).expect(400);
      expect(JSON.stringify(res.body)).toMatch(why);
      expect(JSON.stringify(res.body)).not.toContain('pw@');
    }
    // A server that sends every request elsewhere: the address it leads to was never checked.
    const redirecting = createServer((_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end());
    await new Promise<void>((r) => redirecting.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/dicom-web`;
      const { id } = (await sys.http().post(sources).set(bearer(pm)).send({ name: 'redirecting', url }).expect(201)).body;
      const search = await sys.http().get(`${sources}/${id}/studies`).set(bearer(pm)).expect(502);
      expect(search.body.message).toMatch(/answered 302 with a redirect to http:\/\/169\.254\.169\.254\/latest\/meta-data/);
    } finally {
      redirecting.close();
    }
  });

  it('a zip that expands beyond ZIP_MAX_BYTES is a 413 and nothing of the upload is stored (a zip bomb filled the disk)', async () => {
    const bomb = Buffer.from(zipSync({ 'a.dcm': new Uint8Array(1_000_000), 'b.dcm': new Uint8Array(1_000_000), 'c.dcm': new Uint8Array(1_000_000) }, { level: 9 }));
    expect(bomb.length).toBeLessThan(20_000);
    const res = await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm)).attach('files', bomb, 'study.zip').expect(413);
    expect(res.body.message).toBe('study.zip: it expands to more than 2.38 MiB, the most this deployment unpacks from one archive (ZIP_MAX_BYTES): upload it in parts; nothing from this upload was stored');
    expect(await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM ingest_batches WHERE project_id = $1`, [projectId])).toEqual([{ n: 0 }]);
    expect(readdirSync(join(sys.config.dataDir, 'incoming')).filter((f) => f.startsWith('zip-') || f.startsWith('upload-'))).toEqual([]);
  });

  it("an admin's actions on the queue dashboard are audited before they are done; looking is not", async () => {
    const before = await auditCount();
    await sys.http().get('/api/admin/queues/api/queues').set(admin()).expect(200);
    expect(await auditCount()).toBe(before);
    await sys.http().put('/api/admin/queues/api/queues/ingest/pause').set(admin()).expect(200);
    await sys.http().put('/api/admin/queues/api/queues/ingest/resume').set(admin()).expect(200);
    const lines = await sys.db.dataSource.query(`SELECT actor_name, action, details FROM audit_events WHERE action = 'queue.board.action' ORDER BY id`);
    expect(lines).toEqual([
      { actor_name: 'admin', action: 'queue.board.action', details: { method: 'PUT', path: '/api/queues/ingest/pause' } },
      { actor_name: 'admin', action: 'queue.board.action', details: { method: 'PUT', path: '/api/queues/ingest/resume' } },
    ]);
    // Refused callers leave no line.
    await sys.http().put('/api/admin/queues/api/queues/ingest/pause').set(bearer(pm)).expect(403);
    expect(await auditCount()).toBe(before + 2);
  });
});
