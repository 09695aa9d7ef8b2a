// ModelRunner against the real onnxruntime-node: whole-volume, per-slice and sliding-window inference agree with
// each other and with plain-JS references; sessions are cached; mismatches are refused with reasons.
import './testing/onnxruntime-realm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CT_STARTER_MANIFEST,
  InferenceError,
  ModelRunner,
  accumulatePatch,
  buildConvTestModel,
  buildConv3dTestModel,
  buildCtStarterModel,
  extractPatch,
  normalizeIntensity,
  parseModelManifest,
  planSlidingWindow,
  type ModelManifest,
  postprocess,
  type ModelManifestInput,
  type Vec3,
} from './index';
import { cleanVoxelMask, convolve3d, pseudoRandom } from './testing/reference-convolution';

const KERNEL = 3;
const CHANNELS_OUT = 2;
const weights = pseudoRandom(CHANNELS_OUT * KERNEL ** 3, 31);
const bias = Float32Array.from([0.25, -0.5]);
const convModel = buildConv3dTestModel({ channelsOut: CHANNELS_OUT, kernel: KERNEL, weights, bias });

function convManifest(inference: ModelManifestInput['inference'], overrides: Partial<ModelManifestInput> = {}): ModelManifest {
  return parseModelManifest({
    schemaVersion: 1,
    name: 'conv-test',
    version: '1.0.0',
    description: 'A 3x3x3 convolution with known weights',
    task: 'segmentation-3d',
    appliesTo: { modalities: ['OT'] },
    input: { name: 'input', layout: 'NCDHW', channels: 1 },
    output: { name: 'output', kind: 'logits' },
    preprocessing: { intensity: { kind: 'none' } },
    inference,
    postprocessing: { activation: 'softmax', decision: 'argmax' },
    labels: [{ channel: 1, name: 'Foreground' }],
    ...overrides,
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array, mask?: Uint8Array, invert = false): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  const voxels = mask?.length ?? a.length;
  for (let i = 0; i < a.length; i++) {
    if (mask && (mask[i % voxels] === 1) === invert) continue;
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return worst;
}

describe('ModelRunner.segment, sliding window', () => {
  it('gives the label map and uncertainty of run() + postprocess (it blends logits relative to channel 0)', async () => {
    const runner = new ModelRunner({ intraOpNumThreads: 1 });
    const dims: Vec3 = [40, 36, 30];
    const volume = pseudoRandom(dims[0] * dims[1] * dims[2], 77, -1, 1);
    const manifest = convManifest({ mode: 'sliding-window', patchSize: [16, 16, 16], overlap: 0.5 });
    const model = await runner.load(convModel);
    const reference = postprocess((await model.run(volume, dims, manifest)).channels, CHANNELS_OUT, dims, manifest);
    // Twice: the second run reuses the first one's output buffer.
    for (let round = 0; round < 2; round++) {
      const { segmentation } = await model.segment(volume, dims, manifest);
      let differ = 0;
      for (let i = 0; i < segmentation.labelMap.length; i++) if (segmentation.labelMap[i] !== reference.labelMap[i]) differ++;
      // Float rounding may flip a voxel whose two logits are equal to 1e-6; none does here.
      expect(differ).toBe(0);
      expect(segmentation.uncertainty.score).toBeCloseTo(reference.uncertainty.score!, 5);
    }
    await runner.release();
  });
});

describe('ModelRunner', () => {
  const runner = new ModelRunner({ intraOpNumThreads: 2 });
  afterAll(() => runner.release());

  const dims: Vec3 = [40, 36, 30];
  const volume = pseudoRandom(dims[0] * dims[1] * dims[2], 32, 0, 1);
  const patch: [number, number, number] = [16, 16, 16];

  // Why equality holds where it does: the conv model is translation-equivariant with a receptive field of radius
  // 1. A patch computes the whole-volume value at every voxel whose 3x3x3 neighbourhood lies inside the patch,
  // or whose missing neighbours lie outside the volume too (the patch ends where the volume ends, and both runs
  // zero-pad there). Where that holds for every patch covering a voxel (cleanVoxelMask), the blend is a convex
  // combination of identical values, so the result equals the whole-volume run up to float32 rounding (1e-5 on
  // values of order 1). At other voxels a patch edge has replaced real neighbours with zeros; there the runner
  // must equal the same blend computed in plain JS, and Gaussian blending (which gives patch edges ~3e-4 of the
  // centre's weight per axis) must land much closer to the whole-volume value than constant blending.
  describe.each<['gaussian' | 'constant']>([['gaussian'], ['constant']])('sliding window (%s blending) vs whole volume', (blending) => {
    let whole: Float32Array;
    let windowed: Float32Array;
    const manifest = convManifest({ mode: 'sliding-window', patchSize: patch, overlap: 0.5, blending, batchSize: 3 });
    const plan = planSlidingWindow(dims, patch, { overlap: 0.5, blending });
    const clean = cleanVoxelMask(dims, patch, plan.starts, KERNEL >> 1);

    beforeAll(async () => {
      whole = (await runner.run(convModel, volume, dims, convManifest({ mode: 'whole' }))).channels;
      const result = await runner.run(convModel, volume, dims, manifest);
      windowed = result.channels;
      expect(result.channelCount).toBe(CHANNELS_OUT);
      expect(result.timing.patches).toBe(plan.patchCount);
      expect(result.timing.batches).toBe(Math.ceil(plan.patchCount / 3));
    });

    it('whole-volume mode equals the JS convolution', () => {
      expect(maxAbsDiff(whole, convolve3d(volume, dims, weights, KERNEL, CHANNELS_OUT, bias))).toBeLessThan(1e-5);
    });

    it('equals whole-volume inference wherever every covering patch holds the receptive field', () => {
      let cleanVoxels = 0;
      for (const c of clean) cleanVoxels += c;
      expect(cleanVoxels).toBeGreaterThan(clean.length / 2);
      expect(maxAbsDiff(windowed, whole, clean)).toBeLessThan(1e-5);
    });

    it('equals the same blend computed in JS everywhere else', () => {
      const patchVoxels = patch[0] * patch[1] * patch[2];
      const buffer = new Float32Array(patchVoxels);
      const reference = new Float32Array(windowed.length);
      for (let i = 0; i < plan.patchCount; i++) {
        extractPatch(plan, volume, 1, i, buffer, 0, 'edge');
        accumulatePatch(plan, reference, CHANNELS_OUT, i, convolve3d(buffer, patch, weights, KERNEL, CHANNELS_OUT, bias));
      }
      expect(maxAbsDiff(windowed, reference)).toBeLessThan(1e-5);
      const dirty = maxAbsDiff(windowed, whole, clean, true);
      expect(dirty).toBeGreaterThan(1e-4); // patch edges do matter there...
      if (blending === 'gaussian') expect(dirty).toBeLessThan(0.05); // ...but Gaussian blending keeps them close
    });
  });

  it('Gaussian blending is closer to the whole-volume result than constant blending at patch edges', async () => {
    const whole = (await runner.run(convModel, volume, dims, convManifest({ mode: 'whole' }))).channels;
    const plan = planSlidingWindow(dims, patch, { overlap: 0.5, blending: 'constant' });
    const clean = cleanVoxelMask(dims, patch, plan.starts, 1);
    const meanError = async (blending: 'gaussian' | 'constant') => {
      const out = (await runner.run(convModel, volume, dims, convManifest({ mode: 'sliding-window', patchSize: patch, overlap: 0.5, blending }))).channels;
      let sum = 0;
      let n = 0;
      for (let i = 0; i < out.length; i++)
        if (!clean[i % clean.length]) {
          sum += Math.abs(out[i] - whole[i]);
          n++;
        }
      return sum / n;
    };
    expect(await meanError('gaussian')).toBeLessThan((await meanError('constant')) / 5);
  });

  it('gives the same result whatever the batch size', async () => {
    const one = await runner.run(convModel, volume, dims, convManifest({ mode: 'sliding-window', patchSize: patch, batchSize: 1 }));
    const five = await runner.run(convModel, volume, dims, convManifest({ mode: 'sliding-window', patchSize: patch, batchSize: 5 }));
    expect(five.timing.batches).toBe(Math.ceil(one.timing.patches / 5));
    expect(maxAbsDiff(one.channels, five.channels)).toBeLessThan(1e-6);
  });

  it("pads a volume smaller than the patch; 'zero' padding then equals whole-volume inference exactly", async () => {
    const small: Vec3 = [10, 9, 5];
    const v = pseudoRandom(450, 33, 0, 1);
    const whole = (await runner.run(convModel, v, small, convManifest({ mode: 'whole' }))).channels;
    const zero = await runner.run(convModel, v, small, convManifest({ mode: 'sliding-window', patchSize: patch, padding: 'zero' }));
    expect(zero.timing.patches).toBe(1);
    expect(maxAbsDiff(zero.channels, whole)).toBeLessThan(1e-6);
    // Edge padding repeats the border voxels instead, which changes the convolution on the far borders only.
    const edge = (await runner.run(convModel, v, small, convManifest({ mode: 'sliding-window', patchSize: patch, padding: 'edge' }))).channels;
    const interior = new Uint8Array(450);
    for (let z = 0, i = 0; z < 5; z++) for (let y = 0; y < 9; y++) for (let x = 0; x < 10; x++, i++) interior[i] = x < 9 && y < 8 && z < 4 ? 1 : 0;
    expect(maxAbsDiff(edge, whole, interior)).toBeLessThan(1e-6);
    expect(maxAbsDiff(edge, whole, interior, true)).toBeGreaterThan(1e-3);
  });

  it('applies the manifest intensity normalisation (and leaves the input untouched)', async () => {
    const raw = Float32Array.from(volume, (x) => 100 + 900 * x);
    const before = raw.slice();
    const manifest = convManifest({ mode: 'whole' }, { preprocessing: { intensity: { kind: 'minmax' } } });
    const viaRunner = (await runner.run(convModel, raw, dims, manifest)).channels;
    const expected = convolve3d(normalizeIntensity(raw, { kind: 'minmax' }), dims, weights, KERNEL, CHANNELS_OUT, bias);
    expect(maxAbsDiff(viaRunner, expected)).toBeLessThan(1e-5);
    expect(raw).toEqual(before);
  });

  it('accepts integer volumes (e.g. CT stored as int16)', async () => {
    const hu = Int16Array.from(volume, (x) => Math.round(x * 1000));
    const out = (await runner.run(convModel, hu, dims, convManifest({ mode: 'whole' }))).channels;
    expect(maxAbsDiff(out, convolve3d(hu, dims, weights, KERNEL, CHANNELS_OUT, bias))).toBeLessThan(1e-2);
  });

  it('runs an NCHW model slice by slice', async () => {
    const w2d = pseudoRandom(2 * 9, 34);
    const model2d = buildConvTestModel({ spatialDims: 2, channelsOut: 2, kernel: 3, weights: w2d });
    const manifest = convManifest({ mode: 'per-slice', batchSize: 4 }, { task: 'segmentation-2d', input: { name: 'input', layout: 'NCHW', channels: 1 } });
    const small: Vec3 = [12, 10, 7];
    const v = pseudoRandom(12 * 10 * 7, 35);
    const result = await runner.run(model2d, v, small, manifest);
    expect(result.timing).toMatchObject({ patches: 7, batches: 2 });
    // A 2-D kernel is a 3-D kernel whose only non-zero slice is the middle one.
    const as3d = new Float32Array(2 * 27);
    for (let c = 0; c < 2; c++) for (let i = 0; i < 9; i++) as3d[c * 27 + 9 + i] = w2d[c * 9 + i];
    expect(maxAbsDiff(result.channels, convolve3d(v, small, as3d, 3, 2))).toBeLessThan(1e-5);
  });

  it('reports timing: session.run time within the total', async () => {
    const { timing } = await runner.run(convModel, volume, dims, convManifest({ mode: 'sliding-window', patchSize: patch }));
    expect(timing.sessionRunMs).toBeGreaterThan(0);
    expect(timing.totalMs).toBeGreaterThanOrEqual(timing.sessionRunMs);
  });

  it('pre-labels a CT phantom with the rule-based starter model, thin series included', async () => {
    const starter = buildCtStarterModel();
    for (const phantom of [[150, 40, 36], [64, 48, 3]] as Vec3[]) {
      const [nx, ny, nz] = phantom;
      // Four slabs along x: air, lung, soft tissue, bone.
      const slab = (x: number) => Math.min(3, Math.floor((x * 4) / nx));
      const hu = new Int16Array(nx * ny * nz);
      for (let z = 0, i = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) hu[i] = [-1000, -800, 50, 1000][slab(x)];
      const { segmentation, timing } = await (await runner.load(starter)).segment(hu, phantom, CT_STARTER_MANIFEST);
      let wrong = 0;
      for (let z = 0, i = 0; z < nz; z++)
        for (let y = 0; y < ny; y++)
          for (let x = 0; x < nx; x++, i++) if (slab(x - 1) === slab(x + 1) && segmentation.labelMap[i] !== slab(x)) wrong++;
      expect(wrong).toBe(0);
      expect(segmentation.uncertainty.region).toBe('foreground');
      expect(segmentation.uncertainty.score!).toBeLessThan(0.05);
      expect(timing.postprocessMs).toBeGreaterThanOrEqual(0);
    }
  });

  describe('sessions', () => {
    it('keeps one warm session per model checksum, whether loaded from bytes or a file', async () => {
      const local = new ModelRunner();
      const dir = mkdtempSync(join(tmpdir(), 'contour-inference-'));
      try {
        const file = join(dir, 'model.onnx');
        writeFileSync(file, convModel);
        const fromBytes = await local.load(convModel);
        const fromFile = await local.load(file);
        expect(fromFile).toBe(fromBytes);
        expect(local.loadedChecksums).toEqual([fromBytes.checksum]);
        expect(fromBytes.checksum).toMatch(/^[0-9a-f]{64}$/);
        expect(fromBytes.executionProvider).toBe('cpu');
        const other = await local.load(buildCtStarterModel());
        expect(other).not.toBe(fromBytes);
        expect(local.loadedChecksums).toHaveLength(2);
      } finally {
        await local.release();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("tries CUDA only when asked and falls back to CPU with a logged reason", async () => {
      const warnings: string[] = [];
      const local = new ModelRunner({ executionProviders: ['cuda', 'cpu'], logger: { warn: (m) => warnings.push(m) } });
      try {
        const model = await local.load(convModel);
        if (model.executionProvider === 'cuda') return; // a machine with a working CUDA provider: nothing to fall back from
        expect(model.executionProvider).toBe('cpu');
        expect(model.fallbackReason).toContain('CUDA execution provider unavailable');
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain('running on CPU');
        const out = await model.run(volume, dims, convManifest({ mode: 'whole' }));
        expect(out.channelCount).toBe(2);
      } finally {
        await local.release();
      }
    });

    it('names a model file it cannot read and does not cache the failure', async () => {
      const local = new ModelRunner();
      await expect(local.load('/nonexistent/model.onnx')).rejects.toThrow("cannot read model file '/nonexistent/model.onnx'");
      await expect(local.load(new Uint8Array([1, 2, 3]))).rejects.toThrow('onnxruntime cannot load model');
      expect(local.loadedChecksums).toEqual([]);
    });
  });

  describe('refusals', () => {
    it.each<[string, () => Promise<unknown>, string]>([
      [
        'a manifest that does not match the model',
        () => runner.run(convModel, volume, dims, convManifest({ mode: 'whole' }, { input: { name: 'image', layout: 'NCDHW', channels: 1 } })),
        "manifest says input 'image' but the model's inputs are: input",
      ],
      ['a volume of the wrong length', () => runner.run(convModel, volume.subarray(1), dims, convManifest({ mode: 'whole' })), 'volume has 43199 values but dims 40x36x30 with 1 channel(s) need 43200'],
      [
        'a volume off the fixed grid',
        () => runner.run(convModel, volume, dims, convManifest({ mode: 'whole' }, { preprocessing: { fixedGrid: [32, 32, 32], intensity: { kind: 'none' } } })),
        "volume is 40x36x30 but manifest 'conv-test' needs the fixed grid 32x32x32",
      ],
      [
        'a 3-D volume for a 2-D whole-image model',
        () =>
          runner.run(
            buildConvTestModel({ spatialDims: 2, channelsOut: 2, kernel: 1, weights: [1, 1] }),
            volume,
            dims,
            convManifest({ mode: 'whole' }, { task: 'segmentation-2d', input: { name: 'input', layout: 'NCHW', channels: 1 } }),
          ),
        "the volume has 30 slices; use mode 'per-slice'",
      ],
      ['non-integer dims', () => runner.run(convModel, volume, [40, 36, 29.5], convManifest({ mode: 'whole' })), 'dims must be three positive whole numbers'],
      [
        'a classification manifest',
        () => runner.run(convModel, volume, dims, convManifest({ mode: 'whole' }, { task: 'classification', question: 'Kind?' })),
        "manifest 'conv-test' is a classification model; it cannot be used for segmentation",
      ],
    ])('refuses %s', async (_name, attempt, message) => {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InferenceError);
      expect((error as Error).message).toContain(message);
    });
  });
});
