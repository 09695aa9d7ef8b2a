import { PrincipalCache } from '@contour/auth';
import { Role } from '@contour/db';
import { ADMIN_PASSWORD, startSystem, TestSystem } from '../support/system';

describe('authentication', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(() => sys.close());

  it('first start created the admin from CONTOUR_ADMIN_PASSWORD, with an audit line', async () => {
    const me = await sys.http().get('/api/auth/me').set('authorization', `Bearer ${sys.adminToken}`).expect(200);
    expect(me.body).toMatchObject({ username: 'admin', roles: ['admin'] });
    expect(me.body.passwordHash).toBeUndefined();
    const audit = await sys.http().get('/api/audit?action=user.created').set('authorization', `Bearer ${sys.adminToken}`).expect(200);
    expect(audit.body[0]).toMatchObject({ actorName: 'system:bootstrap', objectType: 'user' });
  });

  it('login answers {accessToken} and refuses wrong passwords with 401, audited', async () => {
    const ok = await sys.http().post('/api/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD }).expect(200);
    expect(typeof ok.body.accessToken).toBe('string');
    const bad = await sys.http().post('/api/auth/login').send({ username: 'admin', password: 'wrong' }).expect(401);
    expect(bad.body.message).toBe('Wrong username or password');
    await sys.http().post('/api/auth/login').send({ username: 'nobody', password: 'wrong' }).expect(401);
    const failed = await sys.http().get('/api/audit?action=auth.login.failed').set('authorization', `Bearer ${sys.adminToken}`).expect(200);
    expect(failed.body.map((e: { actorName: string }) => e.actorName)).toEqual(['admin', 'nobody']);
  });

  it('a username is one account whatever its case: a second account differing only in case is refused, and login takes any case', async () => {
    const admin = { authorization: `Bearer ${sys.adminToken}` };
    const alice = (await sys.http().post('/api/users').set(admin).send({ username: 'Alice.Case', password: 'alice-password', roles: ['annotator'] }).expect(201)).body;
    const clash = await sys.http().post('/api/users').set(admin).send({ username: 'alice.case', password: 'other-password', roles: ['manager'] }).expect(409);
    expect(clash.body.message).toBe('The username alice.case is taken (by Alice.Case: usernames are compared without case)');
    await sys.http().post('/api/users').set(admin).send({ username: 'Alice.Case', password: 'other-password', roles: ['manager'] }).expect(409);
    const login = await sys.http().post('/api/auth/login').send({ username: 'ALICE.CASE', password: 'alice-password' }).expect(200);
    expect(login.body.user).toMatchObject({ id: alice.id, username: 'Alice.Case' });
    await sys.http().post('/api/auth/login').send({ username: 'alice.case', password: 'other-password' }).expect(401);
  });

  it('rejects a malformed login body with a message naming the field', async () => {
    const res = await sys.http().post('/api/auth/login').send({ username: 'admin' }).expect(400);
    expect(JSON.stringify(res.body.message)).toMatch(/password/);
  });

  it('API tokens work as Bearer credentials until revoked', async () => {
    const { token } = await sys.user('script-owner', [Role.Manager]);
    const created = await sys.http().post('/api/auth/tokens').set('authorization', `Bearer ${token}`).send({ name: 'nightly import' }).expect(201);
    expect(created.body.token).toMatch(/^ctr_/);
    const me = await sys.http().get('/api/auth/me').set('authorization', `Bearer ${created.body.token}`).expect(200);
    expect(me.body.username).toBe('script-owner');
    const list = await sys.http().get('/api/auth/tokens').set('authorization', `Bearer ${token}`).expect(200);
    expect(list.body).toHaveLength(1);
    expect(list.body[0].tokenHash).toBeUndefined();
    await sys.http().delete(`/api/auth/tokens/${created.body.id}`).set('authorization', `Bearer ${token}`).expect(204);
    await sys.http().get('/api/auth/me').set('authorization', `Bearer ${created.body.token}`).expect(401);
  });

  it('a disabled account cannot sign in and its tokens stop working', async () => {
    const u = await sys.user('leaver', [Role.Annotator]);
    await sys.http().patch(`/api/users/${u.id}`).set('authorization', `Bearer ${sys.adminToken}`).send({ active: false }).expect(200);
    await sys.http().get('/api/auth/me').set('authorization', `Bearer ${u.token}`).expect(401);
    await sys.http().post('/api/auth/login').send({ username: 'leaver', password: 'user-password-for-tests' }).expect(401);
  });

  describe('credentials cached between requests', () => {
    const me = (token: string) => sys.http().get('/api/auth/me').set('authorization', `Bearer ${token}`);
    /** Polls until the answer has the status, up to 5 s: a change made outside this process arrives by notification. */
    async function eventually(request: () => Promise<{ status: number }>, status: number): Promise<number> {
      const started = Date.now();
      let last = 0;
      while (Date.now() - started < 5000) {
        last = (await request()).status;
        if (last === status) return Date.now() - started;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`still ${last} after 5 s`);
    }

    it('the cache is live against PostgreSQL: it listens for changes and proved they arrive', async () => {
      await me(sys.adminToken).expect(200);
      const cache = sys.app.get(PrincipalCache);
      await cache.start();
      expect(cache.active).toBe(true);
    });

    it('a lookup that started before a change is not stored (the generation check)', async () => {
      const cache = sys.app.get(PrincipalCache);
      await cache.start();
      const stamp = cache.stamp();
      cache.invalidate();
      cache.set('test:stale', { stale: true }, stamp);
      expect(cache.get('test:stale')).toBeUndefined();
      cache.set('test:fresh', { fresh: true }, cache.stamp());
      expect(cache.get('test:fresh')).toEqual({ fresh: true });
    });

    it('changes made outside the API (psql, another coordinator) reach a cached credential', async () => {
      const u = await sys.user('outside-change', [Role.Manager]);
      await me(u.token).expect(200);
      await me(u.token).expect(200);
      await sys.db.dataSource.query(`UPDATE users SET active = false WHERE id = $1`, [u.id]);
      expect(await eventually(() => me(u.token), 401)).toBeLessThan(5000);
      await sys.db.dataSource.query(`UPDATE users SET active = true WHERE id = $1`, [u.id]);
      await eventually(() => me(u.token), 200);

      // Membership: a project member removed by SQL loses the project at once.
      const project = (await sys.http().post('/api/projects').set('authorization', `Bearer ${sys.adminToken}`).send({ name: 'cache-membership' }).expect(201)).body.id;
      await sys.http().put(`/api/projects/${project}/members/${u.id}`).set('authorization', `Bearer ${sys.adminToken}`).send({ roles: ['manager'] }).expect(204);
      const stats = () => sys.http().get(`/api/projects/${project}/stats`).set('authorization', `Bearer ${u.token}`);
      await stats().expect(200);
      await sys.db.dataSource.query(`DELETE FROM project_members WHERE project_id = $1 AND user_id = $2`, [project, u.id]);
      await eventually(stats, 403);

      // A token revoked by SQL.
      const created = await sys.http().post('/api/auth/tokens').set('authorization', `Bearer ${u.token}`).send({ name: 'cached' }).expect(201);
      await me(created.body.token).expect(200);
      await sys.db.dataSource.query(`UPDATE api_tokens SET revoked_at = now() WHERE id = $1`, [created.body.id]);
      await eventually(() => me(created.body.token), 401);
    });

    it('changes made through the API apply to the very next request', async () => {
      const u = await sys.user('demoted', [Role.Manager]);
      await sys.http().get('/api/users').set('authorization', `Bearer ${u.token}`).expect(200);
      await sys.http().patch(`/api/users/${u.id}`).set('authorization', `Bearer ${sys.adminToken}`).send({ roles: [Role.Annotator] }).expect(200);
      await sys.http().get('/api/users').set('authorization', `Bearer ${u.token}`).expect(403);

      const project = (await sys.http().post('/api/projects').set('authorization', `Bearer ${sys.adminToken}`).send({ name: 'cache-api' }).expect(201)).body.id;
      await sys.http().put(`/api/projects/${project}/members/${u.id}`).set('authorization', `Bearer ${sys.adminToken}`).send({ roles: ['manager'] }).expect(204);
      const stats = () => sys.http().get(`/api/projects/${project}/stats`).set('authorization', `Bearer ${u.token}`);
      await stats().expect(200);
      await sys.http().put(`/api/projects/${project}/members/${u.id}`).set('authorization', `Bearer ${sys.adminToken}`).send({ roles: ['annotator'] }).expect(204);
      await stats().expect(403);
      await sys.http().delete(`/api/projects/${project}/members/${u.id}`).set('authorization', `Bearer ${sys.adminToken}`).expect(204);
      await sys.http().post(`/api/projects/${project}/tasks/next`).set('authorization', `Bearer ${u.token}`).expect(403);
    });
  });

  it('the login cookie opens the admin queue dashboard; others get 401/403', async () => {
    const login = await sys.http().post('/api/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD }).expect(200);
    const cookie = login.headers['set-cookie'][0].split(';')[0];
    await sys.http().get('/api/admin/queues/').set('cookie', cookie).expect(200);
    await sys.http().get('/api/admin/queues/').expect(401);
    const { token } = await sys.user('not-admin', [Role.Manager]);
    await sys.http().get('/api/admin/queues/').set('authorization', `Bearer ${token}`).expect(403);
  });

  it('serves the OpenAPI document and metrics', async () => {
    const doc = await sys.http().get('/api/openapi.json').expect(200);
    expect(doc.body.paths['/api/auth/login']).toBeDefined();
    expect(doc.body.paths['/api/auth/login'].post.requestBody).toBeDefined();
    const metrics = await sys.http().get('/api/metrics').expect(200);
    expect(metrics.text).toMatch(/contour_http_request_duration_seconds_bucket/);
    expect(metrics.text).toMatch(/contour_queue_jobs\{queue="ingest",state="waiting"\}/);
  });

  it('health reports each dependency', async () => {
    const res = await sys.http().get('/api/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', postgres: { ok: true }, redis: { ok: true }, queues: { ok: true } });
  });
});
