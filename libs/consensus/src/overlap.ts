// Per-label overlap between reads: Dice, IoU, volumes and HD95, for one pair, every pair of k reads, and each
// read against a consensus. Counting runs once per pair over the box where any read has foreground; voxels
// outside it are background in every read and only add to the background-background count.
import {
  Box3,
  boxVoxels,
  ForegroundScan,
  Grid,
  labelSlots,
  LabelSlots,
  Mask,
  scanForeground,
  unionBox,
  voxelCount,
  voxelVolume,
} from './grid';
import { hd95ForPairs } from './hausdorff';

/** Overlap of one label between a reference read A and a read B. */
export interface LabelOverlap {
  label: number;
  /** 2|A∩B| / (|A| + |B|); 1 when both lack the label. */
  dice: number;
  /** |A∩B| / |A∪B| (Jaccard); 1 when both lack the label. */
  iou: number;
  /** mm³ */
  volumeA: number;
  /** mm³ */
  volumeB: number;
  /** volumeB - volumeA in mm³: positive when B drew more. */
  volumeDifference: number;
  /** (volumeB - volumeA) / volumeA, A being the reference; 0 when both are empty, null when only A is. */
  relativeVolumeDifference: number | null;
  /**
   * Symmetric 95th-percentile Hausdorff distance in mm between the surfaces; 0 when both lack the label, null
   * when exactly one does (no distance to an empty surface; null also survives JSON, which Infinity does not).
   * Absent when HD95 was not asked for.
   */
  hd95?: number | null;
  /** Neither read has the label: Dice and IoU are 1 by convention and say nothing about reader skill. */
  bothEmpty: boolean;
}

export interface OverlapOptions {
  /** Compute HD95 (one distance transform per read and label). Default true. */
  hd95?: boolean;
}

/** Overlap of two reads on every protocol label; A is the reference for relative volume difference. */
export function overlapMetrics(a: Mask, b: Mask, grid: Grid, labels: readonly number[], options: OverlapOptions = {}): LabelOverlap[] {
  const slots = labelSlots(labels);
  const scan = scanForeground([a, b], grid, slots);
  return overlapForPairs([a, b], [[0, 1]], grid, slots, scan, options)[0];
}

/** Mean, worst and best of one metric over reader pairs. */
export interface Spread {
  mean: number;
  min: number;
  max: number;
}

export interface PairOverlap {
  /** Reader indices, a < b; a is the reference. */
  a: number;
  b: number;
  labels: LabelOverlap[];
}

export interface LabelSummary {
  label: number;
  /** Some read has the label. */
  present: boolean;
  /** Over all reader pairs. */
  dice: Spread;
  iou: Spread;
  /** Over the pairs where HD95 is defined (not exactly one read empty); null when no pair has one or HD95 was not asked for. */
  hd95: Spread | null;
  /** Pairs where exactly one read has the label, whose HD95 is undefined (their Dice is 0). */
  oneSidedPairs: number;
}

export interface ReadComparison {
  /** Every pair of reads i < j. */
  pairs: PairOverlap[];
  /** vsConsensus[reader]: that read (B) against the consensus (A, the reference); null without a consensus. */
  vsConsensus: LabelOverlap[][] | null;
  /** Per label, over reader pairs. */
  summary: LabelSummary[];
}

/** All pairwise overlaps of k ≥ 2 reads, and each read against `consensus` when one is given. */
export function compareReads(
  reads: readonly Mask[],
  grid: Grid,
  labels: readonly number[],
  options: OverlapOptions & { consensus?: Mask } = {},
): ReadComparison {
  if (reads.length < 2) throw new RangeError(`comparing reads needs at least 2, got ${reads.length}`);
  const { consensus } = options;
  if (consensus && consensus.length !== voxelCount(grid)) {
    throw new RangeError(`consensus has ${consensus.length} voxels but the grid [${grid.dims.join(' x ')}] has ${voxelCount(grid)}`);
  }
  const slots = labelSlots(labels);
  const masks = consensus ? [...reads, consensus] : reads;
  const scan = scanForeground(masks, grid, slots);
  const readerCount = reads.length;
  const readerPairs: [number, number][] = [];
  for (let i = 0; i < readerCount; i++) for (let j = i + 1; j < readerCount; j++) readerPairs.push([i, j]);
  const hasConsensus = consensus !== undefined;
  const consensusPairs: [number, number][] = hasConsensus ? Array.from({ length: readerCount }, (_, r) => [readerCount, r]) : [];
  const all = overlapForPairs(masks, [...readerPairs, ...consensusPairs], grid, slots, scan, options);
  const pairs = readerPairs.map(([a, b], p) => ({ a, b, labels: all[p] }));
  const vsConsensus = hasConsensus ? all.slice(readerPairs.length) : null;
  const summary = slots.labels.map((label, l) => {
    const perPair = pairs.map((p) => p.labels[l]);
    const defined = perPair.map((o) => o.hd95).filter((d): d is number => typeof d === 'number');
    return {
      label,
      present: scan.counts.slice(0, readerCount).some((c) => c[l + 1] > 0),
      dice: spread(perPair.map((o) => o.dice)),
      iou: spread(perPair.map((o) => o.iou)),
      hd95: options.hd95 === false || defined.length === 0 ? null : spread(defined),
      oneSidedPairs: perPair.filter((o) => !o.bothEmpty && (o.volumeA === 0 || o.volumeB === 0)).length,
    };
  });
  return { pairs, vsConsensus, summary };
}

function spread(values: readonly number[]): Spread {
  let sum = 0, min = Infinity, max = -Infinity;
  for (const v of values) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { mean: sum / values.length, min, max };
}

/** Overlaps for the given pairs of masks, [pair][label]. */
function overlapForPairs(
  masks: readonly Mask[],
  pairs: readonly (readonly [number, number])[],
  grid: Grid,
  slots: LabelSlots,
  scan: ForegroundScan,
  options: OverlapOptions,
): LabelOverlap[][] {
  const nSlots = slots.labels.length + 1;
  const box = unionBox(scan.boxes.flatMap((b) => b));
  const unit = voxelVolume(grid);
  const results = pairs.map(([a, b]) => {
    const conf = confusion(masks[a], masks[b], box, grid, slots.slotOf, nSlots);
    return slots.labels.map((label, l): LabelOverlap => {
      const s = l + 1;
      let countA = 0, countB = 0;
      for (let t = 0; t < nSlots; t++) {
        countA += conf[s * nSlots + t];
        countB += conf[t * nSlots + s];
      }
      const both = conf[s * nSlots + s];
      const bothEmpty = countA === 0 && countB === 0;
      const volumeA = countA * unit, volumeB = countB * unit;
      return {
        label,
        dice: bothEmpty ? 1 : (2 * both) / (countA + countB),
        iou: bothEmpty ? 1 : both / (countA + countB - both),
        volumeA,
        volumeB,
        volumeDifference: volumeB - volumeA,
        relativeVolumeDifference: bothEmpty ? 0 : countA === 0 ? null : (countB - countA) / countA,
        bothEmpty,
      };
    });
  });
  if (options.hd95 !== false) {
    const involved = [...new Set(pairs.flat())];
    const labelBoxes = slots.labels.map((_, l) => unionBox(involved.map((m) => scan.boxes[m][l + 1])));
    // One distance buffer, sized for the largest label, serves every label.
    const scratch = { dist: new Float32Array(Math.max(0, ...labelBoxes.map((b) => (b ? boxVoxels(b) : 0)))) };
    slots.labels.forEach((label, l) => {
      const distances = hd95ForPairs(masks, pairs, grid, label, labelBoxes[l], scratch);
      distances.forEach((d, p) => (results[p][l].hd95 = d));
    });
  }
  return results;
}

/** counts[slotA * nSlots + slotB] over the whole grid, visiting only `box`. */
function confusion(a: Mask, b: Mask, box: Box3 | null, grid: Grid, slotOf: Int32Array, nSlots: number): Float64Array {
  const conf = new Float64Array(nSlots * nSlots);
  const [nx, ny] = grid.dims;
  let visited = 0;
  if (box) {
    const [x0, y0, z0, x1, y1, z1] = box;
    for (let z = z0; z < z1; z++) {
      for (let y = y0; y < y1; y++) {
        const row = nx * (y + ny * z);
        for (let i = row + x0, end = row + x1; i < end; i++) conf[slotOf[a[i]] * nSlots + slotOf[b[i]]]++;
      }
    }
    visited = (x1 - x0) * (y1 - y0) * (z1 - z0);
  }
  conf[0] += voxelCount(grid) - visited;
  return conf;
}
