import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { ProjectRole, Role } from '@contour/db';
import { openapi } from '../system/openapi';
import { ProjectsService } from './projects.service';

const CreateProject = z.object({
  name: z.string().min(1).max(200),
  description: z.string().max(10_000).optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
});
// A field Contour does not know is refused, not ignored ({"name": …} answered 200 and changed nothing).
const UpdateProject = z.strictObject({ name: z.string().trim().min(1).max(200).optional(), description: z.string().max(10_000).optional(), settings: z.record(z.string(), z.unknown()).optional() });
const SetMember = z.object({
  // A role named twice is kept once (it was stored twice).
  roles: z.array(z.enum(Object.values(ProjectRole) as [ProjectRole, ...ProjectRole[]])).min(1, 'give at least one project role').transform((r) => [...new Set(r)]),
  skills: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'skills are lower-case tags of up to 64 characters, such as neuro-mr')).max(50).default([]),
});
const uuid = { schema: z.uuid() };

@ApiTags('projects')
@ApiBearerAuth()
@Controller('api/projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Access({ roles: [Role.Manager] })
  @Post()
  @ApiBody(openapi(CreateProject))
  create(@CurrentPrincipal() p: Principal, @Body({ schema: CreateProject }) body: z.infer<typeof CreateProject>) {
    return this.projects.create(actorOf(p), body);
  }

  @Access({})
  @Get()
  list(@CurrentPrincipal() p: Principal) {
    return this.projects.listFor(p);
  }

  @Access({ project: { param: 'projectId' } })
  @Get(':projectId')
  get(@Param('projectId', uuid) projectId: string) {
    return this.projects.get(projectId);
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Patch(':projectId')
  @ApiBody(openapi(UpdateProject))
  update(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Body({ schema: UpdateProject }) body: z.infer<typeof UpdateProject>) {
    return this.projects.update(actorOf(p), projectId, body);
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get(':projectId/members')
  members(@Param('projectId', uuid) projectId: string) {
    return this.projects.members(projectId);
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Put(':projectId/members/:userId')
  @HttpCode(204)
  @ApiBody(openapi(SetMember))
  setMember(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('userId', uuid) userId: string, @Body({ schema: SetMember }) body: z.infer<typeof SetMember>) {
    return this.projects.setMember(actorOf(p), projectId, userId, body.roles, body.skills);
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Delete(':projectId/members/:userId')
  @HttpCode(204)
  removeMember(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('userId', uuid) userId: string) {
    return this.projects.removeMember(actorOf(p), projectId, userId);
  }
}
