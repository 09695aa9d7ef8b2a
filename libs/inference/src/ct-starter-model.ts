// The CT starter model: Hounsfield-unit rules written as an ONNX graph, so a demo project can pre-label CT
// (lung / soft tissue / bone) out of the box with nothing downloaded, through exactly the same runner and
// post-processing as a learned model. It is NOT a learned model and knows no anatomy: it labels by density.
//
// Graph: HU [N,1,D,H,W] → edge-pad 1 → 3x3x3 mean (noise smoothing; edge padding so a volume border of air is
// not averaged with zeros, i.e. water) → five sigmoid ramps of width CT_STARTER_RULES.rampHu around the
// thresholds → class memberships m (lung = above −950 and below −400; soft tissue = above −200 and below 300;
// bone = above 300; background = whatever is left: air below −950, the −400..−200 gap, ...) → logits log(m).
// softmax(log m) = m / Σm, so argmax picks the class whose rule fits best, and near a threshold two classes
// share the probability: the entropy-based uncertainty is highest exactly where the rules are least sure.
import { parseModelManifest } from './model-manifest';
import { encodeModel, floatTensor, int64Tensor, node, tensorValueInfo } from './onnx-graph';

export const CT_STARTER_RULES = {
  /** Softness of every threshold, in HU: 2 ramp widths past a threshold a class has 88 %, 4 widths 98 %. */
  rampHu: 25,
  lung: { above: -950, below: -400 },
  softTissue: { above: -200, below: 300 },
  bone: { above: 300 },
  /** Membership floor before the log, so logits stay finite. */
  floor: 1e-6,
} as const;

/** The rule-based CT model's bytes (ONNX, opset 17). Input 'hu' [N,1,D,H,W] in HU; output 'logits' [N,4,D,H,W]. */
export function buildCtStarterModel(): Uint8Array {
  const { rampHu: t, lung, softTissue, bone, floor } = CT_STARTER_RULES;
  // Ramp j is sigmoid(w_j · hu + b_j): a 1x1x1 convolution gives all five arguments at once.
  const slopes = [1 / t, -1 / t, 1 / t, -1 / t, 1 / t];
  const offsets = [-lung.above / t, lung.below / t, -softTissue.above / t, softTissue.below / t, -bone.above / t];
  return encodeModel({
    name: 'ct-starter-rules',
    doc: 'Rule-based CT labelling by Hounsfield thresholds (not learned): 0 background, 1 lung, 2 soft tissue, 3 bone.',
    inputs: [tensorValueInfo('hu', ['N', 1, 'D', 'H', 'W'])],
    outputs: [tensorValueInfo('logits', ['N', 4, 'D', 'H', 'W'])],
    initializers: [
      int64Tensor('pads', [10], [0, 0, 1, 1, 1, 0, 0, 1, 1, 1]),
      floatTensor('mean_kernel', [1, 1, 3, 3, 3], new Array<number>(27).fill(1 / 27)),
      floatTensor('ramp_slope', [5, 1, 1, 1, 1], slopes),
      floatTensor('ramp_offset', [5], offsets),
      floatTensor('one', [], [1]),
      floatTensor('floor', [], [floor]),
    ],
    nodes: [
      node('Pad', ['hu', 'pads'], ['hu_padded'], { mode: 'edge' }),
      node('Conv', ['hu_padded', 'mean_kernel'], ['hu_smooth'], { kernel_shape: [3, 3, 3] }),
      node('Conv', ['hu_smooth', 'ramp_slope', 'ramp_offset'], ['ramp_arg'], { kernel_shape: [1, 1, 1] }),
      node('Sigmoid', ['ramp_arg'], ['ramp']),
      node('Split', ['ramp'], ['above_lung_min', 'below_lung_max', 'above_tissue_min', 'below_tissue_max', 'bone'], { axis: 1 }),
      node('Mul', ['above_lung_min', 'below_lung_max'], ['lung']),
      node('Mul', ['above_tissue_min', 'below_tissue_max'], ['soft_tissue']),
      node('Sum', ['lung', 'soft_tissue', 'bone'], ['matched']),
      node('Sub', ['one', 'matched'], ['background']),
      node('Concat', ['background', 'lung', 'soft_tissue', 'bone'], ['membership'], { axis: 1 }),
      node('Max', ['membership', 'floor'], ['membership_floored']),
      node('Log', ['membership_floored'], ['logits']),
    ],
  });
}

export const CT_STARTER_MANIFEST = parseModelManifest({
  schemaVersion: 1,
  name: 'ct-starter-rules',
  version: '1.0.0',
  description:
    'Rule-based starter model, not learned: labels CT voxels by Hounsfield unit after a 3x3x3 mean - lung -950..-400, soft tissue -200..300, bone above 300, everything else background. Knows no anatomy (bowel gas can look like lung, contrast like bone); meant to give a demo project editable pre-labels with nothing downloaded.',
  task: 'segmentation-3d',
  appliesTo: { modalities: ['CT'] },
  input: { name: 'hu', layout: 'NCDHW', channels: 1 },
  output: { name: 'logits', kind: 'logits' },
  preprocessing: { orientation: 'native', spacing: null, intensity: { kind: 'none' } },
  // Patches bound memory on large CTs; the model's receptive field is 3 voxels, so a modest overlap blends away
  // the patch-edge effect. Edge padding keeps a thin series (e.g. 3 slices) from being padded with fake density.
  inference: { mode: 'sliding-window', patchSize: [128, 128, 32], overlap: 0.25, blending: 'gaussian', batchSize: 1, padding: 'edge' },
  postprocessing: { activation: 'softmax', decision: 'argmax', keepLargestComponent: false, minComponentSize: 64 },
  labels: [
    { channel: 1, name: 'Lung', code: { value: '39607008', scheme: 'SCT', meaning: 'Lung' } },
    { channel: 2, name: 'Soft tissue', code: { value: '85756007', scheme: 'SCT', meaning: 'Tissue' } },
    { channel: 3, name: 'Bone', code: { value: '272673000', scheme: 'SCT', meaning: 'Bone' } },
  ],
});
