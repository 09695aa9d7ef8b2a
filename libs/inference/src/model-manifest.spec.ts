// Manifest validation (errors name the field) and the model/manifest comparison used to refuse registrations.
import {
  CT_STARTER_MANIFEST,
  MESHNET_MANIFEST,
  ManifestError,
  channelLabelValues,
  checkModelAgainstManifest,
  manifestAppliesTo,
  parseModelManifest,
  type ModelManifestInput,
  type ModelSignature,
} from './index';

const base: ModelManifestInput = {
  schemaVersion: 1,
  name: 'liver-unet',
  version: '2.1.0',
  description: 'Liver segmentation',
  task: 'segmentation-3d',
  appliesTo: { modalities: ['CT'] },
  input: { name: 'image', layout: 'NCDHW', channels: 1 },
  output: { name: 'scores', kind: 'logits' },
  preprocessing: { intensity: { kind: 'window', window: { center: 40, width: 400 } } },
  inference: { mode: 'sliding-window', patchSize: [96, 96, 64] },
  postprocessing: { activation: 'softmax', decision: 'argmax' },
  labels: [{ channel: 1, name: 'Liver', code: { value: '10200004', scheme: 'SCT', meaning: 'Liver' } }],
};

/** base with a deep override, as JSON (so tests can write invalid values). */
function variant(mutate: (m: any) => void): unknown {
  const copy = JSON.parse(JSON.stringify(base));
  mutate(copy);
  return copy;
}

function problemsOf(input: unknown): string[] {
  try {
    parseModelManifest(input);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as ManifestError).problems;
  }
}

describe('parseModelManifest', () => {
  it('fills defaults', () => {
    const m = parseModelManifest(base);
    expect(m.inference).toEqual({ mode: 'sliding-window', patchSize: [96, 96, 64], overlap: 0.5, blending: 'gaussian', sigmaScale: 0.125, batchSize: 1, padding: 'edge' });
    expect(m.preprocessing.orientation).toBe('native');
    expect(m.preprocessing.spacing).toBeNull();
    expect(m.postprocessing.keepLargestComponent).toBe(false);
    expect(m.postprocessing.minComponentSize).toBe(0);
  });

  it('accepts the shipped manifests', () => {
    expect(() => parseModelManifest(MESHNET_MANIFEST)).not.toThrow();
    expect(() => parseModelManifest(CT_STARTER_MANIFEST)).not.toThrow();
  });

  it.each<[string, (m: any) => void, string]>([
    ['wrong schema version', (m) => (m.schemaVersion = 2), 'schemaVersion:'],
    ['version not semver', (m) => (m.version = 'v2'), 'version: expected a semantic version'],
    ['name with spaces', (m) => (m.name = 'Liver UNet'), 'name: expected lower-case'],
    ['unknown task', (m) => (m.task = 'registration'), 'task:'],
    ['no modality', (m) => (m.appliesTo.modalities = []), 'appliesTo.modalities:'],
    ['bad modality', (m) => (m.appliesTo.modalities = ['ct']), 'appliesTo.modalities[0]: expected a DICOM modality code'],
    ['bad regex', (m) => (m.appliesTo.seriesDescriptionPattern = '(['), 'appliesTo.seriesDescriptionPattern: expected a valid regular expression'],
    ['typo in a key', (m) => (m.inference.patchsize = [1, 2, 3]), 'inference.patchsize: not a manifest field'],
    ['layout unknown', (m) => (m.input.layout = 'NDHWC'), 'input.layout:'],
    ['window without window', (m) => delete m.preprocessing.intensity.window, "preprocessing.intensity.window: required when kind is 'window'"],
    ['window on minmax', (m) => (m.preprocessing.intensity.kind = 'minmax'), "preprocessing.intensity.window: only used when kind is 'window'"],
    ['inverted clip', (m) => (m.preprocessing.intensity.clip = [100, -100]), 'preprocessing.intensity.clip: expected [low, high] with low < high'],
    ['spacing not positive', (m) => (m.preprocessing.spacing = [1, 0, 1]), 'preprocessing.spacing[1]:'],
    ['fixed grid not whole', (m) => (m.preprocessing.fixedGrid = [256, 256.5, 256]), 'preprocessing.fixedGrid[1]:'],
    ['sliding window without patch', (m) => delete m.inference.patchSize, "inference.patchSize: required when mode is 'sliding-window'"],
    ['patch on whole mode', (m) => (m.inference.mode = 'whole'), "inference.patchSize: only used when mode is 'sliding-window'"],
    ['overlap too large', (m) => (m.inference.overlap = 0.95), 'inference.overlap:'],
    ['sigma too small', (m) => (m.inference.sigmaScale = 0.01), 'inference.sigmaScale:'],
    ['per-slice on 3D task', (m) => ((m.inference = { mode: 'per-slice' }), (m.input.layout = 'NCHW')), "inference.mode: task 'segmentation-3d' needs"],
    ['per-slice with NCDHW', (m) => ((m.task = 'segmentation-2d'), (m.inference = { mode: 'per-slice' })), "input.layout: mode 'per-slice' feeds 2D slices"],
    ['NCHW with 3D patch', (m) => (m.input.layout = 'NCHW'), 'inference.patchSize: an NCHW model takes 2D patches'],
    ['threshold out of range', (m) => (m.postprocessing.decision = { threshold: 1.5 }), 'postprocessing.decision'],
    ['activation on probabilities', (m) => (m.output.kind = 'probabilities'), "postprocessing.activation: must be 'none' when output kind is 'probabilities'"],
    ['activation on labels', (m) => (m.output.kind = 'labels'), "postprocessing.activation: must be 'none' when output kind is 'labels'"],
    ['no labels', (m) => (m.labels = []), 'labels:'],
    ['duplicate channel', (m) => m.labels.push({ channel: 1, name: 'Tumour' }), "labels[1].channel: channel 1 is already used by labels[0] ('Liver')"],
    ['duplicate name', (m) => m.labels.push({ channel: 2, name: 'liver' }), "labels[1].name: name 'liver' is already used by labels[0]"],
    ['incomplete code', (m) => delete m.labels[0].code.meaning, 'labels[0].code.meaning:'],
    ['keep-largest label unknown', (m) => (m.postprocessing.keepLargestComponent = [1, 3]), 'postprocessing.keepLargestComponent[1]: label value 3 does not exist'],
  ])('names the field: %s', (_case, mutate, expected) => {
    const problems = problemsOf(variant(mutate));
    expect(problems.join('\n')).toContain(expected);
  });

  it('lists every problem at once', () => {
    const problems = problemsOf(variant((m) => ((m.version = 'x'), (m.input.channels = 0), (m.labels[0].channel = -1))));
    expect(problems).toHaveLength(3);
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['input.channels', 'labels[0].channel', 'version']);
  });

  it('maps channels to 1-based label values, 0 for background', () => {
    expect([...channelLabelValues(MESHNET_MANIFEST, 3)]).toEqual([0, 1, 2]);
    const m = parseModelManifest(variant((x) => (x.labels = [{ channel: 2, name: 'B' }, { channel: 0, name: 'A' }])));
    expect([...channelLabelValues(m, 3)]).toEqual([2, 0, 1]);
  });
});

describe('checkModelAgainstManifest', () => {
  const manifest = parseModelManifest(base);
  const model = (input: Partial<ModelSignature['inputs'][number]> = {}, output: Partial<ModelSignature['outputs'][number]> = {}): ModelSignature => ({
    inputs: [{ name: 'image', isTensor: true, type: 'float32', shape: ['N', 1, 'D', 'H', 'W'], ...input }],
    outputs: [{ name: 'scores', isTensor: true, type: 'float32', shape: ['N', 2, 'D', 'H', 'W'], ...output }],
  });

  it('accepts a matching model (dynamic dims, fixed patch dims)', () => {
    expect(checkModelAgainstManifest(model(), manifest)).toEqual([]);
    expect(checkModelAgainstManifest(model({ shape: ['N', 1, 64, 96, 96] }, { shape: ['N', 2, 64, 96, 96] }), manifest)).toEqual([]);
  });

  it.each<[string, ModelSignature, string]>([
    ['input name', model({ name: 'input' }), "manifest says input 'image' but the model's inputs are: input"],
    ['output name', model({}, { name: 'output' }), "manifest says output 'scores' but the model's outputs are: output"],
    ['input dtype', model({ type: 'float16' }), "input 'image' is float16; Contour feeds float32"],
    ['output dtype', model({}, { type: 'int64' }), "output 'scores' is int64; Contour reads float32"],
    ['rank', model({ shape: ['N', 1, 'H', 'W'] }), "input 'image' has rank 4 [N, 1, H, W] but layout NCDHW needs rank 5"],
    ['input channels', model({ shape: ['N', 3, 'D', 'H', 'W'] }), "input 'image' takes 3 channel(s) but manifest input.channels is 1"],
    ['patch mismatch', model({ shape: ['N', 1, 64, 128, 128] }), "input 'image' has spatial size [64, 128, 128] (tensor order) but inference.patchSize [96, 96, 64] gives [64, 96, 96]"],
    ['label channel past the output', model({}, { shape: ['N', 1, 'D', 'H', 'W'] }), "labels[0] ('Liver') reads channel 1 but output 'scores' has 1 channel(s) (0..0)"],
    ['argmax over one channel', model({}, { shape: ['N', 1, 'D', 'H', 'W'] }), 'argmax over one channel always picks it'],
    ['output grid', model({ shape: ['N', 1, 64, 96, 96] }, { shape: ['N', 2, 32, 48, 48] }), "output 'scores' spatial size [32, 48, 48] differs from input size [64, 96, 96]"],
    ['output rank', model({}, { shape: ['N', 2] }), "output 'scores' has rank 2 [N, 2] but a NCDHW segmentation model must output rank 5"],
    ['extra input', { ...model(), inputs: [...model().inputs, { name: 'spacing', type: 'float32', shape: [3] }] }, "the model has 2 inputs (image, spacing) but Contour feeds only 'image'"],
    ['not a tensor', model({ isTensor: false, type: undefined, shape: undefined }), "input 'image' is not a tensor"],
  ])('reports %s', (_case, signature, expected) => {
    expect(checkModelAgainstManifest(signature, manifest).join('\n')).toContain(expected);
  });

  it('reports a fixed-size model without fixedGrid or patchSize', () => {
    const whole = parseModelManifest(variant((m) => (m.inference = { mode: 'whole' })));
    expect(checkModelAgainstManifest(model({ shape: [1, 1, 64, 64, 64] }), whole)).toEqual([
      "input 'image' has fixed spatial size [64, 64, 64] (tensor order) but the manifest sets neither inference.patchSize nor preprocessing.fixedGrid, so any other volume size would fail",
    ]);
  });

  it('reports batch sizes the model cannot take', () => {
    const batched = parseModelManifest(variant((m) => (m.inference.batchSize = 4)));
    expect(checkModelAgainstManifest(model({ shape: [1, 1, 'D', 'H', 'W'] }), batched)).toEqual([
      "input 'image' has a fixed batch of 1 but inference.batchSize is 4; set batchSize to 1",
    ]);
    expect(checkModelAgainstManifest(model({ shape: [4, 1, 'D', 'H', 'W'] }), batched)).toEqual([]);
    expect(checkModelAgainstManifest(model({ shape: [2, 1, 'D', 'H', 'W'] }), batched)[0]).toContain('fixed batch of 2');
  });

  it('checks MeshNet-like fixed grids', () => {
    const meshnet: ModelSignature = {
      inputs: [{ name: 'input', isTensor: true, type: 'float32', shape: ['batch_size', 1, 256, 256, 256] }],
      outputs: [{ name: 'output', isTensor: true, type: 'float32', shape: ['batch_size', 3, 256, 256, 256] }],
    };
    expect(checkModelAgainstManifest(meshnet, MESHNET_MANIFEST)).toEqual([]);
    const smaller = parseModelManifest({ ...MESHNET_MANIFEST, preprocessing: { ...MESHNET_MANIFEST.preprocessing, fixedGrid: [128, 128, 128] } });
    expect(checkModelAgainstManifest(meshnet, smaller)).toEqual([
      "input 'input' has spatial size [256, 256, 256] (tensor order) but preprocessing.fixedGrid [128, 128, 128] gives [128, 128, 128]",
    ]);
  });
});

describe('manifestAppliesTo', () => {
  it.each<[string, Parameters<typeof manifestAppliesTo>[1], boolean]>([
    ['T1 MPRAGE brain', { modality: 'MR', bodyPartExamined: 'BRAIN', seriesDescription: 'T1 MPRAGE SAG' }, true],
    ['lower-case modality and description', { modality: 'mr', seriesDescription: 'sag t1 3d' }, true],
    ['empty body part does not hide the model', { modality: 'MR', bodyPartExamined: '', seriesDescription: 'MPRAGE' }, true],
    ['no series description', { modality: 'MR', bodyPartExamined: 'HEAD' }, true],
    ['CT', { modality: 'CT', bodyPartExamined: 'HEAD', seriesDescription: 'T1' }, false],
    ['knee', { modality: 'MR', bodyPartExamined: 'KNEE', seriesDescription: 'T1 SAG' }, false],
    ['FLAIR', { modality: 'MR', bodyPartExamined: 'BRAIN', seriesDescription: 'AX FLAIR' }, false],
  ])('MeshNet: %s', (_name, series, expected) => {
    expect(manifestAppliesTo(MESHNET_MANIFEST, series)).toBe(expected);
  });

  it('the CT starter takes any CT', () => {
    expect(manifestAppliesTo(CT_STARTER_MANIFEST, { modality: 'CT', bodyPartExamined: 'CHEST', seriesDescription: 'Lung 1.0 B70f' })).toBe(true);
    expect(manifestAppliesTo(CT_STARTER_MANIFEST, { modality: 'PT' })).toBe(false);
  });
});

// Classification and detection manifests: what they must say, and the output shapes their models must have.
const classifier: ModelManifestInput = {
  ...base,
  name: 'breast-density',
  task: 'classification',
  question: 'Breast density',
  appliesTo: { modalities: ['MG'] },
  input: { name: 'image', layout: 'NCHW', channels: 1 },
  preprocessing: { fixedGrid: [224, 224, 1], intensity: { kind: 'minmax' } },
  inference: { mode: 'whole' },
  labels: [
    { channel: 0, name: 'fatty' },
    { channel: 1, name: 'dense' },
  ],
};
const detector: ModelManifestInput = {
  ...classifier,
  name: 'mass-detector',
  task: 'detection',
  question: undefined,
  output: { name: 'boxes', kind: 'boxes' },
  postprocessing: { activation: 'none', decision: { threshold: 0.3 }, nmsIou: 0.5 },
  labels: [{ channel: 0, name: 'Mass' }],
};
const json = (m: ModelManifestInput, mutate: (m: any) => void = () => undefined): unknown => {
  const copy = JSON.parse(JSON.stringify(m));
  mutate(copy);
  return copy;
};

describe('classification and detection manifests', () => {
  it('accepts a classifier and a detector', () => {
    expect(parseModelManifest(json(classifier)).question).toBe('Breast density');
    expect(parseModelManifest(json(detector)).postprocessing).toMatchObject({ nmsIou: 0.5, decision: { threshold: 0.3 } });
  });

  it.each<[string, ModelManifestInput, (m: any) => void, string]>([
    ['classifier without question', classifier, (m) => delete m.question, "question: required when task is 'classification'"],
    ['question on a segmentation model', base, (m) => (m.question = 'Liver?'), "question: only used when task is 'classification'"],
    ['classifier in sliding window', classifier, (m) => (m.inference = { mode: 'sliding-window', patchSize: [64, 64, 1] }), "inference.mode: task 'classification' runs on whole images"],
    ['classifier outputting boxes', classifier, (m) => ((m.output.kind = 'boxes'), (m.postprocessing.activation = 'none')), "output.kind: a classification model outputs one score per choice"],
    ['detector outputting logits', detector, (m) => (m.output.kind = 'logits'), "output.kind: a detection model must output 'boxes'"],
    ['boxes from a segmentation model', base, (m) => ((m.output.kind = 'boxes'), (m.postprocessing.activation = 'none')), "output.kind: 'boxes' is the output of detection models"],
    ['3D detector', detector, (m) => ((m.input.layout = 'NCDHW'), (m.preprocessing.fixedGrid = [224, 224, 8])), 'input.layout: a detection model finds boxes on 2D images'],
    ['detector with softmax', detector, (m) => (m.postprocessing.activation = 'softmax'), "postprocessing.activation: must be 'none' for a detection model"],
    ['detector with argmax', detector, (m) => (m.postprocessing.decision = 'argmax'), 'postprocessing.decision: a detection model needs { threshold }'],
    ['nms on a classifier', classifier, (m) => (m.postprocessing.nmsIou = 0.5), 'postprocessing: nmsIou and maxDetections are for detection models'],
    ['nms out of range', detector, (m) => (m.postprocessing.nmsIou = 1), 'postprocessing.nmsIou:'],
  ])('names the field: %s', (_case, start, mutate, expected) => {
    expect(problemsOf(json(start, mutate)).join('\n')).toContain(expected);
  });

  const signature = (output: ModelSignature['outputs'][number]['shape']): ModelSignature => ({
    inputs: [{ name: 'image', isTensor: true, type: 'float32', shape: ['N', 1, 224, 224] }],
    outputs: [{ name: output && output.length && output[output.length - 1] === 6 ? 'boxes' : 'scores', isTensor: true, type: 'float32', shape: output }],
  });

  it('checks a classifier outputs [N, C] with a score for each choice', () => {
    const m = parseModelManifest(json(classifier));
    expect(checkModelAgainstManifest(signature(['N', 2]), m)).toEqual([]);
    expect(checkModelAgainstManifest(signature(['N', 2, 1, 1]), m)[0]).toContain('a classification model must output [N, C]');
    expect(checkModelAgainstManifest(signature(['N', 1]), m).join('\n')).toContain("labels[1] ('dense') reads channel 1 but output 'scores' has 1 channel(s)");
  });

  it('checks a detector outputs rows of six values', () => {
    const m = parseModelManifest(json(detector));
    expect(checkModelAgainstManifest(signature(['N', 'K', 6]), m)).toEqual([]);
    expect(checkModelAgainstManifest(signature(['K', 6]), m)).toEqual([]);
    const five: ModelSignature = { ...signature(['N', 'K', 5]), outputs: [{ name: 'boxes', isTensor: true, type: 'float32', shape: ['N', 'K', 5] }] };
    expect(checkModelAgainstManifest(five, m)[0]).toContain('a detection row is x0, y0, x1, y1, score, class (6 values)');
    const batched = parseModelManifest(json(detector, (x) => ((x.inference = { mode: 'per-slice', batchSize: 4 }), delete x.preprocessing.fixedGrid)));
    const noBatch: ModelSignature = { inputs: [{ name: 'image', isTensor: true, type: 'float32', shape: ['N', 1, 'H', 'W'] }], outputs: [{ name: 'boxes', isTensor: true, type: 'float32', shape: ['K', 6] }] };
    expect(checkModelAgainstManifest(noBatch, batched)[0]).toContain('has no batch axis, so inference.batchSize must be 1');
  });
});
