// Sliding-window maths without onnxruntime: placement, importance map, blending.
import {
  accumulatePatch,
  extractPatch,
  gaussianImportanceMap,
  importanceProfile,
  patchOrigin,
  patchStarts,
  planSlidingWindow,
  type Blending,
  type Vec3,
} from './sliding-window';
import { cleanVoxelMask, convolve3d, pseudoRandom } from './testing/reference-convolution';

describe('patchStarts', () => {
  // Expected values computed with nnU-Net's compute_steps_for_sliding_window (numpy, tile_step_size = 1 − overlap),
  // including its round-half-to-even (15/10/0.6: 2.5 → 2; 21/10/0: 5.5 → 6; 25/10/0.6: 7.5 → 8).
  it.each<[number, number, number, number[]]>([
    [10, 10, 0.5, [0]],
    [5, 10, 0.5, [0]], // smaller than the patch: one patch, padded
    [1, 1, 0, [0]],
    [20, 10, 0.5, [0, 5, 10]],
    [20, 10, 0, [0, 10]],
    [21, 10, 0, [0, 6, 11]],
    [40, 16, 0.5, [0, 8, 16, 24]],
    [36, 16, 0.5, [0, 7, 13, 20]],
    [30, 16, 0.5, [0, 7, 14]],
    [100, 32, 0.25, [0, 23, 45, 68]],
    [17, 16, 0.5, [0, 1]],
    [11, 2, 0.5, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    [13, 4, 0.5, [0, 2, 4, 5, 7, 9]],
    [7, 2, 0, [0, 2, 3, 5]],
    [15, 10, 0.6, [0, 2, 5]],
    [25, 10, 0.6, [0, 4, 8, 11, 15]],
    [128, 128, 0.5, [0]],
    [129, 128, 0.5, [0, 1]],
    [512, 128, 0.25, [0, 96, 192, 288, 384]],
    [300, 96, 0.5, [0, 41, 82, 122, 163, 204]],
    // nnU-Net's float step 10·(1 − 0.9) = 0.99999… gives 92 steps with a duplicate; we clamp the step to 1 voxel.
    [100, 10, 0.9, Array.from({ length: 91 }, (_, i) => i)],
  ])('size %i, patch %i, overlap %f', (size, patch, overlap, expected) => {
    expect(patchStarts(size, patch, overlap)).toEqual(expected);
  });

  it('covers every voxel, starts at 0, ends flush, never steps more than patch·(1 − overlap) + 1', () => {
    const random = pseudoRandom(3 * 400, 7, 0, 1);
    for (let t = 0; t < 400; t++) {
      const patch = 1 + Math.floor(random[3 * t] * 64);
      const size = 1 + Math.floor(random[3 * t + 1] * 300);
      const overlap = Math.round(random[3 * t + 2] * 90) / 100;
      const starts = patchStarts(size, patch, overlap);
      expect(starts[0]).toBe(0);
      expect(starts[starts.length - 1]).toBe(Math.max(0, size - patch));
      const covered = new Uint8Array(size);
      starts.forEach((s, i) => {
        if (i > 0) {
          expect(s).toBeGreaterThan(starts[i - 1]);
          expect(s - starts[i - 1]).toBeLessThanOrEqual(Math.max(1, patch * (1 - overlap)) + 1);
        }
        covered.fill(1, s, Math.min(size, s + patch));
      });
      expect(covered.every((c) => c === 1)).toBe(true);
    }
  });

  it.each([
    [0, 4, 0.5, 'volume size must be a positive integer, got 0'],
    [4, 0, 0.5, 'patch size must be a positive integer, got 0'],
    [4, 2, 1, 'overlap must be in [0, 1), got 1'],
  ])('rejects size %i patch %i overlap %f', (size, patch, overlap, message) => {
    expect(() => patchStarts(size, patch, overlap)).toThrow(message);
  });
});

describe('gaussianImportanceMap', () => {
  it('peaks at 1 in the centre (patch // 2), is exp(−1/2) one sigma away, and is symmetric around the centre', () => {
    const patch: Vec3 = [16, 12, 8];
    const map = gaussianImportanceMap(patch, 0.125);
    const at = (x: number, y: number, z: number) => map[(z * patch[1] + y) * patch[0] + x];
    expect(at(8, 6, 4)).toBe(1);
    expect(Math.max(...map)).toBe(1);
    expect(at(8 + 2, 6, 4)).toBeCloseTo(Math.exp(-0.5), 6); // sigma_x = 0.125 · 16 = 2
    expect(at(8, 6, 4 + 1)).toBeCloseTo(Math.exp(-0.5), 6); // sigma_z = 0.125 · 8 = 1
    for (const d of [1, 3, 5]) expect(at(8 - d, 6, 4)).toBeCloseTo(at(8 + d, 6, 4), 7);
  });

  it('clamps values that underflow float32 to the smallest non-zero value', () => {
    const patch: Vec3 = [64, 64, 64];
    const map = gaussianImportanceMap(patch, 0.05); // corner: exp(−3 · 32² / (2 · 3.2²)) = exp(−150) underflows
    let min = Infinity;
    let zeros = 0;
    for (const v of map) {
      if (v === 0) zeros++;
      if (v < min) min = v;
    }
    expect(zeros).toBe(0);
    expect(map[0]).toBe(min);
    expect(min).toBeGreaterThan(0);
  });

  it('is the outer product of the 1-D profiles the blending uses', () => {
    const patch: Vec3 = [10, 7, 5];
    const map = gaussianImportanceMap(patch, 0.2);
    const [gx, gy, gz] = patch.map((p) => importanceProfile(p, 'gaussian', 0.2));
    for (let z = 0, i = 0; z < 5; z++) for (let y = 0; y < 7; y++) for (let x = 0; x < 10; x++, i++) expect(map[i]).toBeCloseTo(gx[x] * gy[y] * gz[z], 7);
  });
});

/** Runs `model` patch-wise over a one-channel volume and blends, as the runner does. */
function slidingWindow(volume: Float32Array, dims: Vec3, patch: Vec3, overlap: number, blending: Blending, channelsOut: number, model: (p: Float32Array) => Float32Array) {
  const plan = planSlidingWindow(dims, patch, { overlap, blending });
  const patchVoxels = patch[0] * patch[1] * patch[2];
  const buffer = new Float32Array(patchVoxels);
  const output = new Float32Array(channelsOut * dims[0] * dims[1] * dims[2]);
  for (let i = 0; i < plan.patchCount; i++) {
    extractPatch(plan, volume, 1, i, buffer, 0, 'zero');
    accumulatePatch(plan, output, channelsOut, i, model(buffer));
  }
  return { plan, output };
}

describe('blending relative to channel 0', () => {
  it('blends channel c − channel 0 into channel c and leaves channel 0 at zero', () => {
    const dims: Vec3 = [20, 18, 12];
    const patch: Vec3 = [8, 8, 8];
    const plan = planSlidingWindow(dims, patch, { overlap: 0.5, blending: 'gaussian' });
    const voxels = dims[0] * dims[1] * dims[2];
    const plain = new Float32Array(3 * voxels);
    const relative = new Float32Array(3 * voxels);
    for (let i = 0; i < plan.patchCount; i++) {
      // Patch outputs that differ per patch, so overlapping patches disagree.
      const out = Float32Array.from({ length: 3 * 512 }, (_, k) => Math.sin(k * 0.37 + i) * 3);
      accumulatePatch(plan, plain, 3, i, out);
      accumulatePatch(plan, relative, 3, i, out, 0, true);
    }
    let worst = 0;
    for (let v = 0; v < voxels; v++) {
      expect(relative[v]).toBe(0);
      for (let c = 1; c < 3; c++) worst = Math.max(worst, Math.abs(relative[c * voxels + v] - (plain[c * voxels + v] - plain[v])));
    }
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('blending', () => {
  it.each<[Vec3, Vec3, number, Blending]>([
    [[40, 36, 30], [16, 16, 16], 0.5, 'gaussian'],
    [[40, 36, 30], [16, 16, 16], 0.5, 'constant'],
    [[33, 20, 9], [8, 12, 4], 0.25, 'gaussian'],
    [[17, 17, 17], [16, 16, 16], 0.9, 'gaussian'],
    [[12, 5, 3], [16, 16, 16], 0.5, 'gaussian'], // every axis padded
    [[50, 50, 1], [24, 24, 1], 0.5, 'constant'], // 2-D patches
    [[64, 64, 64], [16, 16, 16], 0.5, 'gaussian'],
  ])('constant patch outputs reconstruct the constant: dims %j patch %j overlap %f %s', (dims, patch, overlap, blending) => {
    const patchVoxels = patch[0] * patch[1] * patch[2];
    const constants = [3.5, -0.25];
    const { output } = slidingWindow(new Float32Array(dims[0] * dims[1] * dims[2]), dims, patch, overlap, blending, 2, () => {
      const out = new Float32Array(2 * patchVoxels);
      out.fill(constants[0], 0, patchVoxels);
      out.fill(constants[1], patchVoxels);
      return out;
    });
    const voxels = output.length / 2;
    for (let c = 0; c < 2; c++) {
      let worst = 0;
      for (let i = c * voxels; i < (c + 1) * voxels; i++) worst = Math.max(worst, Math.abs(output[i] - constants[c]));
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('matches nnU-Net-style accumulation (3-D map, weight volume, divide) on arbitrary patch outputs', () => {
    const dims: Vec3 = [23, 19, 14];
    const patch: Vec3 = [10, 8, 6];
    for (const blending of ['gaussian', 'constant'] as const) {
      const plan = planSlidingWindow(dims, patch, { overlap: 0.5, blending, sigmaScale: 0.125 });
      const patchVoxels = patch[0] * patch[1] * patch[2];
      const map = blending === 'gaussian' ? gaussianImportanceMap(patch, 0.125) : new Float32Array(patchVoxels).fill(1);
      const voxels = dims[0] * dims[1] * dims[2];
      const ours = new Float32Array(voxels);
      const sum = new Float64Array(voxels);
      const weight = new Float64Array(voxels);
      for (let i = 0; i < plan.patchCount; i++) {
        const y = pseudoRandom(patchVoxels, 100 + i);
        accumulatePatch(plan, ours, 1, i, y);
        const [ox, oy, oz] = patchOrigin(plan, i);
        for (let z = 0, j = 0; z < patch[2]; z++)
          for (let yy = 0; yy < patch[1]; yy++)
            for (let x = 0; x < patch[0]; x++, j++) {
              const v = ((oz + z) * dims[1] + (oy + yy)) * dims[0] + (ox + x);
              sum[v] += map[j] * y[j];
              weight[v] += map[j];
            }
      }
      let worst = 0;
      for (let v = 0; v < voxels; v++) worst = Math.max(worst, Math.abs(ours[v] - sum[v] / weight[v]));
      expect(worst).toBeLessThan(1e-5);
    }
  });

  // A linear, translation-equivariant model (3x3x3 convolution with SAME zero padding) run patch-wise equals the
  // whole-volume run wherever every covering patch contains the voxel's whole receptive field (cleanVoxelMask):
  // there each patch computes exactly the whole-volume value and the blend weights sum to 1. Elsewhere a patch
  // edge replaces real neighbours with zeros; blending only dilutes that error, so it is non-zero there.
  it.each<[Blending]>([['gaussian'], ['constant']])('a linear model patch-wise equals whole-volume away from patch borders (%s)', (blending) => {
    const dims: Vec3 = [40, 36, 30];
    const patch: Vec3 = [16, 16, 16];
    const weights = pseudoRandom(27, 3);
    const volume = pseudoRandom(dims[0] * dims[1] * dims[2], 4, 0, 1);
    const whole = convolve3d(volume, dims, weights, 3, 1);
    const { plan, output } = slidingWindow(volume, dims, patch, 0.5, blending, 1, (p) => convolve3d(p, patch, weights, 3, 1));
    const clean = cleanVoxelMask(dims, patch, plan.starts, 1);
    let cleanWorst = 0;
    let dirtyWorst = 0;
    let cleanCount = 0;
    for (let i = 0; i < whole.length; i++) {
      const d = Math.abs(output[i] - whole[i]);
      if (clean[i]) {
        cleanCount++;
        cleanWorst = Math.max(cleanWorst, d);
      } else dirtyWorst = Math.max(dirtyWorst, d);
    }
    expect(cleanCount).toBeGreaterThan(whole.length / 2);
    expect(cleanWorst).toBeLessThan(1e-5);
    expect(dirtyWorst).toBeGreaterThan(1e-3); // the mask is not vacuous: patch-edge voxels do differ
  });
});

describe('extractPatch', () => {
  const dims: Vec3 = [3, 2, 1];
  const volume = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const plan = planSlidingWindow(dims, [4, 3, 2], { overlap: 0.5, blending: 'constant' });
  it.each<['edge' | 'zero', number[]]>([
    // z = 0: rows y=0, y=1, y=2 (past the end); then z = 1 (past the end)
    ['edge', [1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6, 1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6]],
    ['zero', [1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  ])('pads a volume smaller than the patch (%s)', (padding, expected) => {
    const out = new Float32Array(24);
    extractPatch(plan, volume, 1, 0, out, 0, padding);
    expect([...out]).toEqual(expected);
  });

  it('applies the intensity map per channel', () => {
    const two = Float32Array.from([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]);
    const p = planSlidingWindow(dims, [3, 2, 1], { overlap: 0, blending: 'constant' });
    const out = new Float32Array(12);
    extractPatch(p, two, 2, 0, out, 0, 'edge', (v, c) => (c === 0 ? v : -v));
    expect([...out]).toEqual([1, 2, 3, 4, 5, 6, -10, -20, -30, -40, -50, -60]);
  });
});
