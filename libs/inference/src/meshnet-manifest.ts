// Manifest for the pre-trained MeshNet grey/white-matter model (brainchop, shipped by niivue-onnx; see
// shared/data/models/meshnet-gwm). Checked against the real model and a real T1 in meshnet.spec.ts.
import { parseModelManifest } from './model-manifest';

export const MESHNET_MANIFEST = parseModelManifest({
  schemaVersion: 1,
  name: 'meshnet-gwm',
  version: '1.0.0',
  description:
    'MeshNet (brainchop) brain tissue segmentation of a T1-weighted MR: background, white matter, grey matter. Needs the volume conformed like FreeSurfer/niivue (LIA, 1 mm isotropic, 256^3) and min-max scaled to 0..1.',
  task: 'segmentation-3d',
  appliesTo: { modalities: ['MR'], bodyParts: ['BRAIN', 'HEAD'], seriesDescriptionPattern: 't1|mprage|spgr|bravo|tfe' },
  input: { name: 'input', layout: 'NCDHW', channels: 1 },
  // The graph ends in a convolution: raw scores, not probabilities (they do not sum to 1 per voxel).
  output: { name: 'output', kind: 'logits' },
  preprocessing: { orientation: 'LIA', spacing: [1, 1, 1], fixedGrid: [256, 256, 256], intensity: { kind: 'minmax' } },
  inference: { mode: 'whole', batchSize: 1 },
  postprocessing: { activation: 'softmax', decision: 'argmax', keepLargestComponent: false, minComponentSize: 0 },
  labels: [
    { channel: 1, name: 'White matter', code: { value: '389080008', scheme: 'SCT', meaning: 'White matter' } },
    { channel: 2, name: 'Grey matter', code: { value: '389081007', scheme: 'SCT', meaning: 'Gray matter' } },
  ],
});
