export * from './blob-store';
export * from './fs-blob-store';
export * from './storage.module';
export * from './disk-reserve';
