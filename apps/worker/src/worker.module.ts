import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from '@contour/audit';
import { ConfigModule, ContourConfig } from '@contour/config';
import { DatabaseModule } from '@contour/db';
import { IngestModule } from '@contour/ingest';
import { QueueModule, QueueName } from '@contour/queue';
import { StorageModule } from '@contour/storage';
import { IngestProcessor } from './ingest/ingest.processor';
import { RoutingProcessor } from './routing/routing.processor';
import { TasksModule } from '@contour/tasks';
import { PrelabelModule } from '@contour/prelabel';
import { PrelabelProcessor } from './prelabel/prelabel.processor';
import { ExportModule } from '@contour/export';
import { ExportProcessor } from './export/export.processor';
import { JobLogObserver } from './job-log.observer';

/** The worker process: no HTTP server, only BullMQ consumers for the queues it was told to serve. */
@Module({})
export class WorkerModule {
  static forRoot(config: ContourConfig, queues: QueueName[]): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot('worker'),
        StorageModule,
        AuditModule,
        QueueModule,
        IngestModule,
        TasksModule,
        PrelabelModule,
        ExportModule,
        QueueModule.withWorkers(queues, { useValue: new JobLogObserver() }),
      ],
      providers: [IngestProcessor, RoutingProcessor, PrelabelProcessor, ExportProcessor],
    };
  }
}
