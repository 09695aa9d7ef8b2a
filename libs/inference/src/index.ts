// Public API of @contour/inference: model manifests, the maths of sliding-window inference and of pre/post-
// processing, ONNX graphs built in code, and the onnxruntime-node runner.
export * from './model-manifest';
export * from './model-check';
export * from './sliding-window';
export * from './intensity';
export * from './connected-components';
export * from './postprocessing';
export * from './heads';
export * from './onnx-graph';
export * from './conv-test-model';
export * from './ct-starter-model';
export * from './rule-models';
export * from './meshnet-manifest';
export * from './model-runner';
