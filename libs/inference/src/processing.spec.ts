// Pre- and post-processing maths: intensity normalisation, activations, decisions, components, uncertainty.
import {
  CT_STARTER_MANIFEST,
  MESHNET_MANIFEST,
  applyIntensity,
  argmaxLabels,
  cleanUpComponents,
  connectedComponents,
  intensityTransform,
  labelVoxelCounts,
  normalizeIntensity,
  parseModelManifest,
  postprocess,
  sigmoidInPlace,
  softmaxChannels,
  thresholdLabels,
  uncertaintyScore,
  type IntensitySpec,
  type Vec3,
} from './index';

describe('intensity normalisation', () => {
  const volume = Float32Array.from([-1000, -100, 0, 40, 100, 1000, 3000]);
  it.each<[string, IntensitySpec, number[]]>([
    ['minmax', { kind: 'minmax' }, [0, 0.225, 0.25, 0.26, 0.275, 0.5, 1]],
    ['minmax after clip', { kind: 'minmax', clip: [-100, 100] }, [0, 0, 0.5, 0.7, 1, 1, 1]],
    ['window 40/400', { kind: 'window', window: { center: 40, width: 400 } }, [0, 0.15, 0.4, 0.5, 0.65, 1, 1]],
    ['window narrowed by clip', { kind: 'window', window: { center: 0, width: 200 }, clip: [0, 500] }, [0, 0, 0, 0.4, 1, 1, 1]],
    ['none', { kind: 'none' }, [-1000, -100, 0, 40, 100, 1000, 3000]],
    ['none with clip', { kind: 'none', clip: [-1024, 1500] }, [-1000, -100, 0, 40, 100, 1000, 1500]],
  ])('%s', (_name, spec, expected) => {
    const out = normalizeIntensity(volume, spec);
    expected.forEach((e, i) => expect(out[i]).toBeCloseTo(e, 5));
  });

  it('zscore gives mean 0 and standard deviation 1', () => {
    const out = normalizeIntensity(volume, { kind: 'zscore' });
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    const variance = out.reduce((a, b) => a + (b - mean) ** 2, 0) / out.length;
    expect(mean).toBeCloseTo(0, 5);
    expect(variance).toBeCloseTo(1, 5);
  });

  it('maps a constant volume to 0 instead of NaN, and non-finite voxels to the minimum', () => {
    expect([...normalizeIntensity(new Float32Array(4).fill(7), { kind: 'minmax' })]).toEqual([0, 0, 0, 0]);
    expect([...normalizeIntensity(new Float32Array(4).fill(7), { kind: 'zscore' })]).toEqual([0, 0, 0, 0]);
    const t = intensityTransform(Float32Array.from([NaN, 2, 4, Infinity]), { kind: 'minmax' });
    expect([NaN, 2, 4, Infinity].map((v) => applyIntensity(v, t))).toEqual([0, 0, 1, 0]);
  });

  it('normalises each channel with its own statistics', () => {
    const two = Float32Array.from([0, 10, 100, 300]);
    expect([...normalizeIntensity(two, { kind: 'minmax' }, 2)]).toEqual([0, 1, 0, 1]);
  });
});

describe('activations and decisions', () => {
  // Two voxels, three channels ([c][voxel]).
  const logits = () => Float32Array.from([1, 0, 2, 0, 3, 0]);

  it('softmax over channels sums to 1 per voxel and survives huge logits', () => {
    const p = softmaxChannels(logits(), 3);
    expect(p[0] + p[2] + p[4]).toBeCloseTo(1, 6);
    expect(p[4]).toBeCloseTo(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3)), 6);
    expect(p[1]).toBeCloseTo(1 / 3, 6);
    const big = softmaxChannels(Float32Array.from([1000, 999]), 2);
    expect(big[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });

  it('sigmoid', () => {
    expect([...sigmoidInPlace(Float32Array.from([0, 100, -100]))].map((v) => +v.toFixed(6))).toEqual([0.5, 1, 0]);
  });

  it.each<[string, Float32Array, number, Uint8Array, number[]]>([
    ['argmax with background channel 0', Float32Array.from([5, 0, 1, 2, 0, 2]), 3, Uint8Array.from([0, 1, 2]), [0, 1]], // tie 2/2 → lower channel
    ['argmax with reordered labels', Float32Array.from([5, 0, 1, 2, 0, 3]), 3, Uint8Array.from([0, 2, 1]), [0, 1]],
  ])('%s', (_name, data, channels, labelOf, expected) => {
    expect([...argmaxLabels(data, channels, labelOf)]).toEqual(expected);
  });

  it.each<[string, number[], number, number[], number, number[]]>([
    ['one sigmoid channel', [0.2, 0.5, 0.9], 1, [1], 0.5, [0, 1, 1]],
    ['softmax with background, highest above threshold wins', [0.1, 0.1, 0.5, 0.4, 0.6, 0.3, 0.5, 0.3, 0.2], 3, [0, 1, 2], 0.3, [2, 1, 1]],
    ['nothing reaches the threshold', [0.2, 0.2], 2, [1, 2], 0.5, [0]],
  ])('threshold: %s', (_name, data, channels, labelOf, threshold, expected) => {
    expect([...thresholdLabels(Float32Array.from(data), channels, threshold, Uint8Array.from(labelOf))]).toEqual(expected);
  });
});

/** A label map from a list of [x, y, z, label]. */
function labelMap(dims: Vec3, voxels: [number, number, number, number][]): Uint8Array {
  const map = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const [x, y, z, l] of voxels) map[(z * dims[1] + y) * dims[0] + x] = l;
  return map;
}

describe('connected components (26-connectivity)', () => {
  const dims: Vec3 = [5, 5, 5];
  it.each<[string, [number, number, number, number][], number]>([
    ['face neighbours', [[0, 0, 0, 1], [1, 0, 0, 1]], 1],
    ['edge neighbours', [[0, 0, 0, 1], [1, 1, 0, 1]], 1],
    ['corner neighbours', [[0, 0, 0, 1], [1, 1, 1, 1]], 1],
    ['two apart', [[0, 0, 0, 1], [2, 0, 0, 1]], 2],
    ['different labels touching', [[0, 0, 0, 1], [1, 0, 0, 2]], 2],
    ['a V joined late in the scan', [[0, 0, 0, 1], [4, 0, 0, 1], [1, 1, 1, 1], [3, 1, 1, 1], [2, 2, 2, 1]], 1],
    ['corner-to-corner across z in the other diagonal', [[4, 0, 0, 1], [3, 1, 1, 1]], 1],
    // Neighbour offsets must not wrap: y = 4 + 1 of the slice below is not row 0 of this slice.
    ['first and last row of one slice', [[0, 0, 1, 1], [0, 4, 1, 1]], 2],
    ['last column and next row', [[4, 0, 0, 1], [0, 1, 0, 1]], 2],
  ])('%s', (_name, voxels, expected) => {
    expect(connectedComponents(labelMap(dims, voxels), dims).count).toBe(expected);
  });

  it('handles a volume-filling component and a checkerboard of isolated voxels without recursion', () => {
    const big: Vec3 = [128, 128, 64];
    expect(connectedComponents(new Uint8Array(128 * 128 * 64).fill(1), big).count).toBe(1);
    // Voxels at even (x, y, z) are 2 apart: no two touch even diagonally.
    const sparse = new Uint8Array(64 * 64 * 64);
    for (let z = 0; z < 64; z += 2) for (let y = 0; y < 64; y += 2) for (let x = 0; x < 64; x += 2) sparse[(z * 64 + y) * 64 + x] = 1;
    expect(connectedComponents(sparse, [64, 64, 64]).count).toBe(32 * 32 * 32);
  });

  it('keeps the largest component per label and removes small ones', () => {
    // label 1: blobs of 3 and 2 voxels; label 2: blobs of 1 and 4 voxels.
    const map = () =>
      labelMap(dims, [
        [0, 0, 0, 1], [1, 0, 0, 1], [2, 0, 0, 1],
        [4, 4, 4, 1], [4, 3, 4, 1],
        [0, 4, 0, 2],
        [4, 0, 2, 2], [4, 1, 2, 2], [4, 2, 2, 2], [3, 2, 2, 2],
      ]);
    const all = map();
    expect(cleanUpComponents(all, dims, { keepLargest: 'all' })).toBe(3);
    expect(labelVoxelCounts(all, 2)).toEqual([125 - 7, 3, 4]);
    const onlyTwo = map();
    expect(cleanUpComponents(onlyTwo, dims, { keepLargest: [2] })).toBe(1);
    expect(labelVoxelCounts(onlyTwo, 2)).toEqual([125 - 9, 5, 4]);
    const small = map();
    expect(cleanUpComponents(small, dims, { minSize: 3 })).toBe(3);
    expect(labelVoxelCounts(small, 2)).toEqual([125 - 7, 3, 4]);
    const untouched = map();
    expect(cleanUpComponents(untouched, dims, {})).toBe(0);
  });
});

describe('uncertainty', () => {
  // Three voxels, two channels: certain, 50/50, 90/10.
  const probs = () => Float32Array.from([1, 0.5, 0.9, 0, 0.5, 0.1]);
  const binaryEntropy = (p: number) => -(p * Math.log(p) + (1 - p) * Math.log(1 - p)) / Math.LN2;

  it('is the mean entropy / log(C) inside the foreground', () => {
    const labels = Uint8Array.from([1, 1, 0]);
    const s = uncertaintyScore(probs(), 2, labels, 'probabilities');
    expect(s.region).toBe('foreground');
    expect(s.voxels).toBe(2);
    expect(s.score).toBeCloseTo(0.5, 6);
  });

  it('falls back to the whole volume when nothing was predicted', () => {
    const s = uncertaintyScore(probs(), 2, new Uint8Array(3), 'probabilities');
    expect(s.region).toBe('whole-volume');
    expect(s.voxels).toBe(3);
    expect(s.score).toBeCloseTo((0 + 1 + binaryEntropy(0.9)) / 3, 6);
  });

  it('gives the same score from logits as from their softmax', () => {
    const logits = Float32Array.from([2, -1, 0.3, 0, 0, 0.1, -3, 1, 0.2]);
    const labels = Uint8Array.from([1, 2, 1]);
    const fromLogits = uncertaintyScore(logits, 3, labels, 'logits').score!;
    const fromProbabilities = uncertaintyScore(softmaxChannels(logits.slice(), 3), 3, labels, 'probabilities').score!;
    expect(fromLogits).toBeCloseTo(fromProbabilities, 6);
    expect(fromLogits).toBeGreaterThan(0);
    expect(fromLogits).toBeLessThan(1);
  });

  it('samples a large foreground at an even stride: the estimate stays within 0.002 of the exact mean', () => {
    // 1,000,000 voxels, 2 channels, probabilities varying smoothly; 70 % foreground.
    const n = 1_000_000;
    const data = new Float32Array(2 * n);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const p = 0.5 + 0.49 * Math.sin(i * 0.001);
      data[i] = p;
      data[n + i] = 1 - p;
      labels[i] = i % 10 < 7 ? 1 : 0;
    }
    const exact = uncertaintyScore(data, 2, labels, 'probabilities', n);
    const sampled = uncertaintyScore(data, 2, labels, 'probabilities', 50_000);
    expect(exact.voxels).toBe(700_000);
    expect(sampled.voxels).toBe(700_000);
    expect(Math.abs(sampled.score! - exact.score!)).toBeLessThan(0.002);
    expect(sampled.score).not.toBe(exact.score);
  });

  it('uses binary entropy for independent sigmoid channels and is 1 for a uniform distribution', () => {
    expect(uncertaintyScore(Float32Array.from([0.5, 0.9]), 1, Uint8Array.from([1, 1]), 'independent-probabilities').score).toBeCloseTo((1 + binaryEntropy(0.9)) / 2, 6);
    expect(uncertaintyScore(new Float32Array(4).fill(0.25), 4, Uint8Array.from([1]), 'probabilities').score).toBeCloseTo(1, 6);
  });
});

describe('postprocess', () => {
  it('turns MeshNet-style logits into a label map with counts and uncertainty', () => {
    const dims: Vec3 = [2, 2, 1];
    // channels [background, white, grey] for 4 voxels
    const logits = Float32Array.from([5, 0, 0, 0, 0, 5, 0, 1, 0, 0, 5, 1]);
    const s = postprocess(logits, 3, dims, MESHNET_MANIFEST);
    expect([...s.labelMap]).toEqual([0, 1, 2, 1]);
    expect(s.labels).toEqual([
      { value: 1, name: 'White matter', voxels: 2 },
      { value: 2, name: 'Grey matter', voxels: 1 },
    ]);
    expect(s.uncertainty.region).toBe('foreground');
    expect(s.uncertainty.voxels).toBe(3);
    expect(s.uncertainty.score!).toBeGreaterThan(0);
    expect(s.removedVoxels).toBe(0);
  });

  it('applies the manifest clean-up (minComponentSize of the CT starter)', () => {
    const dims: Vec3 = [10, 10, 1];
    const logits = new Float32Array(4 * 100);
    logits.fill(10, 0, 100); // background everywhere
    logits[100 + 0] = 20; // a single lung voxel: smaller than 64, removed
    const s = postprocess(logits, 4, dims, CT_STARTER_MANIFEST);
    expect(s.removedVoxels).toBe(1);
    expect(s.labels.map((l) => l.voxels)).toEqual([0, 0, 0]);
    expect(s.uncertainty.region).toBe('whole-volume');
  });

  it('maps a labels output through the channel numbers and has no uncertainty', () => {
    const m = parseModelManifest({ ...MESHNET_MANIFEST, output: { name: 'output', kind: 'labels' }, postprocessing: { activation: 'none', decision: 'argmax' } });
    const s = postprocess(Float32Array.from([0, 1, 2, 7]), 1, [4, 1, 1], m);
    expect([...s.labelMap]).toEqual([0, 1, 2, 0]);
    expect(s.uncertainty).toEqual({ score: null, region: 'none', voxels: 0 });
  });

  it('refuses an output of the wrong size', () => {
    expect(() => postprocess(new Float32Array(10), 3, [2, 2, 1], MESHNET_MANIFEST)).toThrow('model output has 10 values but 3 channel(s) of 2x2x1 need 12');
  });
});
