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

/**
 * Buffers a merge writes into instead of allocating. A 512x512x300 merge returns 75 MiB of labels and 300 MiB of
 * confidence; a worker merging task after task on the same grid can hand the same buffers back each time and
 * skip allocating (and the kernel zero-filling) them per task. Both are overwritten everywhere.
 */
export interface MergeOutput {
  mask?: Mask;
  confidence?: Float32Array;
}

/** The merged label map and confidence map, from `output` when given (reset to background, `outside`), else new. */
export function mergeBuffers(grid: Grid, labels: readonly number[], outside: number, output: MergeOutput = {}): { mask: Mask; confidence: Float32Array } {
  const n = voxelCount(grid);
  const wide = Math.max(...labels) > 255;
  let mask = output.mask;
  if (mask) {
    if (mask.length !== n) throw new RangeError(`output mask has ${mask.length} voxels but the grid [${grid.dims.join(' x ')}] has ${n}`);
    if (wide && !(mask instanceof Uint16Array)) throw new TypeError(`output mask must be a Uint16Array for labels above 255 (got label ${Math.max(...labels)})`);
    mask.fill(0);
  } else {
    mask = wide ? new Uint16Array(n) : new Uint8Array(n);
  }
  let confidence = output.confidence;
  if (confidence) {
    if (confidence.length !== n) throw new RangeError(`output confidence has ${confidence.length} voxels but the grid [${grid.dims.join(' x ')}] has ${n}`);
  } else {
    confidence = new Float32Array(n);
  }
  confidence.fill(outside);
  return { mask, confidence };
}
