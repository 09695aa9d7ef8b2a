import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE, DiscoveryModule } from '@nestjs/core';
import { StandardSchemaValidationPipe } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { join } from 'node:path';
import { AuditModule } from '@contour/audit';
import { AuthCoreModule, AuthGuard } from '@contour/auth';
import { CONFIG, ConfigModule, ContourConfig } from '@contour/config';
import { DatabaseModule } from '@contour/db';
import { IngestModule } from '@contour/ingest';
import { Metrics } from '@contour/observability';
import { QueueModule } from '@contour/queue';
import { DiskReserve, StorageModule } from '@contour/storage';
import { TasksModule } from '@contour/tasks';
import { TasksController } from './tasks/tasks.controller';
import { TaskQueries } from './tasks/task-queries.service';
import { ProtocolsController } from './tasks/protocols.controller';
import { Schedules } from './system/schedules.service';
import { DemoSeeder } from './system/demo-seeder.service';
import { PrelabelModule } from '@contour/prelabel';
import { ModelsController } from './models/models.controller';
import { ExportsController } from './export/exports.controller';
import { AuditController } from './audit/audit.controller';
import { AuthController } from './auth/auth.controller';
import { AuthService } from './auth/auth.service';
import { UploadsController } from './ingest/uploads.controller';
import { InstancesController } from './instances/instances.controller';
import { ProjectsController } from './projects/projects.controller';
import { ProjectsService } from './projects/projects.service';
import { HealthController } from './system/health.controller';
import { MetricsController } from './system/metrics.controller';
import { QueueMetricsService } from './system/queue-metrics.service';
import { RouteAccessCheck } from './system/route-access.check';
import { DatabaseInputFilter } from './system/database-input.filter';
import { UsersController } from './users/users.controller';
import { DicomProjectResolver } from './ingest/project-resolver.service';
import { PrivacyHold } from './ingest/privacy-hold.service';
import { PrivacyReviewController } from './ingest/privacy-review.controller';
import { QuarantineController, ReidController } from './ingest/quarantine.controller';
import { SourcesController } from './ingest/sources.controller';
import { hashingDiskStorage } from './ingest/hashing-disk-storage';
import { StorageScpService } from './dimse/storage-scp.service';
import { DicomWebController } from './dicomweb/dicomweb.controller';
import { DicomWebService } from './dicomweb/dicomweb.service';
import { DicomWebDefaultProjectMiddleware } from './dicomweb/default-project.middleware';

/** The coordinator: HTTP API, producers for every queue, no queue consumers. */
@Module({})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(DicomWebDefaultProjectMiddleware).forRoutes('dicom-web');
  }

  static forRoot(config: ContourConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot('coordinator'),
        StorageModule,
        AuditModule,
        QueueModule,
        AuthCoreModule,
        IngestModule,
        TasksModule,
        PrelabelModule,
        DiscoveryModule,
        MulterModule.registerAsync({
          inject: [CONFIG],
          useFactory: (c: ContourConfig) => ({
            storage: hashingDiskStorage(join(c.dataDir, 'incoming'), new DiskReserve(join(c.dataDir, 'incoming'), c.uploads.diskReserveBytes)),
            limits: { fileSize: c.uploads.maxBytes, files: 20_000, fields: 100 },
          }),
        }),
      ],
      controllers: [AuthController, UsersController, ProjectsController, UploadsController, SourcesController, QuarantineController, ReidController, PrivacyReviewController, DicomWebController, TasksController, ProtocolsController, ModelsController, ExportsController, InstancesController, AuditController, HealthController, MetricsController],
      providers: [
        { provide: APP_GUARD, useExisting: AuthGuard },
        { provide: APP_PIPE, useValue: new StandardSchemaValidationPipe() },
        { provide: APP_FILTER, useClass: DatabaseInputFilter },
        AuthService,
        ProjectsService,
        Metrics,
        QueueMetricsService,
        RouteAccessCheck,
        DicomProjectResolver,
        StorageScpService,
        DicomWebService,
        PrivacyHold,
        TaskQueries,
        Schedules,
        DemoSeeder,
      ],
    };
  }
}
