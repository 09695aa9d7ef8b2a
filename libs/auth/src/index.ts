export * from './access';
export * from './principal';
export * from './passwords';
export * from './api-tokens';
export * from './auth.guard';
export * from './principal-cache';
export * from './current-principal';
export * from './auth.module';
