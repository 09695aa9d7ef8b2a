export * from './parse';
export * from './synthetic';
export * from './transcode';
