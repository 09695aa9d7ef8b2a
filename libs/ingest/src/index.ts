export * from './ingest-receiver.service';
export * from './ingest-pipeline.service';
export * from './ingest.module';
