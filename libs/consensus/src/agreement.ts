// The task-level answer the routing code needs: how well the reads of one task agree, per label and as one
// number to compare with the project's threshold, plus the merged mask that becomes the task's label.
import type { Grid, Mask } from './grid';
import { majorityVote } from './majority-vote';
import type { MergeOutput, MergeResult } from './merge';
import { compareReads, LabelOverlap, LabelSummary, OverlapOptions, PairOverlap } from './overlap';
import { staple, StapleOptions, StapleResult } from './staple';

export interface AgreementOptions extends OverlapOptions {
  /** How reads are merged. Default 'staple'. */
  merge?: 'staple' | 'majority';
  staple?: Omit<StapleOptions, 'output'>;
  /** Buffers for the merged mask and confidence map; see MergeOutput. */
  output?: MergeOutput;
}

export interface LabelAgreement extends LabelSummary {
  /** vsMerged[reader]: that read (B) against the merged mask (A, the reference). */
  vsMerged: LabelOverlap[];
}

interface AgreementScores {
  /**
   * Mean over the labels some read has of the mean pairwise Dice. Labels no read has are left out (their Dice
   * of 1 would inflate it); when no read has any label, every reader agreed the image is empty and it is 1.
   */
  agreement: number;
  labelsPresent: number[];
  labels: LabelAgreement[];
  pairs: PairOverlap[];
}

/** The scores and the merge; `method` says which merge ran, and STAPLE's result carries each reader's sensitivity and specificity. */
export type AgreementReport = AgreementScores & ({ method: 'staple'; merged: StapleResult } | { method: 'majority'; merged: MergeResult });

/** Agreement of k ≥ 2 reads of one task on the protocol labels, and their merge. */
export function computeAgreement(reads: readonly Mask[], grid: Grid, labels: readonly number[], options: AgreementOptions = {}): AgreementReport {
  if (reads.length < 2) throw new RangeError(`agreement needs at least 2 reads, got ${reads.length}`);
  const method = options.merge ?? 'staple';
  if (method !== 'staple' && method !== 'majority') throw new RangeError(`merge must be 'staple' or 'majority', got '${String(method)}'`);
  const merge =
    method === 'staple'
      ? { method, merged: staple(reads, grid, labels, { ...options.staple, output: options.output }) }
      : { method, merged: majorityVote(reads, grid, labels, { output: options.output }) };
  const comparison = compareReads(reads, grid, labels, { hd95: options.hd95, consensus: merge.merged.mask });
  const perLabel = comparison.summary.map((summary, l) => ({ ...summary, vsMerged: comparison.vsConsensus!.map((reader) => reader[l]) }));
  const present = perLabel.filter((l) => l.present);
  return {
    agreement: present.length === 0 ? 1 : present.reduce((s, l) => s + l.dice.mean, 0) / present.length,
    labelsPresent: present.map((l) => l.label),
    labels: perLabel,
    pairs: comparison.pairs,
    ...merge,
  };
}
