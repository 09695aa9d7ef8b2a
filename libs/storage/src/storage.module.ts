import { Global, Module } from '@nestjs/common';
import { CONFIG, ContourConfig } from '@contour/config';
import { BLOB_STORE, BlobStore } from './blob-store';
import { FsBlobStore } from './fs-blob-store';

export function createBlobStore(config: ContourConfig): BlobStore {
  if (config.blobStore.kind === 'fs') return new FsBlobStore(config.blobStore.root);
  // Loaded lazily so deployments on local disk never load the AWS SDK.
  const { S3BlobStore } = require('./s3-blob-store') as typeof import('./s3-blob-store');
  return new S3BlobStore(config.blobStore);
}

@Global()
@Module({
  providers: [{ provide: BLOB_STORE, inject: [CONFIG], useFactory: createBlobStore }],
  exports: [BLOB_STORE],
})
export class StorageModule {}
