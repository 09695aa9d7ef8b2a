import { read, seeded } from '../test/synthetic-reads';
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

  // 4 reads x 3 labels go through a table of the 4^4 answer combinations, 9 reads (4^9) voxel by voxel; both must
  // match counting votes directly.
  it.each<[number]>([[4], [9]])('matches a direct count with %i reads', (k) => {
    const next = seeded(k);
    const reads = Array.from({ length: k }, () => Uint8Array.from({ length: 60 }, () => (next() < 0.5 ? 0 : 1 + Math.floor(next() * 3))));
    const { mask, confidence } = majorityVote(reads, { dims: [5, 4, 3], spacing: [1, 1, 1] }, [1, 2, 3]);
    for (let i = 0; i < 60; i++) {
      const votes = [0, 1, 2, 3].map((label) => reads.filter((r) => r[i] === label).length);
      const winner = [1, 2, 3].find((label) => votes[label] * 2 > k) ?? 0;
      expect([mask[i], confidence[i]]).toEqual([winner, Math.fround(votes[winner] / k)]);
    }
  });

  it('writes into given buffers, and refuses one that is a read', () => {
    const reads = [read(['110']), read(['100']), read(['111'])];
    const output = { mask: new Uint8Array(3).fill(9), confidence: new Float32Array(3) };
    const result = majorityVote(reads, { dims: [3, 1, 1], spacing: [1, 1, 1] }, [1], { output });
    expect(result.mask).toBe(output.mask);
    expect(Array.from(output.mask)).toEqual([1, 1, 0]);
    expect(() => majorityVote(reads, { dims: [3, 1, 1], spacing: [1, 1, 1] }, [1], { output: { mask: reads[1] } })).toThrow(
      'an output buffer shares memory with a read it would overwrite',
    );
    expect(() => majorityVote(reads, { dims: [3, 1, 1], spacing: [1, 1, 1] }, [1], { output: { confidence: new Float32Array(2) } })).toThrow(
      'output confidence has 2 voxels but the grid [3 x 1 x 1] has 3',
    );
    expect(() => majorityVote([Uint16Array.of(300)], { dims: [1, 1, 1], spacing: [1, 1, 1] }, [300], { output: { mask: new Uint8Array(1) } })).toThrow(
      'output mask must be a Uint16Array for labels above 255 (got label 300)',
    );
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
