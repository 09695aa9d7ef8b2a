// The pure parts of pre-labelling: which grid a model's input is put on, how a box found there comes back to
// the task's pixels, which protocol question a classifier answers, and which task kinds a model can draft.
import { parseModelManifest } from '@contour/inference';
import { orientationOf } from '@contour/volume';
import { CLASSIFIER_TEST_MANIFEST, DETECTOR_TEST_MANIFEST } from '../../inference/src/testing/rule-manifests';
import { bestScoring, labelMapping, mergeDrafts, pickModels, nativeBox, prepareInput, protocolQuestion, ProtocolMismatch, unsupportedReason } from './prelabel.service';

const affine = (sx: number, sy: number, sz: number) => [
  [-sx, 0, 0, 0],
  [0, -sy, 0, 0],
  [0, 0, sz, 0],
  [0, 0, 0, 1],
];
const volume = (dims: [number, number, number]) => ({ dims, data: new Float32Array(dims[0] * dims[1] * dims[2]), affineRas: affine(0.5, 0.5, 2) });
const manifest = (over: Record<string, unknown>) => parseModelManifest({ ...DETECTOR_TEST_MANIFEST, ...over });

describe('prepareInput', () => {
  it.each<[string, Record<string, unknown>, [number, number, number], [number, number, number], boolean]>([
    ['no grid asked: the volume as it is', { preprocessing: { intensity: { kind: 'none' } } }, [40, 30, 5], [40, 30, 5], false],
    ['fixed grid, whole image', { preprocessing: { fixedGrid: [16, 16, 1], intensity: { kind: 'none' } }, inference: { mode: 'whole' } }, [40, 30, 1], [16, 16, 1], true],
    ['fixed grid, per slice: every slice kept', { preprocessing: { fixedGrid: [16, 16, 1], intensity: { kind: 'none' } } }, [40, 30, 5], [16, 16, 5], true],
    ['spacing, per slice: the slice spacing kept', { preprocessing: { spacing: [1, 1, 1], intensity: { kind: 'none' } } }, [40, 30, 5], [20, 15, 5], true],
  ])('%s', (_name, over, dims, expected, resampled) => {
    const out = prepareInput(volume(dims), manifest(over));
    expect(out.dims).toEqual(expected);
    expect(Boolean(out.back)).toBe(resampled);
    // Orientation 'native' keeps the image's axes (it used to be conformed to LIA, turning a 2D image on its side).
    if (out.back) expect(orientationOf(out.back.affineRas)).toBe(orientationOf(volume(dims).affineRas));
  });

  // A 40x30x5 LAS volume of 0.5 x 0.5 x 2 mm voxels: 20 x 15 x 10 mm. Reoriented without a fixed grid, the grid
  // covers the whole image (it used to be conform's 256^3 at 1 mm: a CT of 512x512 at 0.7 mm lost its edges).
  it.each<[string, Record<string, unknown>, [number, number, number], string]>([
    ['RAS at the image\'s own voxel size: the same voxels, reordered', { orientation: 'RAS' }, [40, 30, 5], 'RAS'],
    ['RAS at 1 mm: the whole field of view', { orientation: 'RAS', spacing: [1, 1, 1] }, [20, 15, 10], 'RAS'],
    ['LPS at 0.5 x 0.5 x 1 mm', { orientation: 'LPS', spacing: [0.5, 0.5, 1] }, [40, 30, 10], 'LPS'],
    ['a fixed grid is the manifest\'s, as before', { orientation: 'RAS', spacing: [1, 1, 1], fixedGrid: [8, 8, 8] }, [8, 8, 8], 'RAS'],
  ])('reoriented: %s', (_name, pre, expected, code) => {
    const out = prepareInput(volume([40, 30, 5]), parseModelManifest({ ...DETECTOR_TEST_MANIFEST, task: 'segmentation-3d', input: { name: 'image', layout: 'NCDHW', channels: 1 }, output: { name: 'boxes', kind: 'logits' }, labels: [{ channel: 1, name: 'x' }], preprocessing: { ...pre, intensity: { kind: 'none' } }, inference: { mode: 'whole' } }));
    expect(out.dims).toEqual(expected);
    expect(orientationOf(out.back!.affineRas)).toBe(code);
  });
});

describe('nativeBox', () => {
  it.each<[string, [number, number, number], [number, number, number, number], number, { slice: number; box: number[] }]>([
    // 40x30 resized to 20x15: every coordinate doubles.
    ['doubles back', [40, 30, 3], [2, 3, 10, 6], 1, { slice: 1, box: [4, 6, 20, 12] }],
    ['clipped to the image', [40, 30, 3], [0, 0, 20, 15], 2, { slice: 2, box: [0, 0, 40, 30] }],
  ])('%s', (_name, dims, box, image, expected) => {
    const v = volume(dims);
    const prepared = prepareInput(v, manifest({ preprocessing: { fixedGrid: [dims[0] / 2, dims[1] / 2, 1], intensity: { kind: 'none' } } }));
    const out = nativeBox({ box, image, score: 1, label: 1 }, { back: prepared.back, volume: { ...v, affineLps: v.affineRas, source: 'dicom' } });
    expect({ slice: out.slice, box: out.box.map((c) => Math.round(c * 1e6) / 1e6) }).toEqual(expected);
  });

  it('without resampling the box is the model’s', () => {
    const v = { ...volume([4, 4, 1]), affineLps: affine(1, 1, 1), source: 'dicom' as const };
    expect(nativeBox({ box: [1, 1, 2, 2], image: 0, score: 1, label: 1 }, { volume: v })).toEqual({ slice: 0, box: [1, 1, 2, 2] });
  });
});

describe('protocolQuestion', () => {
  const classifier = parseModelManifest(CLASSIFIER_TEST_MANIFEST);
  const protocol = (types: unknown[]) => ({ definition: { annotationTypes: types } });
  it.each<[string, unknown[], { question: string; choices: string[]; multiple: boolean } | string]>([
    ['found, case-insensitive', [{ kind: 'classification', question: 'brightness ', choices: ['Dark', 'Bright'] }], { question: 'brightness ', choices: ['Dark', 'Bright'], multiple: false }],
    ['multiple choice', [{ kind: 'classification', question: 'Brightness', choices: ['dark', 'bright', 'other'], multiple: true }], { question: 'Brightness', choices: ['dark', 'bright', 'other'], multiple: true }],
    ['no such question', [{ kind: 'classification', question: 'Density', choices: ['a', 'b'] }, { kind: 'bounding-box' }], "the protocol has no classification question 'Brightness' (its questions: 'Density')"],
    ['a model choice the question lacks', [{ kind: 'classification', question: 'Brightness', choices: ['dark', 'grey'] }], "the model's choice(s) 'bright' are not choices of 'Brightness' ('dark', 'grey')"],
    ['no protocol questions', [], "the protocol has no classification question 'Brightness' (its questions: none)"],
  ])('%s', (_name, types, expected) => {
    if (typeof expected === 'string') {
      expect(() => protocolQuestion(classifier, protocol(types))).toThrow(ProtocolMismatch);
      expect(() => protocolQuestion(classifier, protocol(types))).toThrow(expected);
    } else expect(protocolQuestion(classifier, protocol(types))).toEqual(expected);
  });
});

describe('unsupportedReason', () => {
  const segmentation = parseModelManifest({ ...CLASSIFIER_TEST_MANIFEST, task: 'segmentation-2d', question: undefined, inference: { mode: 'per-slice' } });
  it.each<[string, string, boolean]>([
    ['series', 'segmentation', false],
    ['image', 'segmentation', false],
    ['frames', 'segmentation', false],
    ['view-group', 'segmentation', true],
    ['view-group', 'classification', false],
    ['view-group', 'detection', false],
  ])('%s task, %s model', (kind, task, refused) => {
    const m = task === 'segmentation' ? segmentation : task === 'classification' ? parseModelManifest(CLASSIFIER_TEST_MANIFEST) : manifest({});
    expect(unsupportedReason(kind, m) !== null).toBe(refused);
  });

  it('a model that wants several input channels is refused on every task kind, with the reason (it failed every attempt before)', () => {
    const threeChannels = parseModelManifest({ ...CLASSIFIER_TEST_MANIFEST, input: { ...CLASSIFIER_TEST_MANIFEST.input, channels: 3 } });
    for (const kind of ['series', 'image', 'frames', 'view-group']) expect(unsupportedReason(kind, threeChannels)).toMatch(/takes 3 input channels, and Contour feeds a model one single-channel image at a time/);
  });
});

describe('bestScoring', () => {
  it.each<[string, number[], number, number[]]>([
    ['all fit', [0.2, 0.9, 0.5], 3, [0.2, 0.9, 0.5]],
    ['the best two, in their order', [0.2, 0.9, 0.5], 2, [0.9, 0.5]],
    ['ties at the cut: the first ones', [0.5, 0.9, 0.5, 0.5], 2, [0.5, 0.9]],
    ['ties at the cut, more room', [0.5, 0.9, 0.5, 0.1, 0.5], 3, [0.5, 0.9, 0.5]],
  ])('%s', (_name, scores, max, expected) => {
    expect(bestScoring(scores, max, (s) => s)).toEqual(expected);
  });
});

describe('pickModels', () => {
  const seg = (name: string) => ({ name, manifest: parseModelManifest({ ...CLASSIFIER_TEST_MANIFEST, name, task: 'segmentation-2d', question: undefined, inference: { mode: 'per-slice' } }) });
  const cls = (name: string, question: string) => ({ name, manifest: parseModelManifest({ ...CLASSIFIER_TEST_MANIFEST, name, question }) });
  const det = (name: string) => ({ name, manifest: manifest({ name }) });
  it.each<[string, { name: string; manifest: ReturnType<typeof parseModelManifest> }[], string[]]>([
    ['one of each output', [seg('a'), cls('b', 'Q1'), det('c')], ['a', 'b', 'c']],
    ['the first model per output, in the project order', [det('c1'), seg('a1'), seg('a2'), det('c2')], ['c1', 'a1']],
    ['one classifier per question (case-insensitive)', [cls('b1', 'Density'), cls('b2', 'density '), cls('b3', 'Quality')], ['b1', 'b3']],
  ])('%s', (_name, candidates, expected) => {
    expect(pickModels(candidates).map((c) => c.name)).toEqual(expected);
  });
});

describe('mergeDrafts', () => {
  const model = (name: string) => ({ id: name, name, version: '1.0.0' }) as never;
  const part = (name: string, draft: Record<string, unknown>) => ({ model: model(name), draft: { model: model(name), blobKey: null, segKey: null, answers: {}, grid: null, stats: {}, uncertainty: null, ...draft } as never });

  it('keeps one model’s draft as it is', () => {
    const only = part('seg', { blobKey: 'k', grid: { dims: [1, 1, 1] }, stats: { voxels: { 1: 5 }, uncertainty: 0.2, timing: { sessionRunMs: 3 } }, uncertainty: 0.2 });
    const merged = mergeDrafts([only]);
    expect(merged).toMatchObject({ blobKey: 'k', grid: { dims: [1, 1, 1] }, stats: { voxels: { 1: 5 }, uncertainty: 0.2, timing: { sessionRunMs: 3 } }, uncertainty: 0.2 });
    expect(merged.models.map((m) => m.name)).toEqual(['seg']);
  });

  it('combines a mask, boxes and answers; the highest uncertainty; statistics per model', () => {
    const merged = mergeDrafts([
      part('seg', { blobKey: 'k', segKey: 's', grid: { dims: [2, 2, 1] }, stats: { voxels: { 1: 3 }, uncertainty: 0.1, timing: { sessionRunMs: 1 } }, uncertainty: 0.1 }),
      part('det', { answers: { shapes: [{ kind: 'box' }] }, stats: { detection: { boxes: 1 }, uncertainty: 0.4, timing: { sessionRunMs: 2 } }, uncertainty: 0.4 }),
      part('cls', { answers: { Density: 'dense' }, stats: { classification: { question: 'Density' }, uncertainty: null, timing: {} }, uncertainty: null }),
    ]);
    expect(merged).toMatchObject({ blobKey: 'k', segKey: 's', grid: { dims: [2, 2, 1] }, answers: { shapes: [{ kind: 'box' }], Density: 'dense' }, uncertainty: 0.4 });
    expect(merged.stats).toMatchObject({ voxels: { 1: 3 }, detection: { boxes: 1 }, classification: { question: 'Density' }, uncertainty: 0.4 });
    expect((merged.stats.models as { name: string; uncertainty: number | null }[]).map((m) => [m.name, m.uncertainty])).toEqual([['seg', 0.1], ['det', 0.4], ['cls', null]]);
    expect(merged.models.map((m) => m.name)).toEqual(['seg', 'det', 'cls']);
  });

  it('lists the answers of several classifiers', () => {
    const merged = mergeDrafts([part('a', { answers: { Q1: 'x' }, stats: { classification: { question: 'Q1' } } }), part('b', { answers: { Q2: 'y' }, stats: { classification: { question: 'Q2' } } })]);
    expect(merged.stats.classifications).toEqual([{ question: 'Q1' }, { question: 'Q2' }]);
    expect(merged.answers).toEqual({ Q1: 'x', Q2: 'y' });
    expect(merged.uncertainty).toBeNull();
  });
});

describe('labelMapping: model labels to protocol labels', () => {
  const model = parseModelManifest({
    ...DETECTOR_TEST_MANIFEST,
    labels: [
      { channel: 1, name: 'Liver', code: { value: '10200004', scheme: 'SCT', meaning: 'Liver' } },
      { channel: 2, name: 'Tumour' },
    ],
  });
  type P = { id: number; name: string; code?: { value: string; scheme?: string } }[];
  it.each<[string, P | null, [number, number][], string[]]>([
    ['no protocol: the model\'s own numbers', null, [[1, 1], [2, 2]], []],
    ['by name, any case', [{ id: 7, name: 'liver' }, { id: 9, name: 'TUMOUR' }], [[1, 7], [2, 9]], []],
    // The code wins over a name match that comes first in the protocol.
    ['by code before name', [{ id: 3, name: 'Liver' }, { id: 4, name: 'Hepar', code: { value: '10200004', scheme: 'SCT' } }], [[1, 4]], ['Tumour']],
    ['a code of another scheme is not a match', [{ id: 4, name: 'Organ', code: { value: '10200004', scheme: '99LOCAL' } }, { id: 5, name: 'Tumour' }], [[2, 5]], ['Liver']],
  ])('%s', (_name, protocol, pairs, unmapped) => {
    const m = labelMapping(model, protocol);
    expect([...m]).toEqual(pairs);
    expect(m.unmapped).toEqual(unmapped);
  });

  it('a protocol that knows none of the model\'s labels is a clear mismatch, not an empty draft (it was a "drafted" empty mask)', () => {
    expect(() => labelMapping(model, [{ id: 1, name: 'Spleen' }])).toThrow(ProtocolMismatch);
    expect(() => labelMapping(model, [{ id: 1, name: 'Spleen' }])).toThrow(/none of the model's labels \('Liver', 'Tumour'\) is a label of the protocol \('Spleen'\)/);
  });
});
