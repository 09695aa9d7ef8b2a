import { Module } from '@nestjs/common';
import { IngestPipeline } from './ingest-pipeline.service';
import { IngestReceiver } from './ingest-receiver.service';
import { DicomWebImporter } from './dicomweb-import.service';

@Module({ providers: [IngestReceiver, IngestPipeline, DicomWebImporter], exports: [IngestReceiver, IngestPipeline, DicomWebImporter] })
export class IngestModule {}
