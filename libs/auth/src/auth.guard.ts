import { CanActivate, ExecutionContext, ForbiddenException, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { DataSource, IsNull } from 'typeorm';
import { ApiToken, Project, ProjectMember, User } from '@contour/db';
import { ACCESS, AccessSpec, decideAccess } from './access';
import { hashApiToken, isApiToken } from './api-tokens';
import { Principal } from './principal';

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
    if (k === AUTH_COOKIE) return decodeURIComponent(v.join('='));
  }
  return null;
}

@Injectable()
export class PrincipalResolver {
  constructor(
    private readonly jwt: JwtService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** The user behind a credential, or null when the credential is invalid, expired, revoked or disabled. */
  async resolve(credential: string): Promise<Principal | null> {
    let userId: string;
    let via: Principal['via'];
    if (isApiToken(credential)) {
      const token = await this.dataSource.getRepository(ApiToken).findOneBy({ tokenHash: hashApiToken(credential), revokedAt: IsNull() });
      if (!token || (token.expiresAt && token.expiresAt < new Date())) return null;
      userId = token.userId;
      via = 'api-token';
      void this.dataSource.getRepository(ApiToken).update(token.id, { lastUsedAt: new Date() }).catch(() => undefined);
    } else {
      try {
        userId = (await this.jwt.verifyAsync<JwtClaims>(credential)).sub;
      } catch {
        return null;
      }
      via = 'jwt';
    }
    const user = await this.dataSource.getRepository(User).findOneBy({ id: userId });
    if (!user || !user.active) return null;
    return { userId: user.id, username: user.username, roles: user.roles, skills: user.skills, via };
  }

  async projectRoles(projectId: string, userId: string) {
    const member = await this.dataSource.getRepository(ProjectMember).findOneBy({ projectId, userId });
    return member?.roles ?? null;
  }

  async projectExists(projectId: string) {
    return this.dataSource.getRepository(Project).existsBy({ id: projectId });
  }
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
    if (!credential) throw new UnauthorizedException('Sign in first: send "Authorization: Bearer <token>" (POST /api/auth/login gives one)');
    const principal = await this.principals.resolve(credential);
    if (!principal) throw new UnauthorizedException('The token is invalid, expired or revoked, or the account is disabled: sign in again');
    principal.ip = req.ip ?? null;
    req.principal = principal;

    let projectRoles: Principal['projectRoles'] = null;
    if (spec.project) {
      const projectId = req.params[spec.project.param];
      if (typeof projectId !== 'string' || !UUID.test(projectId)) throw new NotFoundException(`No project ${projectId}`);
      projectRoles = await this.principals.projectRoles(projectId, principal.userId);
      principal.projectRoles = projectRoles;
    }
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
    if (spec.project && principal.roles.includes('admin' as never) && !(await this.principals.projectExists(req.params[spec.project.param] as string))) {
      throw new NotFoundException(`No project ${req.params[spec.project.param]}`);
    }
    return true;
  }
}
