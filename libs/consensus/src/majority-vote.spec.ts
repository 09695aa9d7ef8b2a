import { read } from '../test/synthetic-reads';
import { majorityVote } from './majority-vote';

describe('majorityVote', () => {
  // One row per voxel column: the reads, then the merged label and the fraction of reads giving it.
  it.each<[string, string[], string, number[]]>([
    ['unanimous', ['1', '1', '1'], '1', [1]],
    ['two of three', ['1', '1', '0'], '1', [2 / 3]],
    ['one of three', ['1', '0', '0'], '0', [2 / 3]],
    // Three different answers: nobody has more than half, background, which one read gave.
    ['three different answers', ['1', '2', '0'], '0', [1 / 3]],
    // Even split between a label and background: background wins.
    ['tie, two reads', ['1', '0'], '0', [0.5]],
    ['tie, four reads', ['1', '1', '0', '0'], '0', [0.5]],
    // Even split between two labels: neither has a majority, background, which no read gave.
    ['tie between labels', ['1', '1', '2', '2'], '0', [0]],
    // Plurality is not enough: 2 of 4 for label 1.
    ['plurality without majority', ['1', '1', '2', '0'], '0', [0.25]],
    ['three of four', ['2', '2', '2', '1'], '2', [0.75]],
    ['several voxels', ['1120', '1020', '0122'], '1120', [2 / 3, 2 / 3, 1, 2 / 3]],
  ])('%s', (_name, rows, expected, confidence) => {
    const reads = rows.map((r) => read([r]));
    const { mask, confidence: got } = majorityVote(reads, { dims: [rows[0].length, 1, 1], spacing: [1, 1, 1] }, [1, 2]);
    expect(Array.from(mask).join('')).toBe(expected);
    got.forEach((c, i) => expect(c).toBeCloseTo(confidence[i], 6));
  });

  it('leaves everything outside the foreground box as background with full agreement', () => {
    const reads = [read(['0000', '0110', '0000']), read(['0000', '0100', '0000']), read(['0000', '0010', '0000'])];
    const { mask, confidence, box } = majorityVote(reads, { dims: [4, 3, 1], spacing: [1, 1, 1] }, [1]);
    expect(box).toEqual([1, 1, 0, 3, 2, 1]);
    expect(Array.from(mask)).toEqual(Array.from(read(['0000', '0110', '0000'])));
    expect(Array.from(confidence)).toEqual([1, 1, 1, 1, 1, 2 / 3, 2 / 3, 1, 1, 1, 1, 1].map(Math.fround));
  });

  it('keeps sparse and wide label values', () => {
    const reads = [Uint16Array.of(300, 7, 0), Uint16Array.of(300, 7, 7), Uint16Array.of(0, 300, 7)];
    const { mask } = majorityVote(reads, { dims: [3, 1, 1], spacing: [1, 1, 1] }, [7, 300]);
    expect(mask).toBeInstanceOf(Uint16Array);
    expect(Array.from(mask)).toEqual([300, 7, 7]);
  });

  it('returns an empty map for empty reads', () => {
    const { mask, confidence, box } = majorityVote([read(['00']), read(['00'])], { dims: [2, 1, 1], spacing: [1, 1, 1] }, [1]);
    expect([Array.from(mask), Array.from(confidence), box]).toEqual([[0, 0], [1, 1], null]);
  });

  it('needs a read', () => {
    expect(() => majorityVote([], { dims: [1, 1, 1], spacing: [1, 1, 1] }, [1])).toThrow('merging needs at least one read');
  });
});
