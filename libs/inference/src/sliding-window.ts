// Sliding-window maths, pure: where the patches go, how much each patch's prediction counts at each voxel
// (nnU-Net's Gaussian importance map), and how patch outputs are blended into the full-volume output.
//
// Placement follows nnU-Net (compute_steps_for_sliding_window): per axis, the first patch starts at 0, the last
// ends flush with the volume, and the patches in between are spread evenly so that consecutive patches overlap by
// at least `overlap` of the patch size. A volume smaller than the patch on some axis gets a single patch there,
// filled past the volume by the padding mode the runner is given (see inference.padding in the manifest).
//
// Blending: nnU-Net accumulates w(v)·y_p(v) and a weight volume Σ w(v), then divides. Its Gaussian map is the
// outer product of three 1-D Gaussians and the patch grid is the Cartesian product of per-axis starts, so the
// normalised weight of patch p at voxel v factorises per axis:
//   w_p(v) / Σ_q w_q(v) = Π_axis g_a(v_a − s_pa) / Σ_k g_a(v_a − s_ka).
// We precompute those per-axis factors (1-D tables, float64) and accumulate already-normalised contributions.
// Same result, but no weight volume (memory stays output + one batch of patches) and no division at the end,
// so the volume corner - reached by one patch only, at its lowest weight - cannot lose precision.
//
// Arrays: a volume is [c][z][y][x] (x fastest); dims and 3-vectors are [x, y, z]; a patch is [c][pz][py][px].

export type Vec3 = readonly [number, number, number];
export type Blending = 'gaussian' | 'constant';

/** Round half to even, as numpy's np.round (which nnU-Net's step computation uses). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Patch start positions along one axis. `overlap` is the fraction of the patch shared by neighbours (0..0.9);
 * nnU-Net's tile_step_size is 1 − overlap. The steps never exceed patch·(1 − overlap) and never drop below 1.
 */
export function patchStarts(size: number, patch: number, overlap: number): number[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`volume size must be a positive integer, got ${size}`);
  if (!Number.isInteger(patch) || patch < 1) throw new RangeError(`patch size must be a positive integer, got ${patch}`);
  if (!(overlap >= 0 && overlap < 1)) throw new RangeError(`overlap must be in [0, 1), got ${overlap}`);
  if (size <= patch) return [0];
  const target = Math.max(1, patch * (1 - overlap));
  const steps = Math.ceil((size - patch) / target) + 1;
  const actual = (size - patch) / (steps - 1);
  const starts: number[] = [];
  for (let i = 0; i < steps; i++) {
    const s = roundHalfEven(actual * i);
    if (starts[starts.length - 1] !== s) starts.push(s);
  }
  return starts;
}

/**
 * The 1-D importance profile along one patch axis, peak 1. Gaussian: sigma = sigmaScale · length, centred at
 * length/2 (nnU-Net puts the delta at patch_size // 2); values that underflow are clamped to the smallest
 * non-zero value so every voxel a patch covers gets some weight.
 */
export function importanceProfile(length: number, blending: Blending, sigmaScale = 0.125): Float64Array {
  const profile = new Float64Array(length).fill(1);
  if (blending === 'constant') return profile;
  const sigma = sigmaScale * length;
  const centre = Math.floor(length / 2);
  let min = Infinity;
  for (let i = 0; i < length; i++) {
    const d = i - centre;
    profile[i] = Math.exp(-(d * d) / (2 * sigma * sigma));
    if (profile[i] > 0 && profile[i] < min) min = profile[i];
  }
  for (let i = 0; i < length; i++) if (profile[i] === 0) profile[i] = min;
  return profile;
}

/**
 * nnU-Net's 3-D Gaussian importance map for a patch ([pz][py][px], x fastest): sigma = sigmaScale · patch size
 * per axis, normalised to a peak of 1, zeros (underflow in float32) clamped to the smallest non-zero value.
 * The runner does not need this volume (it uses the per-axis factors); it is here to inspect and to test against.
 */
export function gaussianImportanceMap(patchSize: Vec3, sigmaScale = 0.125): Float32Array {
  const [px, py, pz] = patchSize;
  const gx = importanceProfile(px, 'gaussian', sigmaScale);
  const gy = importanceProfile(py, 'gaussian', sigmaScale);
  const gz = importanceProfile(pz, 'gaussian', sigmaScale);
  const map = new Float32Array(px * py * pz);
  let min = Infinity;
  for (let z = 0, i = 0; z < pz; z++)
    for (let y = 0; y < py; y++)
      for (let x = 0; x < px; x++, i++) {
        map[i] = gz[z] * gy[y] * gx[x];
        if (map[i] > 0 && map[i] < min) min = map[i];
      }
  for (let i = 0; i < map.length; i++) if (map[i] === 0) map[i] = min;
  return map;
}

/**
 * Normalised blending factors for one axis: entry [k · patch + t] is how much patch k counts at voxel
 * starts[k] + t, relative to all patches covering that voxel along this axis (0 past the volume end).
 */
export function axisBlendFactors(size: number, patch: number, starts: readonly number[], profile: Float64Array): Float64Array {
  const total = new Float64Array(size);
  for (const s of starts) for (let t = 0; t < patch && s + t < size; t++) total[s + t] += profile[t];
  const factors = new Float64Array(starts.length * patch);
  starts.forEach((s, k) => {
    for (let t = 0; t < patch && s + t < size; t++) factors[k * patch + t] = profile[t] / total[s + t];
  });
  return factors;
}

export interface SlidingWindowOptions {
  overlap: number;
  blending: Blending;
  sigmaScale?: number;
}

export interface SlidingWindowPlan {
  dims: Vec3;
  patchSize: Vec3;
  /** Start positions per axis, [xs, ys, zs]. */
  starts: readonly [number[], number[], number[]];
  /** Number of patches; patch i has axis indices (x fastest) given by patchIndices(plan, i). */
  patchCount: number;
  /** Per-axis normalised blending factors (axisBlendFactors). */
  factors: readonly [Float64Array, Float64Array, Float64Array];
}

export function planSlidingWindow(dims: Vec3, patchSize: Vec3, options: SlidingWindowOptions): SlidingWindowPlan {
  const starts = [0, 1, 2].map((a) => patchStarts(dims[a], patchSize[a], options.overlap)) as [number[], number[], number[]];
  const factors = [0, 1, 2].map((a) =>
    axisBlendFactors(dims[a], patchSize[a], starts[a], importanceProfile(patchSize[a], options.blending, options.sigmaScale ?? 0.125)),
  ) as [Float64Array, Float64Array, Float64Array];
  return { dims, patchSize, starts, patchCount: starts[0].length * starts[1].length * starts[2].length, factors };
}

/** Per-axis patch indices [kx, ky, kz] of patch number `index` (x fastest). */
export function patchIndices(plan: SlidingWindowPlan, index: number): Vec3 {
  const nx = plan.starts[0].length;
  const ny = plan.starts[1].length;
  return [index % nx, Math.floor(index / nx) % ny, Math.floor(index / (nx * ny))];
}

/** Voxel position of the first voxel of patch number `index`. */
export function patchOrigin(plan: SlidingWindowPlan, index: number): Vec3 {
  const [kx, ky, kz] = patchIndices(plan, index);
  return [plan.starts[0][kx], plan.starts[1][ky], plan.starts[2][kz]];
}

/**
 * Adds one patch output ([channels][pz][py][px] at `source[offset…]`) into the full-volume output
 * ([channels][z][y][x], zero-initialised), weighted by the plan's normalised factors. After every patch has been
 * added, `output` holds the blended prediction; nothing is left to divide.
 */
export function accumulatePatch(
  plan: SlidingWindowPlan,
  output: Float32Array,
  channels: number,
  index: number,
  source: Float32Array,
  offset = 0,
  /**
   * Blend channel c − channel 0 into channel c (c ≥ 1) and leave channel 0 alone (zero). For logits that go
   * through a softmax this changes nothing downstream (softmax, its argmax and its entropy are the same for
   * z and z − z₀ at every voxel, and blending is linear), and a two-class model has half the blending to do.
   */
  relativeToChannel0 = false,
): void {
  const [nx, ny, nz] = plan.dims;
  const [px, py, pz] = plan.patchSize;
  const [kx, ky, kz] = patchIndices(plan, index);
  const [ox, oy, oz] = [plan.starts[0][kx], plan.starts[1][ky], plan.starts[2][kz]];
  const [fx, fy, fz] = plan.factors;
  const ex = Math.min(px, nx - ox);
  const ey = Math.min(py, ny - oy);
  const ez = Math.min(pz, nz - oz);
  const volume = nx * ny * nz;
  const patchVoxels = px * py * pz;
  for (let c = relativeToChannel0 ? 1 : 0; c < channels; c++) {
    for (let tz = 0; tz < ez; tz++) {
      const wz = fz[kz * pz + tz];
      for (let ty = 0; ty < ey; ty++) {
        const wzy = wz * fy[ky * py + ty];
        let dst = c * volume + ((oz + tz) * ny + (oy + ty)) * nx + ox;
        let src = offset + c * patchVoxels + (tz * py + ty) * px;
        const fxBase = kx * px;
        if (relativeToChannel0) {
          let ref = offset + (tz * py + ty) * px;
          for (let tx = 0; tx < ex; tx++, dst++, src++, ref++) output[dst] += wzy * fx[fxBase + tx] * (source[src] - source[ref]);
        } else for (let tx = 0; tx < ex; tx++, dst++, src++) output[dst] += wzy * fx[fxBase + tx] * source[src];
      }
    }
  }
}

/** Anything indexable by voxel: the raw volume as read (Float32Array, Int16Array for CT, Uint8Array, ...). */
export type VoxelArray = ArrayLike<number>;

/**
 * Copies the region of patch `index` out of `volume` ([channels][z][y][x]) into `target` at `offset`
 * ([channels][pz][py][px]), passing every value through `map` (intensity normalisation). Where the patch reaches
 * past a volume smaller than it, 'edge' repeats the last voxel and 'zero' writes 0 (after normalisation).
 */
export function extractPatch(
  plan: SlidingWindowPlan,
  volume: VoxelArray,
  channels: number,
  index: number,
  target: Float32Array,
  offset: number,
  padding: 'edge' | 'zero',
  /** The value transform; absent: values are copied as they are (typed-array rows are copied natively). */
  map?: (value: number, channel: number) => number,
): void {
  const [nx, ny, nz] = plan.dims;
  const [px, py, pz] = plan.patchSize;
  const [ox, oy, oz] = patchOrigin(plan, index);
  const volumeVoxels = nx * ny * nz;
  const view = ArrayBuffer.isView(volume) ? (volume as unknown as Float32Array) : null;
  const copy = !map && view !== null;
  if (!map) map = (v) => v;
  const rowInside = ox + px <= nx;
  let dst = offset;
  for (let c = 0; c < channels; c++) {
    const base = c * volumeVoxels;
    for (let tz = 0; tz < pz; tz++) {
      const z = oz + tz;
      for (let ty = 0; ty < py; ty++) {
        const y = oy + ty;
        const outside = z >= nz || y >= ny;
        if (outside && padding === 'zero') {
          target.fill(0, dst, dst + px);
          dst += px;
          continue;
        }
        const row = base + ((z < nz ? z : nz - 1) * ny + (y < ny ? y : ny - 1)) * nx;
        if (copy && rowInside) {
          // One native copy (and conversion, e.g. int16 -> float32) per row.
          target.set(view!.subarray(row + ox, row + ox + px), dst);
          dst += px;
          continue;
        }
        for (let tx = 0; tx < px; tx++, dst++) {
          const x = ox + tx;
          target[dst] = x < nx ? map(volume[row + x], c) : padding === 'zero' ? 0 : map(volume[row + nx - 1], c);
        }
      }
    }
  }
}
