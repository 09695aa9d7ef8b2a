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
import { mergeBuffers, MergeOutput, MergeResult, prepareMerge } from './merge';

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

/**
 * STAPLE merge. A voxel takes the label with the highest posterior W when that is ≥ 0.5 (exact ties go to the
 * label listed first), otherwise background; `confidence` holds W of the merged label, and for background
 * 1 - max W. A voxel no reader marked is always background: STAPLE could only label it through absurd rater
 * estimates (sensitivity below 1 - specificity), and outside the foreground box that would fill the volume.
 * Its confidence is still the exact posterior of background for the empty pattern, the same inside and
 * outside the box (typically 1 - 1e-4 or closer, not exactly 1).
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
  const nSlots = labels.length + 1;
  const n = voxelCount(grid);
  const { slotOf } = slots;
  const [nx, ny] = grid.dims;

  // Pass 1: pattern histogram per label, a row at a time. codes[s * width + x] collects the readers that gave
  // slot s at voxel x of the row.
  const dense = k <= DENSE_PATTERN_READS;
  const patterns = 1 << Math.min(k, DENSE_PATTERN_READS);
  const histogram = dense ? new Float64Array(nSlots * patterns) : new Float64Array(0);
  const sparse = dense ? [] : labels.map(() => new Map<number, number>());
  const width = box ? box[3] - box[0] : 0;
  const codes = new Int32Array(nSlots * width);
  const rowCodes = (row: number) => {
    codes.fill(0);
    for (let r = 0; r < k; r++) {
      const read = reads[r];
      const bit = 1 << r;
      for (let x = 0; x < width; x++) codes[slotOf[read[row + x]] * width + x] |= bit;
    }
  };
  let visited = 0;
  if (box) {
    const [x0, y0, z0, , y1, z1] = box;
    visited = width * (y1 - y0) * (z1 - z0);
    for (let z = z0; z < z1; z++) {
      for (let y = y0; y < y1; y++) {
        rowCodes(nx * (y + ny * z) + x0);
        for (let s = 1; s < nSlots; s++) {
          const base = s * width;
          if (dense) {
            const offset = s * patterns;
            for (let x = 0; x < width; x++) histogram[offset + codes[base + x]]++;
          } else {
            const counts = sparse[s - 1];
            for (let x = 0; x < width; x++) counts.set(codes[base + x], (counts.get(codes[base + x]) ?? 0) + 1);
          }
        }
      }
    }
  }

  const perLabel: StapleLabel[] = [];
  const posteriorOf: ((code: number) => number)[] = [];
  labels.forEach((label, l) => {
    const s = l + 1;
    const counted: [number, number][] = [];
    if (dense) {
      for (let c = 0; c < patterns; c++) if (histogram[s * patterns + c] > 0) counted.push([c, histogram[s * patterns + c]]);
    } else {
      counted.push(...sparse[l].entries());
    }
    const empty = counted.find(([c]) => c === 0);
    if (empty) empty[1] += n - visited;
    else counted.push([0, n - visited]);
    const marked = scan.counts.reduce((sum, c) => sum + c[s], 0);
    const prior = priorFor(label, options.prior, marked / (k * n));
    const fit = fitPatterns(counted, k, prior, options, tolerance, maxIterations);
    perLabel.push({ label, prior, raters: fit.raters, iterations: fit.iterations, converged: fit.converged });
    posteriorOf.push(fit.posterior);
  });

  // Pass 2: per voxel, the best label's posterior, looked up by pattern.
  const tables = posteriorOf.map((posterior) => (dense ? Float64Array.from({ length: patterns }, (_, c) => posterior(c)) : memoised(posterior)));
  const emptyBackground = 1 - Math.max(...posteriorOf.map((posterior) => posterior(0)));
  const { mask, confidence } = mergeBuffers(grid, labels, emptyBackground, options.output);
  if (box) {
    const [x0, y0, z0, , y1, z1] = box;
    const best = new Int32Array(width), bestW = new Float64Array(width), maxW = new Float64Array(width);
    for (let z = z0; z < z1; z++) {
      for (let y = y0; y < y1; y++) {
        const row = nx * (y + ny * z) + x0;
        rowCodes(row);
        best.fill(0);
        bestW.fill(-1);
        maxW.fill(0);
        for (let s = 1; s < nSlots; s++) {
          const table = tables[s - 1];
          const base = s * width;
          const dense = table instanceof Float64Array ? table : null;
          for (let x = 0; x < width; x++) {
            const code = codes[base + x];
            const w = dense ? dense[code] : (table as (code: number) => number)(code);
            if (w > maxW[x]) maxW[x] = w;
            if (code !== 0 && w > bestW[x]) {
              bestW[x] = w;
              best[x] = s;
            }
          }
        }
        for (let x = 0; x < width; x++) {
          if (best[x] !== 0 && bestW[x] >= 0.5) {
            mask[row + x] = labels[best[x] - 1];
            confidence[row + x] = bestW[x];
          } else {
            confidence[row + x] = 1 - maxW[x];
          }
        }
      }
    }
  }
  return { mask, confidence, box, labels: perLabel, iterations: Math.max(0, ...perLabel.map((p) => p.iterations)) };
}

function memoised(posterior: (code: number) => number): (code: number) => number {
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

/** The EM of Warfield et al. (eqs. 14-19 of the paper) over pattern counts [code, voxels]. */
export function fitPatterns(
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
