// Manifests of a classifier and a detector for tests (the rule-based models of rule-models.ts fit them).
import type { ModelManifestInput } from '../model-manifest';

export const CLASSIFIER_TEST_MANIFEST: ModelManifestInput = {
  schemaVersion: 1,
  name: 'mean-classifier',
  version: '1.0.0',
  description: 'bright or dark by mean intensity',
  task: 'classification',
  question: 'Brightness',
  appliesTo: { modalities: ['MG'] },
  input: { name: 'image', layout: 'NCHW', channels: 1 },
  output: { name: 'scores', kind: 'logits' },
  preprocessing: { intensity: { kind: 'none' } },
  inference: { mode: 'whole' },
  postprocessing: { activation: 'softmax', decision: 'argmax' },
  labels: [
    { channel: 0, name: 'dark' },
    { channel: 1, name: 'bright' },
  ],
};

export const DETECTOR_TEST_MANIFEST: ModelManifestInput = {
  ...CLASSIFIER_TEST_MANIFEST,
  name: 'bright-detector',
  description: 'the bounding box of the bright region of each image',
  task: 'detection',
  question: undefined,
  output: { name: 'boxes', kind: 'boxes' },
  inference: { mode: 'per-slice', batchSize: 2 },
  postprocessing: { activation: 'none', decision: { threshold: 0.5 } },
  labels: [{ channel: 0, name: 'Bright region' }],
};
