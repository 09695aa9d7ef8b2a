// Public surface of @contour/consensus: inter-reader agreement and merging of label maps, pure functions on typed arrays.
export * from './agreement';
export * from './box-iou';
export * from './disagreement';
export * from './distance-transform';
export * from './grid';
export * from './hausdorff';
export * from './kappa';
export * from './majority-vote';
export * from './merge';
export * from './overlap';
export * from './staple';
