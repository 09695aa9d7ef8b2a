import type { Actor } from '@contour/audit';
import type { ProjectRole, Role } from '@contour/db';

/** The authenticated caller, attached to each request by the AuthGuard. */
export interface Principal {
  userId: string;
  username: string;
  roles: Role[];
  skills: string[];
  /** Skills the caller's membership of the named project adds (empty without one). */
  projectSkills?: string[];
  /** How the caller authenticated. */
  via: 'jwt' | 'api-token';
  /** The caller's roles in the project the route names, when it names one. */
  projectRoles?: ProjectRole[] | null;
  ip?: string | null;
}

export const actorOf = (p: Principal): Actor => ({ id: p.userId, name: p.username, ip: p.ip ?? null });
