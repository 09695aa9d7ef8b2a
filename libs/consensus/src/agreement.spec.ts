import { read } from '../test/synthetic-reads';
import { computeAgreement } from './agreement';
import type { Grid } from './grid';

describe('computeAgreement', () => {
  // Three 1D reads of label 1 on 6 voxels (x only, 1 mm); label 2 is in the protocol but nobody drew it.
  //   r0 111100  r1 011100  r2 111000   majority: 111100
  // Pairwise Dice: r0-r1 2·3/7, r0-r2 2·3/7, r1-r2 2·2/6 → mean (6/7 + 6/7 + 2/3)/3.
  const reads = [read(['111100']), read(['011100']), read(['111000'])];
  const grid: Grid = { dims: [6, 1, 1], spacing: [1, 1, 1] };
  const meanDice = (6 / 7 + 6 / 7 + 2 / 3) / 3;

  it.each<['majority' | 'staple']>([['majority'], ['staple']])('merges with %s and scores the task on the labels present', (merge) => {
    const report = computeAgreement(reads, grid, [1, 2], { merge });
    expect(Array.from(report.merged.mask)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(report.agreement).toBeCloseTo(meanDice, 12);
    expect(report.labelsPresent).toEqual([1]);
    const [one, two] = report.labels;
    expect(one.dice.min).toBeCloseTo(2 / 3, 12);
    // Each reader against the merged mask: r0 is the merge, r1 and r2 drop one of its 4 voxels.
    expect(one.vsMerged.map((o) => o.dice)).toEqual([1, 6 / 7, 6 / 7]);
    // HD95 (surfaces along the only axis are the run ends): r0 {0,3} vs r1 {1,3}: [1,0] and [0,0] → 0.95;
    // r0 vs r2 {0,2}: [0,1] → 0.95; r1 {1,3} vs r2 {0,2}: [1,1] both ways → 1.
    expect(one.hd95!.max).toBeCloseTo(1, 12);
    expect(one.hd95!.mean).toBeCloseTo((0.95 + 0.95 + 1) / 3, 12);
    expect(two).toMatchObject({ label: 2, present: false, dice: { mean: 1, min: 1, max: 1 }, hd95: { mean: 0, min: 0, max: 0 } });
    expect(report.pairs.map((p) => [p.a, p.b])).toEqual([[0, 1], [0, 2], [1, 2]]);
  });

  it('reports the STAPLE reader estimates with the merge', () => {
    const report = computeAgreement(reads, grid, [1], { merge: 'staple', staple: { maxIterations: 3, tolerance: 0 } });
    if (report.method !== 'staple') throw new Error('expected a STAPLE merge');
    expect(report.merged.iterations).toBe(3);
    expect(report.merged.labels[0].raters).toHaveLength(3);
  });

  it('is 1 when every reader left the image empty', () => {
    const report = computeAgreement([read(['000']), read(['000'])], { dims: [3, 1, 1], spacing: [1, 1, 1] }, [1, 2]);
    expect([report.agreement, report.labelsPresent]).toEqual([1, []]);
  });

  it('counts a label only one reader drew as total disagreement on it', () => {
    // Label 1 identical (Dice 1), label 2 only in r0 (Dice 0): agreement (1 + 0)/2.
    const report = computeAgreement([read(['1120']), read(['1100'])], { dims: [4, 1, 1], spacing: [1, 1, 1] }, [1, 2], { merge: 'majority', hd95: false });
    expect(report.agreement).toBe(0.5);
    expect(report.labels[1]).toMatchObject({ present: true, oneSidedPairs: 1, hd95: null });
  });

  it.each<[string, () => unknown, string]>([
    ['one read', () => computeAgreement([read(['1'])], { dims: [1, 1, 1], spacing: [1, 1, 1] }, [1]), 'agreement needs at least 2 reads, got 1'],
    ['an unknown merge', () => computeAgreement([read(['1']), read(['1'])], { dims: [1, 1, 1], spacing: [1, 1, 1] }, [1], { merge: 'mean' as 'staple' }), "merge must be 'staple' or 'majority', got 'mean'"],
  ])('rejects %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
