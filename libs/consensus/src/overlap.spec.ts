import { read, seeded } from '../test/synthetic-reads';
import type { Grid, Vec3 } from './grid';
import { hd95ForPairs, quantile, surfaceVoxels } from './hausdorff';
import { compareReads, LabelOverlap, overlapMetrics } from './overlap';

const grid = (dims: Vec3, spacing: Vec3 = [1, 1, 1]): Grid => ({ dims, spacing });

describe('overlapMetrics', () => {
  type Expected = Omit<LabelOverlap, 'label'>;
  it.each<[string, Grid, Uint8Array, Uint8Array, Expected]>([
    [
      // |A| = |B| = 4, |A∩B| = 2: Dice 2·2/8, IoU 2/6. Every voxel is surface; each A voxel is 0 or 1 from B and
      // vice versa: sorted [0, 0, 1, 1], P95 at rank 3·0.95 = 2.85 → 1.
      'two squares overlapping by half',
      grid([4, 4, 1]),
      read(['1100', '1100', '0000', '0000']),
      read(['0110', '0110', '0000', '0000']),
      { dice: 0.5, iou: 1 / 3, volumeA: 4, volumeB: 4, volumeDifference: 0, relativeVolumeDifference: 0, hd95: 1, bothEmpty: false },
    ],
    [
      // Same squares, x spacing 0.5 mm and y 3 mm: the offset is along x, so HD95 = 0.5; voxels are 1.5 mm³.
      'two squares, anisotropic',
      grid([4, 4, 1], [0.5, 3, 1]),
      read(['1100', '1100', '0000', '0000']),
      read(['0110', '0110', '0000', '0000']),
      { dice: 0.5, iou: 1 / 3, volumeA: 6, volumeB: 6, volumeDifference: 0, relativeVolumeDifference: 0, hd95: 0.5, bothEmpty: false },
    ],
    [
      // A = three voxels in a row, B = its first voxel. A→B distances [0, 1, 2]: P95 at rank 2·0.95 = 1.9 lies
      // between 1 and 2 → 1.9. B→A: [0]. HD95 = max(1.9, 0) = 1.9. Dice 2·1/4, IoU 1/3, relative volume (1 - 3)/3.
      'line against its end voxel',
      grid([4, 3, 1]),
      read(['0000', '1110', '0000']),
      read(['0000', '1000', '0000']),
      { dice: 0.5, iou: 1 / 3, volumeA: 3, volumeB: 1, volumeDifference: -2, relativeVolumeDifference: -2 / 3, hd95: 1.9, bothEmpty: false },
    ],
    [
      // A 4x1x1 image has only the x axis: the middle voxel of A has label on both sides, so it is not surface.
      // A→B over surface {0, 2}: [0, 2], P95 at rank 0.95 → 1.9 mm; 2 mm voxels double it to 3.8.
      'line on a 1-row image, 2 mm voxels',
      grid([4, 1, 1], [2, 1, 1]),
      read(['1110']),
      read(['1000']),
      { dice: 0.5, iou: 1 / 3, volumeA: 6, volumeB: 2, volumeDifference: -4, relativeVolumeDifference: -2 / 3, hd95: 3.8, bothEmpty: false },
    ],
    [
      // Two voxels on slices 0 and 2 with 3 mm slices: 6 mm apart.
      'single voxels two slices apart, 3 mm slices',
      grid([5, 5, 3], [1, 1, 3]),
      read(['00000', '00000', '00100', '00000', '00000'], ['00000', '00000', '00000', '00000', '00000'], ['00000', '00000', '00000', '00000', '00000']),
      read(['00000', '00000', '00000', '00000', '00000'], ['00000', '00000', '00000', '00000', '00000'], ['00000', '00000', '00100', '00000', '00000']),
      { dice: 0, iou: 0, volumeA: 3, volumeB: 3, volumeDifference: 0, relativeVolumeDifference: 0, hd95: 6, bothEmpty: false },
    ],
    [
      // (0,0,0) against (1,1,1) with spacing 1, 2, 3 mm: √(1 + 4 + 9).
      'diagonal neighbours, spacing 1 x 2 x 3',
      grid([2, 2, 2], [1, 2, 3]),
      read(['10', '00'], ['00', '00']),
      read(['00', '00'], ['00', '01']),
      { dice: 0, iou: 0, volumeA: 6, volumeB: 6, volumeDifference: 0, relativeVolumeDifference: 0, hd95: Math.sqrt(14), bothEmpty: false },
    ],
    [
      'identical',
      grid([3, 3, 1]),
      read(['010', '111', '010']),
      read(['010', '111', '010']),
      { dice: 1, iou: 1, volumeA: 5, volumeB: 5, volumeDifference: 0, relativeVolumeDifference: 0, hd95: 0, bothEmpty: false },
    ],
    [
      'both empty',
      grid([3, 3, 1]),
      read(['000', '000', '000']),
      read(['000', '000', '000']),
      { dice: 1, iou: 1, volumeA: 0, volumeB: 0, volumeDifference: 0, relativeVolumeDifference: 0, hd95: 0, bothEmpty: true },
    ],
    [
      'reference empty',
      grid([3, 3, 1]),
      read(['000', '000', '000']),
      read(['000', '010', '000']),
      { dice: 0, iou: 0, volumeA: 0, volumeB: 1, volumeDifference: 1, relativeVolumeDifference: null, hd95: null, bothEmpty: false },
    ],
    [
      'second read empty',
      grid([3, 3, 1]),
      read(['110', '000', '000']),
      read(['000', '000', '000']),
      { dice: 0, iou: 0, volumeA: 2, volumeB: 0, volumeDifference: -2, relativeVolumeDifference: -1, hd95: null, bothEmpty: false },
    ],
  ])('%s', (_name, g, a, b, expected) => {
    const [got] = overlapMetrics(a, b, g, [1]);
    expect(got.label).toBe(1);
    for (const [key, value] of Object.entries(expected)) {
      if (typeof value === 'number') expect(got[key as keyof LabelOverlap]).toBeCloseTo(value, 12);
      else expect(got[key as keyof LabelOverlap]).toBe(value);
    }
  });

  it('scores each label on its own', () => {
    // Label 1: A {0, 1}, B {1, 2}, shared 1 → Dice 0.5. Label 2: A {2, 3}, B {3}, shared 1 → Dice 2/3, IoU 1/2.
    const [one, two] = overlapMetrics(read(['1122']), read(['0112']), grid([4, 1, 1]), [1, 2]);
    expect([one.label, one.dice, one.iou]).toEqual([1, 0.5, 1 / 3]);
    expect([two.label, two.dice, two.iou]).toEqual([2, 2 / 3, 0.5]);
    // Label 2: voxel 2 of A borders label 1, so both A voxels are surface. A→B [1, 0] → P95 0.95; B→A [0].
    expect(two.hd95).toBeCloseTo(0.95, 12);
  });

  it('skips HD95 when not asked for', () => {
    const [got] = overlapMetrics(read(['10']), read(['01']), grid([2, 1, 1]), [1], { hd95: false });
    expect(got).not.toHaveProperty('hd95');
  });

  it('accepts Uint16 maps and views that start mid-buffer', () => {
    const backing = new Uint8Array(1 + 12);
    backing.set(read(['0110', '0110', '0000']), 1);
    const a = backing.subarray(1);
    const b = Uint16Array.from(read(['0000', '0110', '0110']));
    const [got] = overlapMetrics(a, b, grid([4, 3, 1]), [1]);
    expect([got.dice, got.hd95]).toEqual([0.5, 1]);
  });

  it.each<[string, () => unknown, string]>([
    ['shape mismatch', () => overlapMetrics(new Uint8Array(8), new Uint8Array(9), grid([3, 3, 1]), [1]), 'read 0 has 8 voxels but the grid [3 x 3 x 1] has 9'],
    ['label outside the protocol', () => overlapMetrics(read(['0070']), read(['0000']), grid([4, 1, 1]), [1, 2]), 'read 0 has label 7 at voxel 2, which is not among the protocol labels [1, 2]'],
    ['duplicate label', () => overlapMetrics(read(['0']), read(['0']), grid([1, 1, 1]), [1, 1]), 'protocol label 1 is listed twice'],
    ['no labels', () => overlapMetrics(read(['0']), read(['0']), grid([1, 1, 1]), []), 'labels must list at least one protocol label'],
    ['bad spacing', () => overlapMetrics(read(['0']), read(['0']), grid([1, 1, 1], [1, 0, 1]), [1]), 'grid spacing must be three positive finite numbers in mm, got [1, 0, 1]'],
  ])('rejects %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});

describe('surfaceVoxels', () => {
  it.each<[string, Grid, Uint8Array, number]>([
    // 3x3x3 cube inside 5x5x5: all but the centre voxel have a background face neighbour.
    ['cube inside a volume', grid([5, 5, 5]), cube(5, 1, 3), 26],
    // 3x3 square in a 2D image: the centre pixel has label on all four sides; z does not count in 2D.
    ['square in 2D', grid([5, 5, 1]), read(['00000', '01110', '01110', '01110', '00000']), 8],
    // The whole 3x3 image: the border counts as outside, so only the centre is inner.
    ['image filled to the border', grid([3, 3, 1]), read(['111', '111', '111']), 8],
    // 3x3x3 filling the volume: every voxel but the centre touches the border.
    ['volume filled to the border', grid([3, 3, 3]), cube(3, 0, 3), 26],
  ])('%s', (_name, g, mask, expected) => {
    expect(surfaceVoxels(mask, g, [0, 0, 0, ...g.dims], 1)).toHaveLength(expected);
  });
});

describe('quantile', () => {
  it.each<[number[], number, number]>([
    [[5], 0.95, 5],
    [[0, 1, 2], 0.95, 1.9],
    [[3, 1, 2, 0], 0.5, 1.5],
    [[0, 10], 0.95, 9.5],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21], 0.95, 20],
  ])('quantile(%j, %d) = %d', (values, q, expected) => {
    expect(quantile(Float64Array.from(values), q)).toBeCloseTo(expected, 12);
  });
});

describe('hd95ForPairs against a brute-force surface search', () => {
  it.each<[Vec3, Vec3, number]>([
    [[12, 10, 1], [1, 1, 1], 1],
    [[9, 8, 6], [0.8, 0.8, 2.5], 2],
    [[7, 11, 5], [2, 0.5, 1], 3],
  ])('random blobs on %j, spacing %j', (dims, spacing, seed) => {
    const g = grid(dims, spacing);
    const next = seeded(seed);
    const n = dims[0] * dims[1] * dims[2];
    const masks = [0, 1, 2].map(() => Uint8Array.from({ length: n }, () => (next() < 0.3 ? 1 : 0)));
    const pairs: [number, number][] = [[0, 1], [0, 2], [1, 2]];
    const got = hd95ForPairs(masks, pairs, g, 1, [0, 0, 0, ...dims]);
    const surfaces = masks.map((m) => Array.from(surfaceVoxels(m, g, [0, 0, 0, ...dims], 1)));
    const point = (i: number) => [i % dims[0], Math.floor(i / dims[0]) % dims[1], Math.floor(i / (dims[0] * dims[1]))];
    const directed = (from: number[], to: number[]) =>
      Float64Array.from(from, (i) =>
        Math.min(...to.map((j) => Math.hypot(...point(i).map((c, a) => (c - point(j)[a]) * spacing[a])))),
      );
    pairs.forEach(([a, b], p) => {
      const want = Math.max(quantile(directed(surfaces[a], surfaces[b]), 0.95), quantile(directed(surfaces[b], surfaces[a]), 0.95));
      expect(got[p]).toBeCloseTo(want, 5); // distances are stored as float32
    });
  });
});

describe('compareReads', () => {
  // Three 1D reads of label 1 on 6 voxels (x only, 1 mm):
  //   r0 111100  r1 011100  r2 111000
  // r0-r1: |∩| 3, sizes 4+3 → Dice 6/7, IoU 3/4. r0-r2: |∩| 3, sizes 4+3 → 6/7, 3/4. r1-r2: |∩| 2, 3+3 → 2/3, 2/4.
  const reads = [read(['111100']), read(['011100']), read(['111000'])];
  const g = grid([6, 1, 1]);

  it('summarises every pair of reads per label', () => {
    const { pairs, summary, vsConsensus } = compareReads(reads, g, [1, 2]);
    expect(pairs.map((p) => [p.a, p.b, p.labels[0].dice])).toEqual([[0, 1, 6 / 7], [0, 2, 6 / 7], [1, 2, 2 / 3]]);
    expect(summary[0].dice.mean).toBeCloseTo((6 / 7 + 6 / 7 + 2 / 3) / 3, 12);
    expect([summary[0].dice.min, summary[0].dice.max]).toEqual([2 / 3, 6 / 7]);
    expect([summary[0].iou.min, summary[0].iou.max]).toEqual([0.5, 0.75]);
    expect(summary[0].present).toBe(true);
    expect(summary[1]).toMatchObject({ label: 2, present: false, dice: { mean: 1, min: 1, max: 1 }, oneSidedPairs: 0 });
    expect(vsConsensus).toBeNull();
  });

  it('compares each read with a consensus as the reference', () => {
    const consensus = read(['111100']);
    const { vsConsensus } = compareReads(reads, g, [1], { consensus });
    expect(vsConsensus!.map((r) => [r[0].dice, r[0].relativeVolumeDifference])).toEqual([[1, 0], [6 / 7, -0.25], [6 / 7, -0.25]]);
  });

  it('leaves one-sided pairs out of the HD95 spread and counts them', () => {
    const { summary } = compareReads([read(['1100']), read(['0000']), read(['0110'])], grid([4, 1, 1]), [1]);
    // Only the pair 0-2 has both surfaces: A→B [1, 0] and B→A [0, 1] (surface of '0110' is {1, 2}) → P95 0.95.
    expect(summary[0].oneSidedPairs).toBe(2);
    expect(summary[0].hd95!.mean).toBeCloseTo(0.95, 12);
    expect(summary[0].dice.min).toBe(0);
  });

  it('needs two reads', () => {
    expect(() => compareReads([read(['1'])], grid([1, 1, 1]), [1])).toThrow('comparing reads needs at least 2, got 1');
  });
});

function cube(n: number, from: number, size: number): Uint8Array {
  const out = new Uint8Array(n * n * n);
  for (let z = from; z < from + size; z++) for (let y = from; y < from + size; y++) for (let x = from; x < from + size; x++) out[x + n * (y + n * z)] = 1;
  return out;
}
