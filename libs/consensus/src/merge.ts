// What the merge methods (majority vote, STAPLE) share: their result shape and the box they work in. Both only
// visit the box where some read has foreground, because outside it every read says background and the merged
// answer there is known without looking.
import { Box3, Grid, labelSlots, LabelSlots, Mask, scanForeground, ForegroundScan, unionBox, voxelCount } from './grid';

export interface MergeResult {
  /** The merged label map, Uint8Array when every protocol label fits in a byte, else Uint16Array. */
  mask: Mask;
  /**
   * Per voxel, how sure the merge is of its label: for majority vote the fraction of reads giving the merged
   * label, for STAPLE the posterior probability of the merged label.
   */
  confidence: Float32Array;
  /** The half-open voxel box that was visited (foreground of any read); null when every read is empty. */
  box: Box3 | null;
}

/** Validates the reads and finds the box worth visiting. */
export function prepareMerge(reads: readonly Mask[], grid: Grid, labels: readonly number[]): { slots: LabelSlots; scan: ForegroundScan; box: Box3 | null } {
  if (reads.length === 0) throw new RangeError('merging needs at least one read');
  const slots = labelSlots(labels);
  const scan = scanForeground(reads, grid, slots);
  return { slots, scan, box: unionBox(scan.boxes.flat()) };
}

export function emptyMergedMask(grid: Grid, labels: readonly number[]): Mask {
  const n = voxelCount(grid);
  return Math.max(...labels) < 256 ? new Uint8Array(n) : new Uint16Array(n);
}
