import { Module } from '@nestjs/common';
import { IngestPipeline } from './ingest-pipeline.service';
import { IngestReceiver } from './ingest-receiver.service';

@Module({ providers: [IngestReceiver, IngestPipeline], exports: [IngestReceiver, IngestPipeline] })
export class IngestModule {}
