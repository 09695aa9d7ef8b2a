// The ONNX graphs built in code load in the real onnxruntime-node and compute what they claim.
import './testing/onnxruntime-realm';
import * as ort from 'onnxruntime-node';
import {
  CT_STARTER_MANIFEST,
  CT_STARTER_RULES,
  buildConvTestModel,
  buildConv3dTestModel,
  buildCtStarterModel,
  checkModelAgainstManifest,
  modelSignature,
  postprocess,
  softmaxChannels,
  uncertaintyScore,
  type Vec3,
} from './index';
import { convolve3d, pseudoRandom } from './testing/reference-convolution';

async function runOnce(model: Uint8Array, input: Float32Array, shape: number[], inputName = 'input'): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const out = await session.run({ [inputName]: new ort.Tensor('float32', input, shape) });
    return out[session.outputNames[0]] as ort.Tensor;
  } finally {
    await session.release();
  }
}

describe('buildConv3dTestModel', () => {
  it('declares dynamic batch and spatial dims', async () => {
    const session = await ort.InferenceSession.create(buildConv3dTestModel({ channelsOut: 2, kernel: 3, weights: new Array(54).fill(0) }));
    const signature = modelSignature(session);
    expect(signature).toEqual({
      inputs: [{ name: 'input', isTensor: true, type: 'float32', shape: ['N', 1, 'D', 'H', 'W'] }],
      outputs: [{ name: 'output', isTensor: true, type: 'float32', shape: ['N', 2, 'D', 'H', 'W'] }],
    });
    await session.release();
  });

  it.each<[string, number, number, boolean, Vec3]>([
    ['3x3x3, 2 channels', 3, 2, false, [7, 6, 5]],
    ['3x3x3 with ReLU', 3, 2, true, [7, 6, 5]],
    ['5x5x5, 1 channel, thin volume', 5, 1, false, [9, 4, 2]],
    ['1x1x1', 1, 3, false, [3, 3, 3]],
  ])('%s equals a direct JS convolution', async (_name, kernel, channelsOut, relu, dims) => {
    const weights = pseudoRandom(channelsOut * kernel ** 3, 11);
    const bias = pseudoRandom(channelsOut, 12);
    const volume = pseudoRandom(dims[0] * dims[1] * dims[2], 13, 0, 1);
    const out = await runOnce(buildConv3dTestModel({ channelsOut, kernel, weights, bias, relu }), volume, [1, 1, dims[2], dims[1], dims[0]]);
    expect(out.dims).toEqual([1, channelsOut, dims[2], dims[1], dims[0]]);
    const expected = convolve3d(volume, dims, weights, kernel, channelsOut, bias, relu);
    const actual = out.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    expect(worst).toBeLessThan(1e-5);
  });

  it('a known kernel: the 6-neighbour Laplacian of a single bright voxel', async () => {
    const w = new Array(27).fill(0);
    w[13] = -6;
    for (const i of [4, 10, 12, 14, 16, 22]) w[i] = 1;
    const volume = new Float32Array(27);
    volume[13] = 1;
    const out = [...((await runOnce(buildConv3dTestModel({ channelsOut: 1, kernel: 3, weights: w }), volume, [1, 1, 3, 3, 3])).data as Float32Array)];
    expect(out).toEqual(w); // the impulse response of a symmetric kernel is the kernel
  });

  it('the 2-D variant runs on NCHW', async () => {
    const weights = pseudoRandom(9, 5);
    const image = pseudoRandom(20, 6);
    const out = await runOnce(buildConvTestModel({ spatialDims: 2, channelsOut: 1, kernel: 3, weights }), image, [1, 1, 4, 5]);
    // A 2-D conv is the 3-D conv on one slice with the kernel's middle slice.
    const as3d = new Array(27).fill(0);
    for (let i = 0; i < 9; i++) as3d[9 + i] = weights[i];
    const expected = convolve3d(image, [5, 4, 1], as3d, 3, 1);
    expect(out.dims).toEqual([1, 1, 4, 5]);
    (out.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });

  it('refuses an even kernel', () => {
    expect(() => buildConv3dTestModel({ channelsOut: 1, kernel: 2, weights: new Array(8).fill(1) })).toThrow('kernel must be an odd size, got 2');
  });
});

describe('buildCtStarterModel', () => {
  it('matches its manifest', async () => {
    const session = await ort.InferenceSession.create(buildCtStarterModel());
    expect(checkModelAgainstManifest(modelSignature(session), CT_STARTER_MANIFEST)).toEqual([]);
    expect(checkModelAgainstManifest(session, CT_STARTER_MANIFEST)).toEqual([]); // a session works directly too
    expect(checkModelAgainstManifest(session, { ...CT_STARTER_MANIFEST, input: { ...CT_STARTER_MANIFEST.input, name: 'image' } })).toEqual([
      "manifest says input 'image' but the model's inputs are: hu",
    ]);
    await session.release();
  });

  // Uniform volumes: smoothing changes nothing, so these test the rules themselves, including both sides of each
  // threshold (a uniform value 10 HU past a threshold is already on the other side of argmax).
  it.each<[number, number]>([
    [-3024, 0], // outside the CT field of view
    [-1000, 0], // air
    [-960, 0],
    [-940, 1],
    [-700, 1], // lung parenchyma
    [-410, 1],
    [-390, 0], // between lung and soft tissue: nothing matches
    [-300, 0],
    [-190, 2],
    [-100, 2], // fat
    [40, 2], // muscle, organs
    [290, 2],
    [310, 3],
    [700, 3], // cortical bone
    [3000, 3], // metal
  ])('a uniform %i HU volume is label %i', async (hu, expected) => {
    const dims: Vec3 = [4, 3, 2];
    const out = await runOnce(buildCtStarterModel(), new Float32Array(24).fill(hu), [1, 1, 2, 3, 4], 'hu');
    const logits = out.data as Float32Array;
    expect(out.dims).toEqual([1, 4, 2, 3, 4]);
    const s = postprocess(logits, 4, dims, { ...CT_STARTER_MANIFEST, postprocessing: { ...CT_STARTER_MANIFEST.postprocessing, minComponentSize: 0 } });
    expect(new Set(s.labelMap)).toEqual(new Set([expected]));
  });

  it('labels a synthetic phantom of air, lung, soft tissue and bone, and is least sure at the boundaries', async () => {
    // Slabs along x, 6 voxels each: air | lung | soft tissue | bone, with a little deterministic noise.
    const dims: Vec3 = [24, 10, 8];
    const [nx, ny, nz] = dims;
    const slabs = [-1000, -750, 40, 900];
    const noise = pseudoRandom(nx * ny * nz, 21, -30, 30);
    const volume = new Float32Array(nx * ny * nz);
    for (let z = 0, i = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) volume[i] = slabs[Math.floor(x / 6)] + noise[i];
    const out = await runOnce(buildCtStarterModel(), volume, [1, 1, nz, ny, nx], 'hu');
    const logits = out.data as Float32Array;
    const s = postprocess(logits.slice(), 4, dims, CT_STARTER_MANIFEST);
    // Away from slab boundaries (the 3x3x3 mean reaches 1 voxel) every voxel has its slab's label, including the
    // voxels on the volume border (edge padding: air at the border stays air).
    let wrong = 0;
    for (let z = 0, i = 0; z < nz; z++)
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++, i++) {
          const within = x % 6;
          if (x > 0 && within === 0) continue;
          if (x < nx - 1 && within === 5) continue;
          if (s.labelMap[i] !== Math.floor(x / 6)) wrong++;
        }
    expect(wrong).toBe(0);
    expect(s.labels.map((l) => l.name)).toEqual(['Lung', 'Soft tissue', 'Bone']);
    for (const l of s.labels) expect(l.voxels).toBeGreaterThanOrEqual(4 * ny * nz);

    // Uncertainty: columns of voxels at the lung | soft-tissue boundary against the lung slab's core.
    const probabilities = softmaxChannels(logits.slice(), 4);
    const column = (x: number) => {
      const mask = new Uint8Array(nx * ny * nz);
      for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) mask[(z * ny + y) * nx + x] = 1;
      return uncertaintyScore(probabilities, 4, mask, 'probabilities').score!;
    };
    expect(column(11)).toBeGreaterThan(5 * column(8));
    expect(column(8)).toBeLessThan(0.1);
  });

  it('keeps its thresholds where the documentation says', () => {
    expect(CT_STARTER_RULES).toMatchObject({ lung: { above: -950, below: -400 }, softTissue: { above: -200, below: 300 }, bone: { above: 300 } });
    expect(CT_STARTER_MANIFEST.description).toContain('not learned');
  });
});
