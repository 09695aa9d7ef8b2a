import { CanActivate, ExecutionContext, ForbiddenException, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { ApiToken, preparedQuery, ProjectRole } from '@contour/db';
import { ACCESS, AccessSpec, decideAccess } from './access';
import { hashApiToken, isApiToken } from './api-tokens';
import { Principal } from './principal';
import { PrincipalCache } from './principal-cache';

export const AUTH_COOKIE = 'contour_token';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface JwtClaims {
  sub: string;
  username: string;
}

/** Pulls the bearer credential from the Authorization header, or from the session cookie for browser pages. */
export function credentialOf(req: Pick<Request, 'headers'>): string | null {
  const header = req.headers.authorization;
  if (header) {
    const [scheme, value] = header.split(' ');
    return scheme?.toLowerCase() === 'bearer' && value ? value : null;
  }
  const cookie = req.headers.cookie;
  if (!cookie) return null;
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== AUTH_COOKIE) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return null; // not percent-encoded as Contour sets it (URIError): no credential, so a 401 rather than a 500
    }
  }
  return null;
}

/** What one credential resolves to: the principal, and (when a project is named) the caller's membership of it. */
export interface ResolvedPrincipal {
  principal: Principal;
  /** Roles in the named project, null when not a member (or no project named). */
  projectRoles: ProjectRole[] | null;
  projectExists: boolean;
}

export interface PrincipalRow {
  id: string;
  username: string;
  roles: Principal['roles'];
  skills: string[];
  active: boolean;
  token_id: string | null;
  token_expires_at: Date | null;
  token_last_used_at: Date | null;
  project_roles: ProjectRole[] | null;
  project_skills: string[] | null;
  project_exists: boolean;
}

/** An API token's last_used_at is written at most this often (it is for "is this token still in use?", not audit). */
const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class PrincipalResolver {
  constructor(
    private readonly jwt: JwtService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: PrincipalCache<PrincipalRow>,
  ) {}

  /** The user behind a credential, or null when the credential is invalid, expired, revoked or disabled. */
  async resolve(credential: string): Promise<Principal | null> {
    return (await this.resolveFor(credential, null))?.principal ?? null;
  }

  /**
   * One statement per request: the credential's user, and their membership of `projectId` when given (every
   * API call goes through here, so this is the hottest query Contour has).
   */
  async resolveFor(credential: string, projectId: string | null): Promise<ResolvedPrincipal | null> {
    let via: Principal['via'];
    let who: string;
    /** $1: the API token's hash, or the user id a verified JWT names. */
    let key: string;
    if (isApiToken(credential)) {
      via = 'api-token';
      who = `JOIN api_tokens t ON t.user_id = u.id AND t.revoked_at IS NULL WHERE t.token_hash = $1`;
      key = hashApiToken(credential);
    } else {
      try {
        key = (await this.jwt.verifyAsync<JwtClaims>(credential)).sub;
      } catch {
        return null;
      }
      if (!UUID.test(key)) return null;
      via = 'jwt';
      who = `LEFT JOIN api_tokens t ON false WHERE u.id = $1`;
    }
    // Cached between requests (see PrincipalCache); else a prepared statement per credential kind, parsed and
    // planned once per connection. Only credentials that exist are cached.
    const cacheKey = `${via}:${key}:${projectId ?? ''}`;
    let row = this.cache.get(cacheKey);
    if (!row) {
      const stamp = this.cache.stamp();
      [row] = await preparedQuery<PrincipalRow>(
        this.dataSource,
        `auth-principal-${via}`,
        `SELECT u.id, u.username, u.roles, u.skills, u.active, t.id AS token_id, t.expires_at AS token_expires_at, t.last_used_at AS token_last_used_at,
                m.roles AS project_roles, m.skills AS project_skills, EXISTS (SELECT 1 FROM projects p WHERE p.id = $2) AS project_exists
           FROM users u
           LEFT JOIN project_members m ON m.user_id = u.id AND m.project_id = $2
           ${who}`,
        [key, projectId],
      );
      if (row) this.cache.set(cacheKey, row, stamp);
    }
    if (!row || !row.active) return null;
    if (row.token_id) {
      if (row.token_expires_at && row.token_expires_at < new Date()) return null;
      if (!row.token_last_used_at || Date.now() - row.token_last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
        // Noted on the (possibly cached) row too, so the next minute's requests do not write it again.
        row.token_last_used_at = new Date();
        void this.dataSource.getRepository(ApiToken).update(row.token_id, { lastUsedAt: new Date() }).catch(() => undefined);
      }
    }
    return {
      principal: { userId: row.id, username: row.username, roles: row.roles, skills: row.skills, projectSkills: row.project_skills ?? [], via },
      projectRoles: row.project_roles,
      projectExists: row.project_exists,
    };
  }
}

/** A 401 that names the scheme it takes (RFC 9110 11.6.1: DICOMweb clients and proxies look for WWW-Authenticate). */
function unauthorized(context: ExecutionContext, message: string): UnauthorizedException {
  context.switchToHttp().getResponse<{ setHeader?: (name: string, value: string) => void }>().setHeader?.('WWW-Authenticate', 'Bearer realm="contour"');
  return new UnauthorizedException(message);
}

/**
 * Global guard: 401 without a valid credential, 403 when the route's @Access spec is not met. A route without
 * @Access or @Public is refused (and the coordinator's start-up check names it).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly principals: PrincipalResolver,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const spec = this.reflector.getAllAndOverride<AccessSpec | undefined>(ACCESS, [context.getHandler(), context.getClass()]);
    if (!spec) throw new ForbiddenException('This route declares no access rule');
    if (spec.public) return true;
    const req = context.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const credential = credentialOf(req);
    if (!credential) throw unauthorized(context, 'Sign in first: send "Authorization: Bearer <token>" (POST /api/auth/login gives one)');
    let projectId: string | null = null;
    if (spec.project) {
      const param = req.params[spec.project.param];
      if (typeof param !== 'string' || !UUID.test(param)) throw new NotFoundException(`No project ${param}`);
      projectId = param;
    }
    const resolved = await this.principals.resolveFor(credential, projectId);
    if (!resolved) throw unauthorized(context, 'The token is invalid, expired or revoked, or the account is disabled: sign in again');
    const { principal } = resolved;
    principal.ip = req.ip ?? null;
    req.principal = principal;
    const projectRoles: Principal['projectRoles'] = spec.project ? resolved.projectRoles : null;
    if (spec.project) principal.projectRoles = projectRoles;
    const decision = decideAccess(spec, { roles: principal.roles, projectRoles });
    if (decision === 'forbidden-role') {
      throw new ForbiddenException(`This action needs one of the roles: ${spec.roles!.join(', ')}`);
    }
    if (decision === 'forbidden-project') {
      throw new ForbiddenException(
        projectRoles
          ? `This action needs one of these roles in the project: ${spec.project!.roles!.join(', ')}`
          : 'You are not a member of this project',
      );
    }
    if (spec.project && principal.roles.includes('admin' as never) && !resolved.projectExists) throw new NotFoundException(`No project ${projectId}`);
    return true;
  }
}
