// Plain-JS references the tests compare onnxruntime and the sliding-window maths against: a direct 3-D
// cross-correlation with SAME zero padding (what ONNX Conv computes) and a deterministic pseudo-random volume.
import type { Vec3 } from '../sliding-window';

/**
 * y[co][z][y][x] = bias[co] + Σ w[co][dz][dy][dx] · v[z+dz−r][y+dy−r][x+dx−r], zero outside the volume;
 * one input channel, float64 accumulation, optional ReLU. dims are [x, y, z].
 */
export function convolve3d(volume: ArrayLike<number>, dims: Vec3, weights: ArrayLike<number>, kernel: number, channelsOut: number, bias?: ArrayLike<number>, relu = false): Float32Array {
  const [nx, ny, nz] = dims;
  const r = kernel >> 1;
  const k3 = kernel * kernel * kernel;
  const voxels = nx * ny * nz;
  const out = new Float32Array(channelsOut * voxels);
  for (let co = 0; co < channelsOut; co++)
    for (let z = 0; z < nz; z++)
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++) {
          let sum = bias ? bias[co] : 0;
          for (let dz = 0; dz < kernel; dz++) {
            const zz = z + dz - r;
            if (zz < 0 || zz >= nz) continue;
            for (let dy = 0; dy < kernel; dy++) {
              const yy = y + dy - r;
              if (yy < 0 || yy >= ny) continue;
              for (let dx = 0; dx < kernel; dx++) {
                const xx = x + dx - r;
                if (xx < 0 || xx >= nx) continue;
                sum += weights[co * k3 + (dz * kernel + dy) * kernel + dx] * volume[(zz * ny + yy) * nx + xx];
              }
            }
          }
          out[co * voxels + (z * ny + y) * nx + x] = relu ? Math.max(0, sum) : sum;
        }
  return out;
}

/** Deterministic values in [lo, hi) (mulberry32), so failures reproduce. */
export function pseudoRandom(length: number, seed = 1, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/**
 * Voxels whose prediction is the same in every patch that covers them as in a whole-volume run, for a model with
 * receptive-field radius r and SAME padding: along each axis, every covering patch either contains the whole
 * receptive field (r voxels on both sides) or ends exactly where the volume ends (so its padding is the same
 * padding the whole-volume run sees). 1 = clean. Assumes no patch reaches past the volume.
 */
export function cleanVoxelMask(dims: Vec3, patchSize: Vec3, starts: readonly (readonly number[])[], r: number): Uint8Array {
  const axisClean = [0, 1, 2].map((a) => {
    const n = dims[a];
    const p = patchSize[a];
    const clean = new Uint8Array(n).fill(1);
    for (const s of starts[a])
      for (let i = s; i < Math.min(n, s + p); i++) {
        const before = i - s >= r || s === 0;
        const after = s + p - 1 - i >= r || s + p >= n;
        if (!before || !after) clean[i] = 0;
      }
    return clean;
  });
  const [nx, ny, nz] = dims;
  const mask = new Uint8Array(nx * ny * nz);
  for (let z = 0, i = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) mask[i] = axisClean[0][x] & axisClean[1][y] & axisClean[2][z];
  return mask;
}
