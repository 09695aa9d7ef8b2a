// Post-processing, pure: model output channels ([c][z][y][x], float32) → activation → a label map of label
// values (1-based positions in the manifest's labels; 0 background) → component clean-up, plus the numbers
// the product shows next to a pre-label: voxels per label and an uncertainty score to sort cases for review.
import { channelLabelValues, type ModelManifest } from './model-manifest';
import { cleanUpComponents } from './connected-components';
import type { Vec3 } from './sliding-window';

// Hot loops use module-level bindings, never globals: in a vm context (Jest runs every test file in one) each
// global lookup goes through an interceptor, which made a softmax over MeshNet's 50 M values 15x slower.
const { exp, log, round } = Math;
const LN2 = Math.LN2;
const NEG_INF = Number.NEGATIVE_INFINITY;

/** Softmax over channels at every voxel, in place (max-subtracted, so large logits do not overflow). */
export function softmaxChannels(data: Float32Array, channels: number): Float32Array {
  const voxels = data.length / channels;
  for (let i = 0; i < voxels; i++) {
    let top = NEG_INF;
    for (let c = 0, j = i; c < channels; c++, j += voxels) if (data[j] > top) top = data[j];
    let sum = 0;
    for (let c = 0, j = i; c < channels; c++, j += voxels) {
      const e = exp(data[j] - top);
      data[j] = e;
      sum += e;
    }
    for (let c = 0, j = i; c < channels; c++, j += voxels) data[j] /= sum;
  }
  return data;
}

/** Logistic sigmoid of every value, in place. */
export function sigmoidInPlace(data: Float32Array): Float32Array {
  for (let i = 0; i < data.length; i++) data[i] = 1 / (1 + exp(-data[i]));
  return data;
}

/**
 * Label value of the highest-scoring channel at every voxel (ties: the lower channel, as numpy's argmax).
 * `labelOf[c]` is the label value of channel c (0: background).
 */
export function argmaxLabels(data: Float32Array, channels: number, labelOf: Uint8Array): Uint8Array {
  const voxels = data.length / channels;
  const out = new Uint8Array(voxels);
  if (channels === 2) {
    // The common two-class case without the channel loop.
    const l0 = labelOf[0];
    const l1 = labelOf[1];
    for (let i = 0; i < voxels; i++) out[i] = data[voxels + i] > data[i] ? l1 : l0;
    return out;
  }
  for (let i = 0; i < voxels; i++) {
    let best = 0;
    let bestValue = data[i];
    for (let c = 1, j = i + voxels; c < channels; c++, j += voxels)
      if (data[j] > bestValue) {
        bestValue = data[j];
        best = c;
      }
    out[i] = labelOf[best];
  }
  return out;
}

/**
 * Per voxel, the labelled (non-background) channel with the highest probability among those at or above
 * `threshold`; background where none reaches it. With one sigmoid channel this is the usual p ≥ t mask.
 */
export function thresholdLabels(data: Float32Array, channels: number, threshold: number, labelOf: Uint8Array): Uint8Array {
  const voxels = data.length / channels;
  const out = new Uint8Array(voxels);
  for (let i = 0; i < voxels; i++) {
    let bestValue = NEG_INF;
    for (let c = 0, j = i; c < channels; c++, j += voxels) {
      if (labelOf[c] === 0 || data[j] < threshold || data[j] <= bestValue) continue;
      bestValue = data[j];
      out[i] = labelOf[c];
    }
  }
  return out;
}

/** Maps a one-channel output of label numbers (output kind 'labels') through the manifest's channel numbers. */
export function mapModelLabels(data: Float32Array, manifest: ModelManifest): Uint8Array {
  const lookup = new Map(manifest.labels.map((l, i) => [l.channel, i + 1]));
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = lookup.get(round(data[i])) ?? 0;
  return out;
}

/** How the channels at a voxel turn into a distribution for the entropy. */
export type EntropyInput = 'probabilities' | 'logits' | 'independent-probabilities';

export interface UncertaintyScore {
  /**
   * Mean normalised entropy, 0 (certain) .. 1 (uniform). Categorical outputs: H(p) / log(C). Independent
   * sigmoid channels: mean binary entropy over channels / log 2. null when the model outputs labels.
   */
  score: number | null;
  /**
   * Where the mean was taken: the predicted foreground; or, when nothing was predicted, the whole volume - an
   * empty prediction is only trustworthy if the model was sure everywhere, so it is scored rather than given 0.
   */
  region: 'foreground' | 'whole-volume' | 'none';
  voxels: number;
}

/**
 * The most voxels the uncertainty score averages over. Larger regions are sampled at an even stride: the
 * score is a mean of values in [0, 1], so 2^20 samples put its standard error below 0.0005, far finer than
 * the routing priority it feeds, while the exp/log per voxel of a 40 M-voxel CT foreground took ~1.5 s.
 */
export const UNCERTAINTY_SAMPLES = 1 << 20;

/**
 * Mean normalised entropy of the channel distribution inside the foreground of `labels` (see UncertaintyScore),
 * over at most `maxSamples` voxels of it taken at an even stride.
 */
export function uncertaintyScore(data: Float32Array, channels: number, labels: Uint8Array, input: EntropyInput, maxSamples = UNCERTAINTY_SAMPLES, foregroundVoxels?: number): UncertaintyScore {
  const voxels = labels.length;
  let foreground = foregroundVoxels ?? 0;
  if (foregroundVoxels === undefined) for (let i = 0; i < voxels; i++) if (labels[i] !== 0) foreground++;
  const region = foreground > 0 ? 'foreground' : 'whole-volume';
  const norm = input === 'independent-probabilities' || channels < 2 ? LN2 : log(channels);
  const h = (p: number) => (p > 0 ? -p * log(p) : 0);
  const stride = Math.max(1, Math.ceil((foreground > 0 ? foreground : voxels) / maxSamples));
  let total = 0;
  let counted = 0;
  let seen = 0;
  for (let i = 0; i < voxels; i++) {
    if (foreground > 0 && labels[i] === 0) continue;
    if (seen++ % stride !== 0) continue;
    counted++;
    let entropy = 0;
    if (input === 'independent-probabilities' || channels < 2) {
      for (let c = 0, j = i; c < channels; c++, j += voxels) {
        const p = data[j] < 0 ? 0 : data[j] > 1 ? 1 : data[j];
        entropy += h(p) + h(1 - p);
      }
      entropy /= channels;
    } else if (input === 'probabilities') {
      let sum = 0;
      for (let c = 0, j = i; c < channels; c++, j += voxels) if (data[j] > 0) sum += data[j];
      if (sum > 0) for (let c = 0, j = i; c < channels; c++, j += voxels) if (data[j] > 0) entropy += h(data[j] / sum);
    } else {
      // Entropy of softmax(logits) without writing it: H = log Σe^(z−m) − Σ e^(z−m)(z−m) / Σe^(z−m).
      let top = NEG_INF;
      for (let c = 0, j = i; c < channels; c++, j += voxels) if (data[j] > top) top = data[j];
      let sum = 0;
      let weighted = 0;
      for (let c = 0, j = i; c < channels; c++, j += voxels) {
        const d = data[j] - top;
        const e = exp(d);
        sum += e;
        weighted += e * d;
      }
      entropy = log(sum) - weighted / sum;
    }
    total += entropy / norm;
  }
  return { score: counted ? total / counted : 0, region, voxels: foreground > 0 ? foreground : voxels };
}

/** Voxels per label value, index 0 = background. */
export function labelVoxelCounts(labels: Uint8Array, labelCount: number): number[] {
  // Uint32 counters (a volume has fewer than 2^32 voxels): integer increments, about twice as fast as numbers.
  const counts = new Uint32Array(256);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return Array.from(counts.subarray(0, labelCount + 1));
}

export interface Segmentation {
  /** Label values per voxel ([z][y][x], x fastest): n = manifest.labels[n - 1], 0 = background. */
  labelMap: Uint8Array;
  dims: Vec3;
  labels: { value: number; name: string; voxels: number }[];
  uncertainty: UncertaintyScore;
  /** Voxels turned to background by keepLargestComponent / minComponentSize. */
  removedVoxels: number;
}

/**
 * Runs the manifest's post-processing on the model output. Where an activation has to be materialised (sigmoid,
 * or softmax before a threshold) it is applied to `channels` in place: it is the output volume, and a second copy
 * would be the largest allocation post-processing could make. Copy `channels` first if the raw output is needed.
 */
export function postprocess(channels: Float32Array, channelCount: number, dims: Vec3, manifest: ModelManifest): Segmentation {
  const voxels = dims[0] * dims[1] * dims[2];
  if (channels.length !== voxels * channelCount)
    throw new RangeError(`model output has ${channels.length} values but ${channelCount} channel(s) of ${dims.join('x')} need ${voxels * channelCount}`);
  const { activation, decision, keepLargestComponent, minComponentSize } = manifest.postprocessing;
  let labelMap: Uint8Array;
  let entropyInput: EntropyInput | undefined;
  if (manifest.output.kind === 'labels') {
    labelMap = mapModelLabels(channels, manifest);
  } else if (activation === 'softmax' && decision === 'argmax') {
    // Softmax preserves the order of the channels, so argmax can read the logits, and the entropy is computed
    // from logits for the foreground voxels only: a pass of exp() over the whole output (50 M values for MeshNet)
    // is saved, and `channels` stays as the model wrote it.
    labelMap = argmaxLabels(channels, channelCount, channelLabelValues(manifest, channelCount));
    entropyInput = 'logits';
  } else {
    if (activation === 'softmax') softmaxChannels(channels, channelCount);
    if (activation === 'sigmoid') sigmoidInPlace(channels);
    entropyInput =
      activation === 'sigmoid' ? 'independent-probabilities' : activation === 'softmax' || manifest.output.kind === 'probabilities' ? 'probabilities' : 'logits';
    const labelOf = channelLabelValues(manifest, channelCount);
    labelMap = decision === 'argmax' ? argmaxLabels(channels, channelCount, labelOf) : thresholdLabels(channels, channelCount, decision.threshold, labelOf);
  }
  const removedVoxels = cleanUpComponents(labelMap, dims, {
    keepLargest: keepLargestComponent === true ? 'all' : keepLargestComponent === false ? [] : keepLargestComponent,
    minSize: minComponentSize,
  });
  const counts = labelVoxelCounts(labelMap, manifest.labels.length);
  return {
    labelMap,
    dims,
    labels: manifest.labels.map((l, i) => ({ value: i + 1, name: l.name, voxels: counts[i + 1] })),
    uncertainty: entropyInput ? uncertaintyScore(channels, channelCount, labelMap, entropyInput, UNCERTAINTY_SAMPLES, voxels - counts[0]) : { score: null, region: 'none', voxels: 0 },
    removedVoxels,
  };
}
