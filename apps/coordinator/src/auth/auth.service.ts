import { Injectable, Logger, NotFoundException, OnApplicationBootstrap, UnauthorizedException, Inject } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { Actor, AuditService, systemActor } from '@contour/audit';
import { hashPassword, JwtClaims, newApiToken, PrincipalCache, verifyPassword } from '@contour/auth';
import { CONFIG, ContourConfig } from '@contour/config';
import { ApiToken, Role, User } from '@contour/db';

// A fixed hash to verify against when the user does not exist, so response time does not reveal usernames.
const DUMMY_HASH = '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$0Z2yK8b7o0zGQ8wQ3WmHcJ2yHqvF0m0V6m2mZ8s1k2o';

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CONFIG) private readonly config: ContourConfig,
    private readonly jwt: JwtService,
    private readonly audit: AuditService,
    private readonly principals: PrincipalCache,
  ) {}

  /** First start: create the `admin` account (password from CONTOUR_ADMIN_PASSWORD, or generated and printed once). */
  async onApplicationBootstrap() {
    const users = this.dataSource.getRepository(User);
    if (await users.existsBy({ username: 'admin' })) return;
    const generated = !this.config.auth.adminPassword;
    const password = this.config.auth.adminPassword ?? randomBytes(12).toString('base64url');
    const admin = await users
      .createQueryBuilder()
      .insert()
      .values({ username: 'admin', displayName: 'Administrator', passwordHash: await hashPassword(password), roles: [Role.Admin] })
      .orIgnore()
      .returning('id')
      .execute();
    if (!admin.identifiers.length || !admin.identifiers[0]) return; // another coordinator won the race
    await this.audit.record(systemActor('bootstrap'), { action: 'user.created', objectType: 'user', objectId: admin.identifiers[0].id, details: { username: 'admin', roles: [Role.Admin] } });
    if (generated) {
      // Printed once, on purpose, to stdout rather than the structured log.
      process.stdout.write(`\n  Contour admin account created: username "admin", password "${password}"\n  (set CONTOUR_ADMIN_PASSWORD to choose it; this is the only time it is shown)\n\n`);
    } else {
      this.logger.log('Created admin account with the password from CONTOUR_ADMIN_PASSWORD');
    }
  }

  async login(username: string, password: string, ip: string | null): Promise<{ accessToken: string; expiresIn: number; user: PublicUser }> {
    // Whatever its case (one account per username without case, users_username_lower).
    const user = await this.dataSource.getRepository(User).createQueryBuilder('u').where('lower(u.username) = lower(:username)', { username }).getOne();
    const ok = await verifyPassword(user?.passwordHash ?? DUMMY_HASH, password);
    if (!user || !ok || !user.active) {
      await this.audit.record({ id: user?.id ?? null, name: username, ip }, { action: 'auth.login.failed', objectType: 'user', objectId: user?.id ?? null });
      throw new UnauthorizedException('Wrong username or password');
    }
    const claims: JwtClaims = { sub: user.id, username: user.username };
    const accessToken = await this.jwt.signAsync(claims);
    await this.audit.record({ id: user.id, name: user.username, ip }, { action: 'auth.login', objectType: 'user', objectId: user.id });
    return { accessToken, expiresIn: this.config.auth.jwtTtlSeconds, user: toPublicUser(user) };
  }

  async createApiToken(actor: Actor, name: string, expiresInDays?: number) {
    const { secret, hash } = newApiToken();
    const expiresAt = expiresInDays ? new Date(Date.now() + expiresInDays * 86400_000) : null;
    const token = await this.dataSource.getRepository(ApiToken).save({ userId: actor.id!, name, tokenHash: hash, expiresAt });
    await this.audit.record(actor, { action: 'auth.api-token.created', objectType: 'api_token', objectId: token.id, details: { name, expiresAt } });
    return { id: token.id, name, token: secret, expiresAt };
  }

  listApiTokens(userId: string) {
    return this.dataSource.getRepository(ApiToken).find({
      where: { userId, revokedAt: IsNull() },
      select: { id: true, name: true, createdAt: true, expiresAt: true, lastUsedAt: true },
      order: { createdAt: 'ASC' },
    });
  }

  async revokeApiToken(actor: Actor, id: string) {
    const result = await this.dataSource.getRepository(ApiToken).update({ id, userId: actor.id!, revokedAt: IsNull() }, { revokedAt: new Date() });
    if (!result.affected) throw new NotFoundException(`No active API token ${id}`);
    this.principals.invalidate();
    await this.audit.record(actor, { action: 'auth.api-token.revoked', objectType: 'api_token', objectId: id });
  }
}

export type PublicUser = Pick<User, 'id' | 'username' | 'displayName' | 'roles' | 'skills' | 'active' | 'createdAt'>;
export const toPublicUser = (u: User): PublicUser => ({
  id: u.id,
  username: u.username,
  displayName: u.displayName,
  roles: u.roles,
  skills: u.skills,
  active: u.active,
  createdAt: u.createdAt,
});
