// Which workspaces of a project a user may open: the links of the project navigation and the manager dashboard's
// gate. The API decides access the same way (libs/auth decideAccess): admins pass every project check; everyone
// else needs the project role (a system manager who is not a manager of the project is refused there too).

export type Workspace = 'annotate' | 'review' | 'manage';

const WORKSPACES: { workspace: Workspace; role: string; text: string }[] = [
  { workspace: 'annotate', role: 'annotator', text: 'Annotate' },
  { workspace: 'review', role: 'reviewer', text: 'Review' },
  { workspace: 'manage', role: 'manager', text: 'Manage' },
];

/** The workspaces open to a user with these system roles and these roles in the project (null: not a member). */
export function projectWorkspaces(systemRoles: readonly string[], projectRoles: readonly string[] | null | undefined): Workspace[] {
  const admin = systemRoles.includes('admin');
  return WORKSPACES.filter((w) => admin || (projectRoles ?? []).includes(w.role)).map((w) => w.workspace);
}

/** The navigation links of a project, in the order of the workspaces: [href, text]. */
export function projectNavLinks(projectId: string, systemRoles: readonly string[], projectRoles: readonly string[] | null | undefined): [string, string][] {
  const open = projectWorkspaces(systemRoles, projectRoles);
  return WORKSPACES.filter((w) => open.includes(w.workspace)).map((w) => [`/projects/${projectId}/${w.workspace}`, w.text]);
}
