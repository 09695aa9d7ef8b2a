import { Module } from '@nestjs/common';
import { IngestPipeline } from './ingest-pipeline.service';
import { IngestReceiver } from './ingest-receiver.service';
import { DicomWebImporter } from './dicomweb-import.service';
import { DeploymentSecret } from './deployment-secret.service';
import { SeriesGeometryService } from './series-geometry.service';
import { NiftiIngest } from './nifti-ingest.service';

@Module({ providers: [IngestReceiver, IngestPipeline, DicomWebImporter, DeploymentSecret, SeriesGeometryService, NiftiIngest], exports: [IngestReceiver, IngestPipeline, DicomWebImporter, DeploymentSecret, SeriesGeometryService] })
export class IngestModule {}
