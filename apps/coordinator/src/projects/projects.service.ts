import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { mergeSettings, parseProjectSettings, ProjectSettings } from '@contour/workflow';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { Actor, AuditService } from '@contour/audit';
import { Principal, PrincipalCache } from '@contour/auth';
import { Model, Project, ProjectMember, ProjectRole, Role, User } from '@contour/db';
import { RoutingService } from '@contour/tasks';
import { JobName, JobQueue } from '@contour/queue';

/** Settings with defaults filled in; a bad field is a 400 naming it. */
function validSettings(raw: Record<string, unknown>): Record<string, unknown> {
  const parsed = ProjectSettings.safeParse(raw);
  if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `settings.${i.path.join('.')}: ${i.message}`));
  return parsed.data as unknown as Record<string, unknown>;
}

@Injectable()
export class ProjectsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly routing: RoutingService,
    private readonly jobs: JobQueue,
    private readonly principals: PrincipalCache,
  ) {}

  async create(actor: Actor, input: { name: string; description?: string; settings?: Record<string, unknown> }) {
    const settings = validSettings(input.settings ?? {});
    await this.checkModels(parseProjectSettings(settings).prelabelModels, []);
    return this.dataSource.transaction(async (m) => {
      if (await m.existsBy(Project, { name: input.name })) throw new ConflictException(`A project named "${input.name}" already exists`);
      const project = await m.save(Project, { name: input.name, description: input.description ?? '', settings, createdBy: actor.id });
      // The creator manages the project.
      await m.save(ProjectMember, { projectId: project.id, userId: actor.id!, roles: [ProjectRole.Manager] });
      await this.audit.record(actor, { action: 'project.created', objectType: 'project', objectId: project.id, projectId: project.id, details: { name: project.name } }, m);
      return project;
    });
  }

  /** Admins see every project; everyone else the projects they belong to, with their roles there. */
  async listFor(p: Principal) {
    const qb = this.dataSource
      .getRepository(Project)
      .createQueryBuilder('p')
      .leftJoin(ProjectMember, 'm', 'm.project_id = p.id AND m.user_id = :userId', { userId: p.userId })
      .select(['p.id AS id', 'p.name AS name', 'p.description AS description', 'p.created_at AS "createdAt"', 'm.roles AS "myRoles"'])
      .orderBy('p.name', 'ASC');
    if (!p.roles.includes(Role.Admin)) qb.where('m.user_id IS NOT NULL');
    return qb.getRawMany();
  }

  async get(projectId: string) {
    const project = await this.dataSource.getRepository(Project).findOneBy({ id: projectId });
    if (!project) throw new NotFoundException(`No project ${projectId}`);
    return project;
  }

  async update(actor: Actor, projectId: string, patch: { name?: string; description?: string; settings?: Record<string, unknown> }) {
    // Read, merge and write under the project's row lock: two partial changes at once each keep the other's fields.
    const { project, modelsBefore, holdBefore } = await this.dataSource.transaction(async (m) => {
      const locked = await m.getRepository(Project).createQueryBuilder('p').setLock('pessimistic_write').where('p.id = :projectId', { projectId }).getOne();
      if (!locked) throw new NotFoundException(`No project ${projectId}`);
      const before = { models: JSON.stringify(parseProjectSettings(locked.settings).prelabelModels), hold: parseProjectSettings(locked.settings).deid.burnedInHold };
      if (patch.name !== undefined && patch.name !== locked.name) {
        if (await m.getRepository(Project).existsBy({ name: patch.name })) throw new ConflictException(`A project named "${patch.name}" already exists`);
        locked.name = patch.name;
      }
      if (patch.description !== undefined) locked.description = patch.description;
      if (patch.settings) locked.settings = validSettings(mergeSettings(locked.settings, patch.settings));
      await this.checkModels(parseProjectSettings(locked.settings).prelabelModels, JSON.parse(before.models) as string[]);
      try {
        await m.getRepository(Project).save(locked);
      } catch (e) {
        // Another project took the name in between.
        if ((e as { code?: string; driverError?: { code?: string } }).driverError?.code === '23505') throw new ConflictException(`A project named "${patch.name}" already exists`);
        throw e;
      }
      await this.audit.record(actor, { action: 'project.updated', objectType: 'project', objectId: projectId, projectId, details: patch }, m);
      return { project: locked, modelsBefore: before.models, holdBefore: before.hold };
    });
    // New pre-label models (a new version, one added or removed): tasks nobody has started are drafted again, by a
    // job (a project can hold thousands of them).
    if (JSON.stringify(parseProjectSettings(project.settings).prelabelModels) !== modelsBefore)
      await this.jobs.add(JobName.RedraftProject, { projectId, actor: { id: actor.id, name: actor.name } });
    // A hold that now holds less: the studies are split again, so images no longer held get their tasks (tasks
    // made before a hold was raised are not recalled: see the README).
    if (parseProjectSettings(project.settings).deid.burnedInHold !== holdBefore) {
      const studies: { id: string }[] = await this.dataSource.query(`SELECT id FROM studies WHERE project_id = $1`, [projectId]);
      await this.jobs.addBulk(JobName.SplitStudy, studies.map(({ id }) => ({ data: { studyId: id }, options: { deduplication: { id: `split-${id}`, ttl: 1500 } } })));
    }
    return project;
  }

  /**
   * Pre-label models named that were not named before must be registered (an id that was not one was stored, and every
   * pre-label job of the project then failed on it). Those named before stay, registered or not.
   */
  private async checkModels(ids: string[], before: string[]) {
    const added = [...new Set(ids.filter((id) => !before.includes(id)))];
    if (!added.length) return;
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    const known = new Set((await this.dataSource.getRepository(Model).findBy({ id: In(added.filter((id) => uuid.test(id))) })).map((m) => m.id));
    const unknown = added.filter((id) => !known.has(id));
    if (unknown.length) throw new BadRequestException(`settings.prelabelModels: ${unknown.map((id) => `"${id.slice(0, 80)}"`).join(', ')} ${unknown.length > 1 ? 'are not registered models' : 'is not a registered model'}: use the id of a model from GET /api/models`);
  }

  /**
   * The members, each with the skills the project gives them (`skills`, what PUT …/members/{id} sets), those of their
   * account (`accountSkills`, every project) and both together, without repeats (`effectiveSkills`, what routing uses).
   * `skills` was both lists run together: a form that saved it back stored the account's skills in the project, once
   * more on every save.
   */
  async members(projectId: string) {
    return this.dataSource
      .getRepository(ProjectMember)
      .createQueryBuilder('m')
      .innerJoin(User, 'u', 'u.id = m.user_id')
      .select(['m.user_id AS "userId"', 'u.username AS username', 'u.display_name AS "displayName"', 'm.roles AS roles', 'm.skills AS skills', 'u.skills AS "accountSkills"', 'ARRAY(SELECT DISTINCT x FROM unnest(array_cat(u.skills, m.skills)) x ORDER BY x) AS "effectiveSkills"'])
      .where('m.project_id = :projectId', { projectId })
      .orderBy('u.username', 'ASC')
      .getRawMany();
  }

  /**
   * Adds a member or changes their roles and skills. A member who loses the annotator role gives up the annotation
   * reads reserved for them or held by them (back to the pool, as when a member leaves); likewise the reviewer role
   * and their review reads.
   */
  async setMember(actor: Actor, projectId: string, userId: string, roles: ProjectRole[], skills: string[] = []) {
    await this.get(projectId);
    if (!(await this.dataSource.getRepository(User).existsBy({ id: userId }))) throw new NotFoundException(`No user ${userId}`);
    await this.dataSource.transaction(async (m) => {
      const before = await m.getRepository(ProjectMember).findOneBy({ projectId, userId });
      if (before?.roles.includes(ProjectRole.Manager) && !roles.includes(ProjectRole.Manager)) await this.keepAManager(m, projectId, userId);
      await m.getRepository(ProjectMember).upsert({ projectId, userId, roles, skills }, ['projectId', 'userId']);
      const lost = (role: ProjectRole) => Boolean(before?.roles.includes(role)) && !roles.includes(role);
      let released = 0;
      if (lost(ProjectRole.Annotator)) released += await this.routing.releaseMember(m, projectId, userId, actor, { kinds: ['annotation'], reason: 'no longer an annotator of the project' });
      if (lost(ProjectRole.Reviewer)) released += await this.routing.releaseMember(m, projectId, userId, actor, { kinds: ['review', 'adjudication'], reason: 'no longer a reviewer of the project' });
      await this.audit.record(actor, { action: 'project.member.set', objectType: 'project_member', objectId: userId, projectId, details: { roles, skills, ...(released ? { readsReleased: released } : {}) } }, m);
    });
    this.principals.invalidate();
  }

  /**
   * A project keeps at least one manager: the last one losing the role (or leaving) left nobody to run it but an
   * admin. Locks the project so two such changes at once cannot both pass.
   */
  private async keepAManager(m: EntityManager, projectId: string, leaving: string) {
    // The project row first: two managers stepping down at once each locked the other's row, a deadlock.
    await m.query(`SELECT 1 FROM projects WHERE id = $1 FOR UPDATE`, [projectId]);
    const others: unknown[] = await m.query(`SELECT user_id FROM project_members WHERE project_id = $1 AND user_id <> $2 AND $3 = ANY(roles) FOR UPDATE`, [projectId, leaving, ProjectRole.Manager]);
    if (!others.length) throw new ConflictException('This is the project\'s only manager: make someone else a manager of the project first');
  }

  /** Removes a member; the reads reserved for them or held by them go back to the pool (RoutingService.releaseMember). */
  async removeMember(actor: Actor, projectId: string, userId: string) {
    await this.dataSource.transaction(async (m) => {
      const member = await m.getRepository(ProjectMember).findOneBy({ projectId, userId });
      if (member?.roles.includes(ProjectRole.Manager)) await this.keepAManager(m, projectId, userId);
      const result = await m.getRepository(ProjectMember).delete({ projectId, userId });
      if (!result.affected) throw new NotFoundException(`User ${userId} is not a member of this project`);
      const released = await this.routing.releaseMember(m, projectId, userId, actor);
      await this.audit.record(actor, { action: 'project.member.removed', objectType: 'project_member', objectId: userId, projectId, details: { readsReleased: released } }, m);
    });
    this.principals.invalidate();
  }
}
