export * from './task-state';
export * from './project-settings';
export * from './protocol';
export * from './split-policy';
export * from './label-map';
export * from './shapes';
export * from './answers';
