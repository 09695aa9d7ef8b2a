import { Body, ConflictException, Controller, Get, NotFoundException, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AuditService } from '@contour/audit';
import { Access, actorOf, CurrentPrincipal, hashPassword, Principal, PrincipalCache } from '@contour/auth';
import { ALL_ROLES, Role, User } from '@contour/db';
import { toPublicUser } from '../auth/auth.service';
import { openapi } from '../system/openapi';

const roles = z.array(z.enum(ALL_ROLES as [Role, ...Role[]])).min(1, 'give at least one role');
const skills = z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'skills are lower-case tags of up to 64 characters, such as neuro-mr')).max(50);
const CreateUser = z.object({
  username: z.string().regex(/^[a-zA-Z0-9._-]{2,64}$/, 'use 2-64 letters, digits, ".", "_" or "-"'),
  displayName: z.string().min(1).max(200).optional(),
  password: z.string().min(8, 'passwords need at least 8 characters'),
  roles,
  skills: skills.default([]),
});
const UpdateUser = z.object({
  displayName: z.string().min(1).max(200).optional(),
  password: z.string().min(8, 'passwords need at least 8 characters').optional(),
  roles: roles.optional(),
  skills: skills.optional(),
  active: z.boolean().optional(),
});

@ApiTags('users')
@ApiBearerAuth()
@Controller('api/users')
export class UsersController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly principals: PrincipalCache,
  ) {}

  @Access({ roles: [Role.Admin] })
  @Post()
  @ApiBody(openapi(CreateUser))
  async create(@CurrentPrincipal() p: Principal, @Body({ schema: CreateUser }) body: z.infer<typeof CreateUser>) {
    const repo = this.dataSource.getRepository(User);
    const [taken]: { username: string }[] = await this.dataSource.query(`SELECT username FROM users WHERE lower(username) = lower($1)`, [body.username]);
    if (taken) throw new ConflictException(`The username ${body.username} is taken${taken.username === body.username ? '' : ` (by ${taken.username}: usernames are compared without case)`}`);
    const user = await repo
      .save({ username: body.username, displayName: body.displayName ?? body.username, passwordHash: await hashPassword(body.password), roles: body.roles, skills: body.skills })
      .catch((e: { driverError?: { code?: string } }) => {
        // Created by another request since the check (the unique index on lower(username) decides).
        if (e.driverError?.code === '23505') throw new ConflictException(`The username ${body.username} is taken (usernames are compared without case)`);
        throw e;
      });
    await this.audit.record(actorOf(p), { action: 'user.created', objectType: 'user', objectId: user.id, details: { username: user.username, roles: user.roles, skills: user.skills } });
    return toPublicUser(user);
  }

  /** Managers need the user list to add members to their projects. */
  @Access({ roles: [Role.Admin, Role.Manager] })
  @Get()
  async list() {
    const users = await this.dataSource.getRepository(User).find({ order: { username: 'ASC' } });
    return users.map(toPublicUser);
  }

  @Access({ roles: [Role.Admin] })
  @Patch(':id')
  @ApiBody(openapi(UpdateUser))
  async update(@CurrentPrincipal() p: Principal, @Param('id', { schema: z.uuid() }) id: string, @Body({ schema: UpdateUser }) body: z.infer<typeof UpdateUser>) {
    const repo = this.dataSource.getRepository(User);
    const user = await repo.findOneBy({ id });
    if (!user) throw new NotFoundException(`No user ${id}`);
    const { password, ...rest } = body;
    Object.assign(user, rest);
    if (password) user.passwordHash = await hashPassword(password);
    await repo.save(user);
    // Roles, skills or a disabled account take effect on the user's next request.
    this.principals.invalidate();
    await this.audit.record(actorOf(p), { action: 'user.updated', objectType: 'user', objectId: id, details: { ...rest, passwordChanged: Boolean(password) } });
    return toPublicUser(user);
  }
}
