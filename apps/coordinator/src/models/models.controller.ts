import { BadRequestException, Body, Controller, Get, Inject, NotFoundException, OnApplicationBootstrap, Param, Post, UploadedFile, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { FileInterceptor } from '@nestjs/platform-express';
import { readFile, rm } from 'node:fs/promises';
import { z } from 'zod';
import { AuditService } from '@contour/audit';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { Project, ProjectRole, Role, Task } from '@contour/db';
import { parseProjectSettings } from '@contour/workflow';
import { ModelRegistry } from '@contour/prelabel';
import { JobName, JobQueue, prelabelJobId, QueueName, REDIS } from '@contour/queue';
import type { Redis } from 'ioredis';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Job } from 'bullmq';

const uuid = { schema: z.uuid() };
export const LANE_PRIORITY = { interactive: 1, batch: 10 } as const;

/** Model registry (admins) and pre-label status with queue position and ETA (anyone on the project). */
@ApiTags('models')
@ApiBearerAuth()
@Controller('api')
export class ModelsController implements OnApplicationBootstrap {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly jobs: JobQueue,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly audit: AuditService,
  ) {}

  async onApplicationBootstrap() {
    await this.registry.ensureBuiltins();
  }

  /** multipart/form-data: `model` (the .onnx file) and `manifest` (JSON text). Refused with the mismatch named. */
  @Access({ roles: [Role.Admin] })
  @Post('models')
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', properties: { model: { type: 'string', format: 'binary' }, manifest: { type: 'string' } } } })
  @UseInterceptors(FileInterceptor('model'))
  async register(@CurrentPrincipal() p: Principal, @UploadedFile() file: Express.Multer.File | undefined, @Body() body: { manifest?: string }) {
    if (!file) throw new BadRequestException('Send the .onnx file in the "model" field');
    try {
      let manifest: unknown;
      try {
        manifest = JSON.parse(body.manifest ?? '');
      } catch {
        throw new BadRequestException('Send the manifest as JSON text in the "manifest" field');
      }
      const model = await this.registry.register(await readFile(file.path), manifest, actorOf(p));
      return { id: model.id, name: model.name, version: model.version, checksum: model.checksum };
    } finally {
      await rm(file.path, { force: true });
    }
  }

  @Access({ roles: [Role.Admin, Role.Manager] })
  @Get('models')
  async list() {
    return (await this.registry.list()).map((m) => ({ id: m.id, name: m.name, version: m.version, checksum: m.checksum, sizeBytes: Number(m.sizeBytes), builtin: m.builtin, manifest: m.manifest, createdAt: m.createdAt }));
  }

  /**
   * Where the task's pre-label job stands: state, position in the queue (1 = next), and an ETA from the recent
   * job durations and the number of workers. `POST` with {"lane":"interactive"} moves it ahead of the backlog.
   */
  @Access({ project: { param: 'projectId' } })
  @Get('projects/:projectId/tasks/:taskId/prelabel')
  async status(@Param('projectId', uuid) projectId: string, @Param('taskId', uuid) taskId: string) {
    const task = await this.dataSource.getRepository(Task).findOneBy({ id: taskId, projectId });
    if (!task) throw new NotFoundException(`No task ${taskId} in this project`);
    const queue = this.jobs.queue(QueueName.Prelabel);
    const job = await Job.fromId(queue, prelabelJobId(taskId, await this.projectModels(projectId)));
    if (!job) return { taskId, state: task.state === 'prelabelling' ? 'not-queued' : 'done', taskState: task.state };
    const state = await job.getState();
    const [workers, recent] = await Promise.all([queue.getWorkers(), queue.getJobs(['completed'], 0, 19, false)]);
    const durations = recent.filter((j) => j.finishedOn && j.processedOn).map((j) => j.finishedOn! - j.processedOn!);
    const meanMs = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : null;
    let position: number | null = null;
    if (state === 'prioritized' || state === 'waiting') {
      // Prioritized jobs sit in one sorted set ordered by (priority, arrival): the rank is the position.
      const rank = await this.redis.zrank(queue.keys.prioritized, job.id!);
      const waiting = state === 'waiting' ? await queue.getWaitingCount() : 0;
      position = (rank ?? waiting) + 1;
    }
    const active = await queue.getActiveCount();
    const slots = Math.max(1, workers.length);
    const etaSeconds = meanMs !== null && position !== null ? Math.round(((Math.ceil((position + active) / slots)) * meanMs) / 1000) : state === 'active' && meanMs !== null ? Math.round(Math.max(0, meanMs - (Date.now() - (job.processedOn ?? Date.now()))) / 1000) : null;
    return { taskId, taskState: task.state, state, lane: job.data.lane ?? 'batch', position, ahead: position !== null ? position - 1 + active : null, workers: workers.length, meanJobSeconds: meanMs !== null ? meanMs / 1000 : null, etaSeconds, failedReason: job.failedReason ?? null };
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Annotator, ProjectRole.Manager] } })
  @Post('projects/:projectId/tasks/:taskId/prelabel')
  async expedite(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('taskId', uuid) taskId: string) {
    const task = await this.dataSource.getRepository(Task).findOneBy({ id: taskId, projectId });
    if (!task) throw new NotFoundException(`No task ${taskId} in this project`);
    if (task.state !== 'prelabelling') throw new BadRequestException(`The task is ${task.state}: its pre-label step is over`);
    const models = await this.projectModels(projectId);
    const job = await Job.fromId(this.jobs.queue(QueueName.Prelabel), prelabelJobId(taskId, models));
    if (job && (await job.getState()) === 'prioritized') {
      await job.changePriority({ priority: LANE_PRIORITY.interactive });
      await job.updateData({ ...job.data, lane: 'interactive' });
    }
    else if (!job) await this.jobs.add(JobName.PrelabelTask, { taskId, lane: 'interactive' }, { jobId: prelabelJobId(taskId, models), priority: LANE_PRIORITY.interactive });
    await this.audit.record(actorOf(p), { action: 'prelabel.expedited', objectType: 'task', objectId: taskId, projectId, details: { queued: !job } });
    return this.status(projectId, taskId);
  }

  /** The project's pre-label models (ids, one per model version): with the task, they name its pre-label job. */
  private async projectModels(projectId: string): Promise<string[]> {
    const project = await this.dataSource.getRepository(Project).findOneByOrFail({ id: projectId });
    return parseProjectSettings(project.settings).prelabelModels;
  }
}
