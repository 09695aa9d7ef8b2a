export * from './parse';
export * from './synthetic';
