export * from './jobs';
export * from './errors';
export * from './redis';
export * from './job-queue.service';
export * from './job-handler';
export * from './worker-host.service';
export * from './queue.module';
