import { SetMetadata } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JobName, JobPayloads } from './jobs';

export const JOB_HANDLER = 'contour:job-handler';

/** Marks a provider method as the handler of one job name. The worker refuses to start if one is missing. */
export const JobHandler = (name: JobName) => SetMetadata(JOB_HANDLER, name);

export type JobContext<N extends JobName> = Job<JobPayloads[N]>;
