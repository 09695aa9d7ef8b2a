import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, ContourConfig } from '@contour/config';
import { SeriesGeometryService } from '@contour/ingest';
import { PrelabelService, SeriesNifti } from '@contour/prelabel';
import { JobContext, JobHandler, JobName } from '@contour/queue';
import { ConsensusService, RoutingService, TaskSplitter } from '@contour/tasks';

/** Routing and consensus jobs: series geometry checks and volume prebuilds, study splitting, lease expiry, recovery of stuck tasks, consensus. */
@Injectable()
export class RoutingProcessor {
  constructor(
    private readonly geometry: SeriesGeometryService,
    private readonly splitter: TaskSplitter,
    private readonly routing: RoutingService,
    private readonly consensus: ConsensusService,
    private readonly niftis: SeriesNifti,
    private readonly prelabel: PrelabelService,
    @Inject(CONFIG) private readonly config: ContourConfig,
  ) {}

  @JobHandler(JobName.SeriesGeometry)
  seriesGeometry(job: JobContext<JobName.SeriesGeometry>) {
    return this.geometry.build(job.data.seriesId);
  }

  @JobHandler(JobName.SeriesVolume)
  async seriesVolume(job: JobContext<JobName.SeriesVolume>) {
    return { blobKey: await this.niftis.prebuild(job.data.seriesId, this.config.volumes.prebuildMaxMb, job.data.dims) };
  }

  @JobHandler(JobName.SplitStudy)
  split(job: JobContext<JobName.SplitStudy>) {
    return this.splitter.split(job.data.studyId);
  }

  @JobHandler(JobName.ExpireLeases)
  async expire() {
    return { expired: await this.routing.expireLeases() };
  }

  @JobHandler(JobName.RecoverStuckTasks)
  async recoverStuck() {
    return { prelabel: await this.prelabel.recoverStuck(), consensus: await this.consensus.recoverStuck() };
  }

  @JobHandler(JobName.AgePriorities)
  async agePriorities() {
    return { raised: await this.routing.agePriorities() };
  }

  @JobHandler(JobName.RedraftProject)
  async redraft(job: JobContext<JobName.RedraftProject>) {
    return { redrafted: await this.splitter.redraft(job.data.projectId, job.data.actor) };
  }

  @JobHandler(JobName.ConsensusTask)
  consensusTask(job: JobContext<JobName.ConsensusTask>) {
    return this.consensus.run(job.data.taskId);
  }
}
