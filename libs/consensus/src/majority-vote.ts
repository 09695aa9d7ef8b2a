// Majority vote: the simplest merge, and the one a reader can check by hand in the adjudication view.
import type { Grid, Mask } from './grid';
import { decodeJoint, forEachRow, jointCombinations, mergeBuffers, MergeOutput, MergeResult, prepareMerge, rowJointCodes } from './merge';

/**
 * A voxel takes label l when strictly more than half of the reads give it l; otherwise it is background. At most
 * one label can pass that bar, so labels never tie with each other; a label given by exactly half the reads
 * (an even split) loses to background, because adding an unconfirmed structure is the costlier mistake for
 * training data. `confidence` is the fraction of reads giving the merged label (for background: reads saying
 * background), 1 outside the foreground box where every read says background.
 */
export function majorityVote(reads: readonly Mask[], grid: Grid, labels: readonly number[], options: { output?: MergeOutput } = {}): MergeResult {
  const { slots, box } = prepareMerge(reads, grid, labels);
  const { mask, confidence } = mergeBuffers(grid, labels, 1, options.output, reads);
  if (!box) return { mask, confidence, box };
  const k = reads.length;
  const nSlots = labels.length + 1;
  const labelOf = Int32Array.from([0, ...labels]);
  const { slotOf } = slots;
  const width = box[3] - box[0];
  const votes = new Int32Array(nSlots * width);
  const combinations = jointCombinations(k, nSlots);
  if (combinations > 0) {
    // Decide each combination of answers once, then look voxels up.
    const labelTable = new Int32Array(combinations), confidenceTable = new Float32Array(combinations);
    const answers = new Int32Array(k);
    for (let code = 0; code < combinations; code++) {
      decodeJoint(code, nSlots, answers);
      votes.fill(0, 0, nSlots);
      for (let r = 0; r < k; r++) votes[answers[r]]++;
      const winner = majority(votes, 1, 0, nSlots, k);
      labelTable[code] = labelOf[winner];
      confidenceTable[code] = votes[winner] / k;
    }
    const codes = new Int32Array(width);
    forEachRow(box, grid, (row) => {
      rowJointCodes(reads, slotOf, nSlots, row, width, codes);
      for (let x = 0; x < width; x++) {
        mask[row + x] = labelTable[codes[x]];
        confidence[row + x] = confidenceTable[codes[x]];
      }
    });
    return { mask, confidence, box };
  }
  // Many reads or labels: tally a row at a time, read by read (sequential loops rather than k scattered loads per voxel).
  forEachRow(box, grid, (row) => {
    votes.fill(0);
    for (let r = 0; r < k; r++) {
      const read = reads[r];
      for (let x = 0; x < width; x++) votes[slotOf[read[row + x]] * width + x]++;
    }
    for (let x = 0; x < width; x++) {
      const winner = majority(votes, width, x, nSlots, k);
      mask[row + x] = labelOf[winner];
      confidence[row + x] = votes[winner * width + x] / k;
    }
  });
  return { mask, confidence, box };
}

/** The slot with more than half of k votes, or 0 (background); votes[s * stride + at] is slot s's count. */
function majority(votes: Int32Array, stride: number, at: number, nSlots: number, k: number): number {
  for (let s = 1; s < nSlots; s++) if (votes[s * stride + at] * 2 > k) return s;
  return 0;
}
