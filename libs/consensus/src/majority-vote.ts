// Majority vote: the simplest merge, and the one a reader can check by hand in the adjudication view.
import type { Grid, Mask } from './grid';
import { mergeBuffers, MergeOutput, MergeResult, prepareMerge } from './merge';

/**
 * A voxel takes label l when strictly more than half of the reads give it l; otherwise it is background. At most
 * one label can pass that bar, so labels never tie with each other; a label given by exactly half the reads
 * (an even split) loses to background, because adding an unconfirmed structure is the costlier mistake for
 * training data. `confidence` is the fraction of reads giving the merged label (for background: reads saying
 * background), 1 outside the foreground box where every read says background.
 */
export function majorityVote(reads: readonly Mask[], grid: Grid, labels: readonly number[], options: { output?: MergeOutput } = {}): MergeResult {
  const { slots, box } = prepareMerge(reads, grid, labels);
  const { mask, confidence } = mergeBuffers(grid, labels, 1, options.output);
  if (!box) return { mask, confidence, box };
  const k = reads.length;
  const nSlots = labels.length + 1;
  const labelOf = Int32Array.from([0, ...labels]);
  const { slotOf } = slots;
  const [nx, ny] = grid.dims;
  const [x0, y0, z0, x1, y1, z1] = box;
  // Row at a time, reader by reader: tight sequential loops instead of k scattered reads per voxel.
  const width = x1 - x0;
  const votes = new Int32Array(nSlots * width);
  for (let z = z0; z < z1; z++) {
    for (let y = y0; y < y1; y++) {
      const row = nx * (y + ny * z) + x0;
      votes.fill(0);
      for (let r = 0; r < k; r++) {
        const read = reads[r];
        for (let x = 0; x < width; x++) votes[slotOf[read[row + x]] * width + x]++;
      }
      for (let x = 0; x < width; x++) {
        let winner = 0;
        for (let s = 1; s < nSlots; s++) {
          if (votes[s * width + x] * 2 > k) {
            winner = s;
            break;
          }
        }
        mask[row + x] = labelOf[winner];
        confidence[row + x] = votes[winner * width + x] / k;
      }
    }
  }
  return { mask, confidence, box };
}
