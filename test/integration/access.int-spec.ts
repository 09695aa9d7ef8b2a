// Every endpoint's access rule, checked over HTTP: 401 without a credential, 403 for a wrong role or a
// project the caller does not belong to, and success for the roles that should pass. The test also fails
// when an endpoint exists that this table does not list, so new endpoints cannot skip it.
import { RequestMethod } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { ProjectRole, Role } from '@contour/db';
import { RouteAccessCheck } from '../../apps/coordinator/src/system/route-access.check';
import { ADMIN_PASSWORD, startSystem, TestSystem } from '../support/system';

type Who = 'admin' | 'manager' | 'annotator' | 'reviewer' | 'outsider';
interface RouteCase {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  /** Callers that must get past the access check (any status but 401/403). */
  allowed: Who[] | 'public';
  body?: object;
}

const P = ':project';
const ROUTES: RouteCase[] = [
  { method: 'post', path: '/api/auth/login', allowed: 'public', body: { username: 'admin', password: ADMIN_PASSWORD } },
  { method: 'post', path: '/api/auth/logout', allowed: 'public' },
  { method: 'get', path: '/api/auth/me', allowed: ['admin', 'manager', 'annotator', 'reviewer', 'outsider'] },
  { method: 'post', path: '/api/auth/tokens', allowed: ['admin', 'manager', 'annotator', 'reviewer', 'outsider'], body: { name: 't' } },
  { method: 'get', path: '/api/auth/tokens', allowed: ['admin', 'manager', 'annotator', 'reviewer', 'outsider'] },
  { method: 'delete', path: '/api/auth/tokens/00000000-0000-4000-8000-000000000000', allowed: ['admin', 'manager', 'annotator', 'reviewer', 'outsider'] },
  { method: 'post', path: '/api/users', allowed: ['admin'], body: { username: 'new-user', password: 'password-1', roles: ['annotator'] } },
  { method: 'get', path: '/api/users', allowed: ['admin', 'manager', 'outsider'] },
  { method: 'patch', path: '/api/users/00000000-0000-4000-8000-000000000000', allowed: ['admin'], body: {} },
  { method: 'post', path: '/api/projects', allowed: ['admin', 'manager', 'outsider'], body: { name: 'p-' } },
  { method: 'get', path: '/api/projects', allowed: ['admin', 'manager', 'annotator', 'reviewer', 'outsider'] },
  { method: 'get', path: `/api/projects/${P}`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'patch', path: `/api/projects/${P}`, allowed: ['admin', 'manager'], body: {} },
  { method: 'get', path: `/api/projects/${P}/members`, allowed: ['admin', 'manager'] },
  { method: 'put', path: `/api/projects/${P}/members/00000000-0000-4000-8000-000000000000`, allowed: ['admin', 'manager'], body: { roles: ['annotator'] } },
  { method: 'delete', path: `/api/projects/${P}/members/00000000-0000-4000-8000-000000000000`, allowed: ['admin', 'manager'] },
  { method: 'post', path: `/api/projects/${P}/uploads`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/uploads`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/uploads/00000000-0000-4000-8000-000000000000`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/series`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/api/projects/${P}/studies`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/api/projects/${P}/studies/00000000-0000-4000-8000-000000000000/deid-report`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/instances`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/api/projects/${P}/instances/00000000-0000-4000-8000-000000000000/file`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/api/projects/${P}/instances/00000000-0000-4000-8000-000000000000/volume`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/api/projects/${P}/ae-routes`, allowed: ['admin', 'manager'] },
  { method: 'put', path: `/api/projects/${P}/ae-routes/:ae`, allowed: ['admin', 'manager'] },
  { method: 'delete', path: `/api/projects/${P}/ae-routes/:ae`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/sources`, allowed: ['admin', 'manager'] },
  { method: 'post', path: `/api/projects/${P}/sources`, allowed: ['admin', 'manager'], body: { name: 'x', url: 'not a url' } },
  { method: 'get', path: `/api/projects/${P}/sources/00000000-0000-4000-8000-000000000000/studies`, allowed: ['admin', 'manager'] },
  { method: 'post', path: `/api/projects/${P}/sources/00000000-0000-4000-8000-000000000000/imports`, allowed: ['admin', 'manager'], body: {} },
  { method: 'delete', path: `/api/projects/${P}/sources/00000000-0000-4000-8000-000000000000`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/quarantine`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/quarantine/00000000-0000-4000-8000-000000000000/file`, allowed: ['admin'] },
  { method: 'post', path: `/api/projects/${P}/quarantine/00000000-0000-4000-8000-000000000000/reprocess`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/privacy-review`, allowed: ['admin', 'manager'] },
  { method: 'post', path: `/api/projects/${P}/privacy-review/00000000-0000-4000-8000-000000000000`, allowed: ['admin', 'manager'], body: { decision: 'clear' } },
  { method: 'post', path: `/api/projects/${P}/privacy-review/series/00000000-0000-4000-8000-000000000000`, allowed: ['admin', 'manager'], body: { decision: 'clear' } },
  { method: 'get', path: `/api/admin/projects/${P}/reid-keys`, allowed: ['admin'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/series`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/instances`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/instances`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/instances/:sop`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/instances/:sop/frames/:frames`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/instances/:sop/rendered`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/instances/:sop/frames/:frames/rendered`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/instances`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/instances/:sop/thumbnail`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/instances/:sop/frames/:frames/thumbnail`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/thumbnail`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/thumbnail`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/metadata`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/metadata`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/instances/:sop/metadata`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/dicom-web/projects/${P}/studies/:study/series/:series/instances/:sop/bulkdata/:path`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'post', path: `/dicom-web/projects/${P}/studies`, allowed: ['admin', 'manager'] },
  { method: 'post', path: `/dicom-web/projects/${P}/studies/:study`, allowed: ['admin', 'manager'] },
  { method: 'post', path: `/api/projects/${P}/tasks/next`, allowed: ['admin', 'annotator'], body: {} },
  { method: 'get', path: `/api/projects/${P}/my/reads`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'post', path: `/api/projects/${P}/reads/:read/heartbeat`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'post', path: `/api/projects/${P}/reads/:read/release`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'put', path: `/api/projects/${P}/reads/:read/draft`, allowed: ['admin', 'annotator', 'reviewer'], body: { answers: { q: 1 } } },
  { method: 'post', path: `/api/projects/${P}/reads/:read/submit`, allowed: ['admin', 'annotator'], body: { answers: { q: 1 } } },
  { method: 'post', path: `/api/projects/${P}/reviews/next`, allowed: ['admin', 'reviewer'], body: {} },
  { method: 'post', path: `/api/projects/${P}/reads/:read/review`, allowed: ['admin', 'reviewer'], body: { decision: 'approve' } },
  { method: 'post', path: `/api/projects/${P}/reads/:read/adjudicate`, allowed: ['admin', 'reviewer'], body: {} },
  { method: 'get', path: `/api/projects/${P}/tasks/:task`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/api/projects/${P}/tasks/:task/labels/:version`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/api/projects/${P}/tasks/:task/labels/:version/seg`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'get', path: `/api/projects/${P}/tasks`, allowed: ['admin', 'manager'] },
  { method: 'patch', path: `/api/projects/${P}/tasks/:task`, allowed: ['admin', 'manager'], body: { priority: 1 } },
  { method: 'post', path: `/api/projects/${P}/tasks/assign`, allowed: ['admin', 'manager'], body: {} },
  { method: 'post', path: `/api/projects/${P}/tasks/:task/decisions/:decision`, allowed: ['admin', 'manager'], body: {} },
  { method: 'get', path: `/api/projects/${P}/tasks/:task/history`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/stats`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/tasks/counts`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/protocols`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'post', path: `/api/projects/${P}/protocols`, allowed: ['admin', 'manager'], body: {} },
  { method: 'post', path: `/api/projects/${P}/split`, allowed: ['admin', 'manager'] },
  { method: 'post', path: '/api/models', allowed: ['admin'] },
  { method: 'get', path: '/api/models', allowed: ['admin', 'manager', 'outsider'] },
  { method: 'get', path: `/api/projects/${P}/tasks/:task/prelabel`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'post', path: `/api/projects/${P}/tasks/:task/prelabel`, allowed: ['admin', 'manager', 'annotator'] },
  { method: 'get', path: `/api/projects/${P}/series/:series/volume`, allowed: ['admin', 'manager', 'annotator', 'reviewer'] },
  { method: 'post', path: `/api/projects/${P}/exports`, allowed: ['admin', 'manager'], body: { options: { formats: [] } } },
  { method: 'get', path: `/api/projects/${P}/exports`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/exports/:export`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/exports/:export/download`, allowed: ['admin', 'manager'] },
  { method: 'get', path: `/api/projects/${P}/exports/:export/balance-report`, allowed: ['admin', 'manager'] },
  { method: 'get', path: '/api/audit', allowed: ['admin'] },
  { method: 'get', path: `/api/projects/${P}/audit`, allowed: ['admin', 'manager'] },
  { method: 'get', path: '/api/health', allowed: 'public' },
  { method: 'get', path: '/api/metrics', allowed: 'public' },
];

describe('access control on every endpoint', () => {
  let sys: TestSystem;
  const tokens = {} as Record<Who, string>;
  let projectId: string;

  beforeAll(async () => {
    sys = await startSystem();
    tokens.admin = sys.adminToken;
    const manager = await sys.user('manager', [Role.Manager]);
    const annotator = await sys.user('annotator', [Role.Annotator]);
    const reviewer = await sys.user('reviewer', [Role.Reviewer]);
    // An outsider holds every non-admin system role but no membership of the project.
    const outsider = await sys.user('outsider', [Role.Manager, Role.Annotator, Role.Reviewer]);
    Object.assign(tokens, { manager: manager.token, annotator: annotator.token, reviewer: reviewer.token, outsider: outsider.token });
    const project = await sys.http().post('/api/projects').set('authorization', `Bearer ${tokens.manager}`).send({ name: 'access-matrix' });
    projectId = project.body.id;
    for (const [user, role] of [[annotator, ProjectRole.Annotator], [reviewer, ProjectRole.Reviewer]] as const) {
      await sys.http().put(`/api/projects/${projectId}/members/${user.id}`).set('authorization', `Bearer ${tokens.manager}`).send({ roles: [role] }).expect(204);
    }
  });
  afterAll(() => sys.close());

  it('lists every route the coordinator serves', () => {
    const discovery = sys.app.get(DiscoveryService);
    const scanner = sys.app.get(MetadataScanner);
    const served: string[] = [];
    for (const wrapper of discovery.getControllers()) {
      const proto = Object.getPrototypeOf(wrapper.instance);
      const base = Reflect.getMetadata('path', wrapper.metatype as object) as string;
      for (const m of scanner.getAllMethodNames(proto)) {
        const path = Reflect.getMetadata('path', proto[m]);
        if (path === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata('method', proto[m]) as number].toLowerCase();
        served.push(`${method} /${[base, path].filter((x) => x && x !== '/').join('/')}`.replace(/\/+/g, '/'));
      }
    }
    const normalise = (p: string) => p.replace(/[0-9a-f-]{36}/g, ':id').replace(/:\w+/g, ':id');
    const tested = new Set(ROUTES.map((r) => normalise(`${r.method} ${r.path}`)));
    expect(served.map(normalise).filter((r) => !tested.has(r))).toEqual([]);
    expect(sys.app.get(RouteAccessCheck).undeclaredRoutes()).toEqual([]);
  });

  describe.each(ROUTES)('$method $path', (route) => {
    const call = (token?: string) => {
      const path = route.path
        .replace(P, projectId)
        .replace(':study', '1.2.3')
        .replace(':series', '1.2.4')
        .replace(':sop', '1.2.5')
        .replace(':frames', '1')
        .replace(':ae', 'MODALITY1')
        .replace(':decision', 'cancel')
        .replace(/:(read|task|version|export)/g, '00000000-0000-4000-8000-000000000000')
        .replace(':series', '00000000-0000-4000-8000-000000000000');
      const req = sys.http()[route.method](path);
      if (token) req.set('authorization', `Bearer ${token}`);
      return route.body ? req.send(route.method === 'post' && route.path === '/api/projects' ? { name: `p-${Math.random()}` } : route.body) : req;
    };

    if (route.allowed === 'public') {
      it('is public', async () => {
        expect([401, 403]).not.toContain((await call()).status);
      });
      return;
    }
    const allowed = route.allowed;
    it('answers 401 without a token and with a bad token', async () => {
      expect((await call()).status).toBe(401);
      expect((await call('not-a-token')).status).toBe(401);
      expect((await call('ctr_not-a-real-api-token')).status).toBe(401);
    });
    it.each(['admin', 'manager', 'annotator', 'reviewer', 'outsider'] as Who[])('as %s', async (who) => {
      const res = await call(tokens[who]);
      if (allowed.includes(who)) expect([401, 403]).not.toContain(res.status);
      else {
        expect(res.status).toBe(403);
        expect(res.body.message).toMatch(/needs one of|not a member/);
      }
    });
  });

  it('answers 404 for a project that does not exist, even for admins', async () => {
    const res = await sys.http().get('/api/projects/00000000-0000-4000-8000-000000000000').set('authorization', `Bearer ${tokens.admin}`);
    expect(res.status).toBe(404);
  });
});
