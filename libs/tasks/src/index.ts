export * from './task-lifecycle.service';
export * from './task-grid.service';
export * from './task-splitter.service';
export * from './routing.service';
export * from './consensus.service';
export * from './stuck-tasks';
export * from './review.service';
export * from './tasks.module';
