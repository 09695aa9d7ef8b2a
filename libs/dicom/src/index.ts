export * from './ambiguous-vr';
export * from './parse';
export * from './synthetic';
export * from './write';
