import { ProjectRole, Role } from '@contour/db';
import { AccessSpec, decideAccess } from './access';

const A = Role.Admin, M = Role.Manager, N = Role.Annotator, R = Role.Reviewer;
const PM = ProjectRole.Manager, PA = ProjectRole.Annotator, PR = ProjectRole.Reviewer;

describe('decideAccess', () => {
  const cases: [string, AccessSpec, Role[], ProjectRole[] | null, ReturnType<typeof decideAccess>][] = [
    ['public route', { public: true }, [], null, 'allow'],
    ['admin passes role checks', { roles: [M] }, [A], null, 'allow'],
    ['admin passes project checks without membership', { project: { param: 'p', roles: [PM] } }, [A], null, 'allow'],
    ['system role matches', { roles: [M, N] }, [N], null, 'allow'],
    ['system role missing', { roles: [M] }, [N, R], null, 'forbidden-role'],
    ['no roles required', {}, [N], null, 'allow'],
    ['not a member', { project: { param: 'p' } }, [N], null, 'forbidden-project'],
    ['any membership', { project: { param: 'p' } }, [N], [PA], 'allow'],
    ['member without the project role', { project: { param: 'p', roles: [PM] } }, [M], [PA, PR], 'forbidden-project'],
    ['member with the project role', { project: { param: 'p', roles: [PM, PR] } }, [R], [PR], 'allow'],
    ['role and project both required, role missing', { roles: [M], project: { param: 'p' } }, [N], [PM], 'forbidden-role'],
  ];
  it.each(cases)('%s', (_name, spec, roles, projectRoles, expected) => {
    expect(decideAccess(spec, { roles, projectRoles })).toBe(expected);
  });
});
