import { projectNavLinks, projectWorkspaces } from './project-nav';

describe('projectWorkspaces', () => {
  it.each([
    ['an annotator annotates only', ['annotator'], ['annotator'], ['annotate']],
    ['a reviewer reviews only', ['reviewer'], ['reviewer'], ['review']],
    ['a project manager manages only', ['manager'], ['manager'], ['manage']],
    ['several project roles: each of their workspaces', ['annotator'], ['annotator', 'reviewer', 'manager'], ['annotate', 'review', 'manage']],
    ['an admin sees all, member or not', ['admin'], null, ['annotate', 'review', 'manage']],
    ['a system manager annotating in this project does not manage it', ['manager'], ['annotator'], ['annotate']],
    ['not a member: nothing', ['manager'], null, []],
    ['a membership without roles: nothing', ['annotator'], [], []],
  ] as [string, string[], string[] | null, string[]][])('%s', (_name, system, project, expected) => {
    expect(projectWorkspaces(system, project)).toEqual(expected);
  });
});

describe('projectNavLinks', () => {
  it.each([
    ['an annotator', ['annotator'], ['annotator'], [['/projects/p1/annotate', 'Annotate']]],
    ['a reviewer and manager, in workspace order', ['manager'], ['manager', 'reviewer'], [['/projects/p1/review', 'Review'], ['/projects/p1/manage', 'Manage']]],
    ['an admin', ['admin'], null, [['/projects/p1/annotate', 'Annotate'], ['/projects/p1/review', 'Review'], ['/projects/p1/manage', 'Manage']]],
  ] as [string, string[], string[] | null, [string, string][]][])('%s', (_name, system, project, expected) => {
    expect(projectNavLinks('p1', system, project)).toEqual(expected);
  });
});
