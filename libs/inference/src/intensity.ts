// Intensity normalisation, pure. Every kind the manifest offers is a per-channel affine map after an optional
// clip, y = (clamp(v, lo, hi) − offset) · scale, so the statistics are gathered in one pass and the map is then
// applied voxel by voxel while patches are copied out: no normalised copy of the whole volume is ever made.
import type { IntensitySpec } from './model-manifest';
import type { VoxelArray } from './sliding-window';

// No globals (Math, Infinity, Number.isFinite) inside the per-voxel loops: see postprocessing.ts.
const POS_INF = Number.POSITIVE_INFINITY;
const NEG_INF = Number.NEGATIVE_INFINITY;
/** True for finite numbers: NaN − NaN and ∞ − ∞ are NaN. */
const finite = (v: number) => v - v === 0;

export interface IntensityTransform {
  lo: number;
  hi: number;
  offset: number;
  scale: number;
  /** Smallest (clipped) value in the channel; non-finite voxels are mapped to it. */
  minimum: number;
}

/** Gathers the statistics `spec` needs over one channel (`start`..`start + length` of `volume`). */
export function intensityTransform(volume: VoxelArray, spec: IntensitySpec, start = 0, length = volume.length - start): IntensityTransform {
  // Raw values of an integer volume need no statistics: every value is finite and goes in unchanged.
  if (spec.kind === 'none' && !spec.clip && isIntegerArray(volume)) return { lo: NEG_INF, hi: POS_INF, offset: 0, scale: 1, minimum: 0 };
  let lo = spec.clip?.[0] ?? NEG_INF;
  let hi = spec.clip?.[1] ?? POS_INF;
  if (spec.kind === 'window' && spec.window) {
    lo = Math.max(lo, spec.window.center - spec.window.width / 2);
    hi = Math.min(hi, spec.window.center + spec.window.width / 2);
  }
  let min = POS_INF;
  let max = NEG_INF;
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let i = start; i < start + length; i++) {
    const raw = volume[i];
    if (!finite(raw)) continue;
    const v = raw < lo ? lo : raw > hi ? hi : raw;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSq += v * v;
    n++;
  }
  if (n === 0) min = max = 0;
  switch (spec.kind) {
    case 'minmax':
      // A constant channel has no range to scale; it maps to 0 rather than NaN.
      return { lo, hi, offset: min, scale: max > min ? 1 / (max - min) : 0, minimum: min };
    case 'zscore': {
      const mean = n ? sum / n : 0;
      const std = n ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : 0;
      return { lo, hi, offset: mean, scale: std > 0 ? 1 / std : 1, minimum: min };
    }
    case 'window':
      return { lo, hi, offset: lo, scale: 1 / (hi - lo), minimum: min };
    case 'none':
      return { lo, hi, offset: 0, scale: 1, minimum: min };
  }
}

const isIntegerArray = (v: VoxelArray) =>
  v instanceof Int16Array || v instanceof Uint16Array || v instanceof Uint8Array || v instanceof Int8Array || v instanceof Int32Array || v instanceof Uint32Array || v instanceof Uint8ClampedArray;

/** True when the transform leaves every value as it is (raw values of an integer volume). */
export function isIdentityTransform(t: IntensityTransform): boolean {
  return t.offset === 0 && t.scale === 1 && t.lo === NEG_INF && t.hi === POS_INF && t.minimum === 0;
}

/** Applies a transform to one value. */
export function applyIntensity(value: number, t: IntensityTransform): number {
  const v = finite(value) ? (value < t.lo ? t.lo : value > t.hi ? t.hi : value) : t.minimum;
  return (v - t.offset) * t.scale;
}

/** Per-channel transforms for a [c][voxels] volume. */
export function channelTransforms(volume: VoxelArray, channels: number, spec: IntensitySpec): IntensityTransform[] {
  const voxels = volume.length / channels;
  return Array.from({ length: channels }, (_, c) => intensityTransform(volume, spec, c * voxels, voxels));
}

/** Returns a normalised float32 copy of a [c][voxels] volume. */
export function normalizeIntensity(volume: VoxelArray, spec: IntensitySpec, channels = 1): Float32Array {
  const out = new Float32Array(volume.length);
  const voxels = volume.length / channels;
  channelTransforms(volume, channels, spec).forEach((t, c) => {
    for (let i = c * voxels; i < (c + 1) * voxels; i++) out[i] = applyIntensity(volume[i], t);
  });
  return out;
}
