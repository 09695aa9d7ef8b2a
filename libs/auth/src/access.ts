import { SetMetadata } from '@nestjs/common';
import { ProjectRole, Role } from '@contour/db';

export const ACCESS = 'contour:access';

/**
 * What a route needs. `roles`: any one of these system roles. `project`: the route parameter naming the
 * project, and any one of these roles in it (any membership when omitted). Admins pass every check.
 */
export interface AccessSpec {
  public?: boolean;
  roles?: Role[];
  project?: { param: string; roles?: ProjectRole[] };
}

/** Every route must declare its access with @Access or @Public; the coordinator refuses to start otherwise. */
export const Access = (spec: Omit<AccessSpec, 'public'>) => SetMetadata(ACCESS, spec);
export const Public = () => SetMetadata(ACCESS, { public: true } satisfies AccessSpec);

/** Pure decision: is a principal with these roles/memberships allowed by `spec`? */
export function decideAccess(
  spec: AccessSpec,
  principal: { roles: Role[]; projectRoles: ProjectRole[] | null },
): 'allow' | 'forbidden-role' | 'forbidden-project' {
  if (spec.public) return 'allow';
  if (principal.roles.includes(Role.Admin)) return 'allow';
  if (spec.roles?.length && !spec.roles.some((r) => principal.roles.includes(r))) return 'forbidden-role';
  if (spec.project) {
    if (!principal.projectRoles) return 'forbidden-project';
    if (spec.project.roles?.length && !spec.project.roles.some((r) => principal.projectRoles!.includes(r))) return 'forbidden-project';
  }
  return 'allow';
}
