export * from './parse';
export * from './synthetic';
export * from './transcode';
export * from './write';
