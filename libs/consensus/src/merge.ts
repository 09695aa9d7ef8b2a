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
export function mergeBuffers(
  grid: Grid,
  labels: readonly number[],
  outside: number,
  output: MergeOutput = {},
  reads: readonly Mask[] = [],
): { mask: Mask; confidence: Float32Array } {
  const n = voxelCount(grid);
  for (const out of [output.mask, output.confidence]) {
    if (out && reads.some((r) => overlaps(r, out))) throw new RangeError('an output buffer shares memory with a read it would overwrite');
  }
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

function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * Most merges see few reads and labels, so the combinations of what the reads say at a voxel are few (3 reads,
 * 2 labels: 27). Below this many, a merge decides each combination once and then only looks voxels up in a
 * table; above it, it decides voxel by voxel.
 */
export const JOINT_TABLE_LIMIT = 1 << 14;

/** nSlots^reads when that is at most JOINT_TABLE_LIMIT, else 0. */
export function jointCombinations(reads: number, nSlots: number): number {
  let combinations = 1;
  for (let r = 0; r < reads; r++) {
    combinations *= nSlots;
    if (combinations > JOINT_TABLE_LIMIT) return 0;
  }
  return combinations;
}

/** codes[x] for each voxel of the row from `row`: the reads' slots as base-nSlots digits, read 0 the most significant. */
export function rowJointCodes(reads: readonly Mask[], slotOf: Int32Array, nSlots: number, row: number, width: number, codes: Int32Array): void {
  codes.fill(0, 0, width);
  for (let r = 0; r < reads.length; r++) {
    const read = reads[r];
    for (let x = 0; x < width; x++) codes[x] = codes[x] * nSlots + slotOf[read[row + x]];
  }
}

/** The slot each read gives in a joint code, into `slots` (length = number of reads). */
export function decodeJoint(code: number, nSlots: number, slots: Int32Array): void {
  for (let r = slots.length - 1; r >= 0; r--) {
    slots[r] = code % nSlots;
    code = (code - slots[r]) / nSlots;
  }
}

/** Calls visit with the grid index of the first voxel of each row of the box. */
export function forEachRow(box: Box3, grid: Grid, visit: (row: number) => void): void {
  const [nx, ny] = grid.dims;
  for (let z = box[2]; z < box[5]; z++) for (let y = box[1]; y < box[4]; y++) visit(nx * (y + ny * z) + box[0]);
}
