export * from './multipart';
export * from './client';
export * from './address-policy';
