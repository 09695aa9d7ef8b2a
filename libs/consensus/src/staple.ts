// STAPLE (Warfield, Zou & Wells, "Simultaneous Truth and Performance Level Estimation", IEEE TMI 23(7), 2004):
// expectation-maximisation over each reader's sensitivity p and specificity q and the per-voxel probability W
// that the voxel truly has the label. Binary, so it runs once per label (that label against everything else)
// and the label maps are combined afterwards.
//
// With a global prior, the E-step's W depends on nothing but which readers marked the voxel (a k-bit pattern),
// and the M-step's sums group by pattern. So the EM runs on a histogram of 2^k pattern counts instead of on
// voxels: one pass to count, iterations that cost nothing, one pass to write the result. Voxels outside the
// foreground box all have the empty pattern and are counted without being visited, so the estimates are those
// of STAPLE over the whole grid, not over a crop (a crop would change the specificities and the prior).
import type { Grid, Mask } from './grid';
import { voxelCount } from './grid';
import { decodeJoint, forEachRow, jointCombinations, mergeBuffers, MergeOutput, MergeResult, prepareMerge, rowJointCodes } from './merge';

export interface StapleOptions {
  /**
   * Prior probability that a voxel has the label: one number for every label, or per label. Default: the
   * global foreground fraction, the mean over reads of (voxels with the label) / (voxels in the grid).
   */
  prior?: number | Readonly<Record<number, number>>;
  /** Stop when no sensitivity or specificity moves by more than this between iterations. Default 1e-7. */
  tolerance?: number;
  /** Default 200. */
  maxIterations?: number;
  /** Starting sensitivity and specificity of every reader. Default 0.99 (readers are assumed good, as in the paper). */
  initialSensitivity?: number;
  initialSpecificity?: number;
  output?: MergeOutput;
}

export interface RaterPerformance {
  sensitivity: number;
  specificity: number;
}

export interface StapleLabel {
  label: number;
  prior: number;
  /** Per read, in input order. */
  raters: RaterPerformance[];
  iterations: number;
  converged: boolean;
}

export interface StapleResult extends MergeResult {
  labels: StapleLabel[];
  /** The most iterations any label needed. */
  iterations: number;
}

/** Readers are pattern bits in a 32-bit integer; bit 31 is the sign bit. */
export const STAPLE_MAX_READS = 30;
const DENSE_PATTERN_READS = 16;
const DENSE_PATTERN_CELLS = 1 << 22;

/**
 * STAPLE merge. A voxel takes the label with the highest posterior W when that is ≥ 0.5 (exact ties go to the
 * label listed first), otherwise background; `confidence` holds W of the merged label, and for background
 * 1 - max W. A voxel no reader marked is always background: STAPLE could only label it through absurd rater
 * estimates (sensitivity below 1 - specificity), and outside the foreground box that would fill the volume.
 * Its confidence is still the exact posterior of background for the empty pattern, the same inside and
 * outside the box: close to 1 (1 in float32 for readers with sensitivity around 0.99), not 1 by decree.
 *
 * A label no read has is skipped: its prior is 0, W is 0 everywhere, and every reader's sensitivity and
 * specificity are reported as 1 (there was nothing to find and nothing was drawn), with 0 iterations.
 */
export function staple(reads: readonly Mask[], grid: Grid, labels: readonly number[], options: StapleOptions = {}): StapleResult {
  const { slots, scan, box } = prepareMerge(reads, grid, labels);
  const k = reads.length;
  if (k > STAPLE_MAX_READS) throw new RangeError(`STAPLE supports at most ${STAPLE_MAX_READS} reads, got ${k}`);
  const tolerance = options.tolerance ?? 1e-7;
  const maxIterations = options.maxIterations ?? 200;
  if (!(tolerance >= 0)) throw new RangeError(`STAPLE tolerance must be >= 0, got ${tolerance}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 1) throw new RangeError(`STAPLE maxIterations must be a positive integer, got ${maxIterations}`);
  for (const name of ['initialSensitivity', 'initialSpecificity'] as const) {
    const value = options[name];
    if (value !== undefined && !(value > 0 && value <= 1)) throw new RangeError(`STAPLE ${name} must be in (0, 1], got ${value}`);
  }
  const nSlots = labels.length + 1;
  const n = voxelCount(grid);
  const { slotOf } = slots;

  const width = box ? box[3] - box[0] : 0;
  const visited = box ? width * (box[4] - box[1]) * (box[5] - box[2]) : 0;
  const combinations = jointCombinations(k, nSlots);
  const answers = new Int32Array(k);
  const labelCodes = new Int32Array(nSlots);
  /** labelCodes[s] for the joint code: the readers (bits) that gave slot s. */
  const splitJoint = (code: number) => {
    decodeJoint(code, nSlots, answers);
    labelCodes.fill(0);
    for (let r = 0; r < k; r++) labelCodes[answers[r]] |= 1 << r;
  };

  // Pass 1: how many voxels have each pattern, per label. Voxels outside the box have the empty pattern.
  const counted: Map<number, number>[] = labels.map(() => new Map([[0, n - visited]]));
  const add = (l: number, code: number, voxels: number) => counted[l].set(code, (counted[l].get(code) ?? 0) + voxels);
  const codes = new Int32Array((combinations > 0 ? 1 : nSlots) * width);
  if (box && combinations > 0) {
    const joint = new Float64Array(combinations);
    forEachRow(box, grid, (row) => {
      rowJointCodes(reads, slotOf, nSlots, row, width, codes);
      for (let x = 0; x < width; x++) joint[codes[x]]++;
    });
    joint.forEach((voxels, code) => {
      if (voxels === 0) return;
      splitJoint(code);
      for (let s = 1; s < nSlots; s++) add(s - 1, labelCodes[s], voxels);
    });
  } else if (box) {
    // Too many combinations for a table: per-label patterns a row at a time (codes[s * width + x]).
    const perLabelPatterns = 2 ** k;
    const patterns = k <= DENSE_PATTERN_READS && nSlots * perLabelPatterns <= DENSE_PATTERN_CELLS ? new Float64Array(nSlots * perLabelPatterns) : null;
    forEachRow(box, grid, (row) => {
      rowLabelCodes(reads, slotOf, nSlots, row, width, codes);
      for (let s = 1; s < nSlots; s++) {
        const base = s * width;
        if (patterns) for (let x = 0; x < width; x++) patterns[s * perLabelPatterns + codes[base + x]]++;
        else for (let x = 0; x < width; x++) add(s - 1, codes[base + x], 1);
      }
    });
    patterns?.forEach((voxels, at) => voxels > 0 && add(Math.floor(at / perLabelPatterns) - 1, at % perLabelPatterns, voxels));
  }

  const perLabel: StapleLabel[] = [];
  const posteriorOf: ((code: number) => number)[] = [];
  labels.forEach((label, l) => {
    const marked = scan.counts.reduce((sum, c) => sum + c[l + 1], 0);
    const prior = priorFor(label, options.prior, marked / (k * n));
    const fit = fitPatterns([...counted[l]], k, prior, options, tolerance, maxIterations);
    perLabel.push({ label, prior, raters: fit.raters, iterations: fit.iterations, converged: fit.converged });
    posteriorOf.push(memoised(fit.posterior, k));
  });

  // Pass 2: the merged label and its posterior. labelCodes-style codes at `at`, `stride` apart, in; slot and confidence out.
  const decision = new Float64Array(2);
  const decide = (perLabelCodes: Int32Array, at: number, stride: number) => {
    let best = 0, bestW = -1, maxW = 0;
    for (let s = 1; s < nSlots; s++) {
      const code = perLabelCodes[s * stride + at];
      const w = posteriorOf[s - 1](code);
      if (w > maxW) maxW = w;
      if (code !== 0 && w > bestW) {
        bestW = w;
        best = s;
      }
    }
    if (best !== 0 && bestW >= 0.5) {
      decision[0] = best;
      decision[1] = bestW;
    } else {
      decision[0] = 0;
      decision[1] = 1 - maxW;
    }
  };
  labelCodes.fill(0);
  decide(labelCodes, 0, 1);
  const { mask, confidence } = mergeBuffers(grid, labels, decision[1], options.output, reads);
  const labelOf = Int32Array.from([0, ...labels]);
  if (box && combinations > 0) {
    const labelTable = new Int32Array(combinations), confidenceTable = new Float32Array(combinations);
    for (let code = 0; code < combinations; code++) {
      splitJoint(code);
      decide(labelCodes, 0, 1);
      labelTable[code] = labelOf[decision[0]];
      confidenceTable[code] = decision[1];
    }
    forEachRow(box, grid, (row) => {
      rowJointCodes(reads, slotOf, nSlots, row, width, codes);
      for (let x = 0; x < width; x++) {
        mask[row + x] = labelTable[codes[x]];
        confidence[row + x] = confidenceTable[codes[x]];
      }
    });
  } else if (box) {
    forEachRow(box, grid, (row) => {
      rowLabelCodes(reads, slotOf, nSlots, row, width, codes);
      for (let x = 0; x < width; x++) {
        decide(codes, x, width);
        mask[row + x] = labelOf[decision[0]];
        confidence[row + x] = decision[1];
      }
    });
  }
  return { mask, confidence, box, labels: perLabel, iterations: Math.max(0, ...perLabel.map((p) => p.iterations)) };
}

/** codes[s * width + x]: the readers (bits) that gave slot s at voxel x of the row. */
function rowLabelCodes(reads: readonly Mask[], slotOf: Int32Array, nSlots: number, row: number, width: number, codes: Int32Array): void {
  codes.fill(0, 0, nSlots * width);
  for (let r = 0; r < reads.length; r++) {
    const read = reads[r];
    const bit = 1 << r;
    for (let x = 0; x < width; x++) codes[slotOf[read[row + x]] * width + x] |= bit;
  }
}

/** The posterior as a lookup: a full table up to 2^16 patterns, else the patterns met so far. */
function memoised(posterior: (code: number) => number, k: number): (code: number) => number {
  if (k <= DENSE_PATTERN_READS) {
    const table = Float64Array.from({ length: 2 ** k }, (_, code) => posterior(code));
    return (code) => table[code];
  }
  const seen = new Map<number, number>();
  return (code) => {
    let w = seen.get(code);
    if (w === undefined) seen.set(code, (w = posterior(code)));
    return w;
  };
}

function priorFor(label: number, prior: StapleOptions['prior'], global: number): number {
  const chosen = typeof prior === 'number' ? prior : (prior?.[label] ?? global);
  if (!(chosen >= 0 && chosen <= 1)) throw new RangeError(`STAPLE prior for label ${label} must be in [0, 1], got ${chosen}`);
  return chosen;
}

interface PatternFit {
  raters: RaterPerformance[];
  iterations: number;
  converged: boolean;
  /** W for a pattern of readers marking the voxel. */
  posterior: (code: number) => number;
}

/**
 * The EM of Warfield et al. over pattern counts [code, voxels]: the E-step gives W per pattern, the M-step each
 * reader's sensitivity (W-weighted share of true voxels it marked) and specificity (same for background).
 */
function fitPatterns(
  counted: readonly (readonly [number, number])[],
  k: number,
  prior: number,
  options: StapleOptions,
  tolerance: number,
  maxIterations: number,
): PatternFit {
  if (prior === 0 || counted.every(([c]) => c === 0)) {
    return { raters: Array.from({ length: k }, () => ({ sensitivity: 1, specificity: 1 })), iterations: 0, converged: true, posterior: () => 0 };
  }
  const p = new Float64Array(k).fill(options.initialSensitivity ?? 0.99);
  const q = new Float64Array(k).fill(options.initialSpecificity ?? 0.99);
  const w = new Float64Array(counted.length);
  const posterior = (code: number): number => {
    let a = prior, b = 1 - prior;
    for (let r = 0; r < k; r++) {
      if (code & (1 << r)) {
        a *= p[r];
        b *= 1 - q[r];
      } else {
        a *= 1 - p[r];
        b *= q[r];
      }
    }
    // Two readers both estimated perfect yet disagreeing leave 0/0; the prior is all that is left to say.
    return a + b > 0 ? a / (a + b) : prior;
  };
  let iterations = 0, converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    counted.forEach(([code], c) => (w[c] = posterior(code)));
    let change = 0;
    for (let r = 0; r < k; r++) {
      let truePos = 0, pos = 0, trueNeg = 0, neg = 0;
      counted.forEach(([code, voxels], c) => {
        const marked = (code & (1 << r)) !== 0;
        pos += voxels * w[c];
        neg += voxels * (1 - w[c]);
        if (marked) truePos += voxels * w[c];
        else trueNeg += voxels * (1 - w[c]);
      });
      // An empty denominator leaves nothing to re-estimate from: keep the previous value.
      const pr = pos > 0 ? truePos / pos : p[r];
      const qr = neg > 0 ? trueNeg / neg : q[r];
      change = Math.max(change, Math.abs(pr - p[r]), Math.abs(qr - q[r]));
      p[r] = pr;
      q[r] = qr;
    }
    converged = change < tolerance;
  }
  const raters = Array.from(p, (sensitivity, r) => ({ sensitivity, specificity: q[r] }));
  return { raters, iterations, converged, posterior };
}
