export * from './ingest-receiver.service';
export * from './ingest-pipeline.service';
export * from './ingest.module';
export * from './dicomweb-import.service';
export * from './zip';
export * from './deployment-secret.service';
export * from './series-geometry.service';
export * from './view-groups';
