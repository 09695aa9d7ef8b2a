export * from './export-options';
export * from './export.service';
export * from './export.module';
