export * from './multipart';
export * from './client';
