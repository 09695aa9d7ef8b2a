// Post-processing of the models that do not draw masks, pure: a classification model's scores become an answer
// to one protocol question (with the probability of every choice and an uncertainty), a detection model's rows
// become labelled boxes (score threshold, per-label non-maximum suppression, a cap per image).
import type { ModelManifest } from './model-manifest';

const { exp, log, max, min } = Math;

export interface Classification {
  /** The protocol question the model answers (manifest.question). */
  question: string;
  /** The chosen choice names: one for argmax, those at or above the threshold otherwise (possibly none). */
  choices: string[];
  /** Probability of each choice (label name), averaged over the images the model saw. */
  probabilities: Record<string, number>;
  /** Normalised entropy of the averaged distribution (softmax / probabilities), or mean binary entropy (sigmoid): 0 sure .. 1 no idea. */
  uncertainty: number;
  /** Images (slices, frames or views) whose scores were averaged. */
  images: number;
}

/** Softmax of one score vector (max-subtracted). */
export function softmax(scores: ArrayLike<number>): number[] {
  let top = -Infinity;
  for (let i = 0; i < scores.length; i++) top = max(top, scores[i]);
  const e = Array.from(scores, (s) => exp(s - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

const entropyTerm = (p: number) => (p > 0 ? -p * log(p) : 0);

/**
 * Turns a classification model's outputs (one score vector of `channels` values per image it saw: a slice, a
 * frame, a view) into the answer to the manifest's question. Scores are turned into probabilities per image
 * (the manifest's activation) and averaged over the images, so a study-level question gets one answer.
 */
export function classifyScores(outputs: readonly ArrayLike<number>[], channels: number, manifest: ModelManifest): Classification {
  if (!manifest.question) throw new RangeError(`manifest '${manifest.name}' has no question: only classification models are classified`);
  if (!outputs.length) throw new RangeError('a classification needs the scores of at least one image');
  const { activation, decision } = manifest.postprocessing;
  const mean = new Array<number>(channels).fill(0);
  for (const scores of outputs) {
    if (scores.length !== channels) throw new RangeError(`a score vector has ${scores.length} values, expected ${channels}`);
    const p = activation === 'softmax' ? softmax(scores) : activation === 'sigmoid' ? Array.from(scores, (s) => 1 / (1 + exp(-s))) : Array.from(scores);
    for (let c = 0; c < channels; c++) mean[c] += p[c] / outputs.length;
  }
  const probabilities: Record<string, number> = {};
  for (const label of manifest.labels) probabilities[label.name] = label.channel < channels ? mean[label.channel] : 0;
  let choices: string[];
  if (decision === 'argmax') {
    // Among every channel (unlisted ones are "none of these"), the highest; ties go to the lower channel.
    let best = 0;
    for (let c = 1; c < channels; c++) if (mean[c] > mean[best]) best = c;
    const label = manifest.labels.find((l) => l.channel === best);
    choices = label ? [label.name] : [];
  } else {
    choices = manifest.labels.filter((l) => l.channel < channels && mean[l.channel] >= decision.threshold).map((l) => l.name);
  }
  let uncertainty: number;
  if (activation === 'sigmoid' || channels < 2) {
    const clamp = (p: number) => min(1, max(0, p));
    uncertainty = mean.reduce((a, p) => a + (entropyTerm(clamp(p)) + entropyTerm(1 - clamp(p))) / Math.LN2, 0) / channels;
  } else {
    const sum = mean.reduce((a, p) => a + max(0, p), 0);
    uncertainty = sum > 0 ? mean.reduce((a, p) => a + entropyTerm(max(0, p) / sum), 0) / log(channels) : 1;
  }
  return { question: manifest.question, choices, probabilities, uncertainty, images: outputs.length };
}

export interface Detection {
  /** [x0, y0, x1, y1] in continuous pixel coordinates of the image the model saw (x0 < x1, y0 < y1). */
  box: [number, number, number, number];
  score: number;
  /** Label value: 1-based position in manifest.labels. */
  label: number;
  /** Which image of the batch of images (slice, frame) the box is on. */
  image: number;
}

export const DEFAULT_MAX_DETECTIONS = 100;

/** Intersection over union of two [x0, y0, x1, y1] boxes (0 when either is empty). */
export function iou(a: readonly number[], b: readonly number[]): number {
  const w = min(a[2], b[2]) - max(a[0], b[0]);
  const h = min(a[3], b[3]) - max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * A detection model's rows for one image (`rows`: K x 6 values, x0 y0 x1 y1 score class) as labelled boxes:
 * rows below the score threshold, of a class no label names, or with an empty box are dropped; boxes of
 * one label overlapping a better one by more than nmsIou are suppressed; at most maxDetections are kept,
 * best first. Coordinates are clipped to the image (`width` x `height`), and corners given in either order
 * are accepted.
 */
export function decodeDetections(rows: ArrayLike<number>, image: number, width: number, height: number, manifest: ModelManifest): Detection[] {
  if (rows.length % 6 !== 0) throw new RangeError(`detection output has ${rows.length} values, not a whole number of 6-value rows`);
  const decision = manifest.postprocessing.decision;
  const threshold = decision === 'argmax' ? 0 : decision.threshold;
  const labelOf = new Map(manifest.labels.map((l, i) => [l.channel, i + 1]));
  const found: Detection[] = [];
  for (let r = 0; r < rows.length; r += 6) {
    const score = rows[r + 4];
    const label = labelOf.get(Math.round(rows[r + 5]));
    if (!(score >= threshold) || label === undefined) continue;
    const clip = (v: number, hi: number) => min(hi, max(0, v));
    const x0 = clip(min(rows[r], rows[r + 2]), width);
    const x1 = clip(max(rows[r], rows[r + 2]), width);
    const y0 = clip(min(rows[r + 1], rows[r + 3]), height);
    const y1 = clip(max(rows[r + 1], rows[r + 3]), height);
    if (!(x1 > x0 && y1 > y0)) continue;
    found.push({ box: [x0, y0, x1, y1], score, label, image });
  }
  found.sort((a, b) => b.score - a.score);
  const nms = manifest.postprocessing.nmsIou;
  const kept: Detection[] = [];
  const limit = manifest.postprocessing.maxDetections ?? DEFAULT_MAX_DETECTIONS;
  for (const d of found) {
    if (kept.length >= limit) break;
    if (nms !== undefined && kept.some((k) => k.label === d.label && iou(k.box, d.box) > nms)) continue;
    kept.push(d);
  }
  return kept;
}

/** Mean binary entropy of the kept boxes' scores (0 when every box is sure, 1 at score 0.5); null without boxes. */
export function detectionUncertainty(detections: readonly Detection[]): number | null {
  if (!detections.length) return null;
  const h = (p: number) => (entropyTerm(p) + entropyTerm(1 - p)) / Math.LN2;
  return detections.reduce((a, d) => a + h(min(1, max(0, d.score))), 0) / detections.length;
}
