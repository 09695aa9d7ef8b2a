import { read } from '../test/synthetic-reads';
import { disagreementRegions, DisagreementRegion } from './disagreement';
import type { Grid } from './grid';

const empty5 = ['00000', '00000', '00000', '00000', '00000'];

describe('disagreementRegions', () => {
  it.each<[string, Grid, Uint8Array[], number, number[], DisagreementRegion[]]>([
    [
      // Diagonal pixels touch only at corners: one region under 8-connectivity (three under 4).
      'diagonal in 2D is one region',
      { dims: [5, 5, 1], spacing: [1, 1, 1] },
      [read(['10000', '01000', '00100', '00000', '00000']), read(empty5)],
      1,
      [3],
      [{ box: [0, 0, 0, 3, 3, 1], voxels: 3 }],
    ],
    [
      // (0,0,0) and (1,1,1) share only a corner: one region under 26-connectivity.
      'corner neighbours in 3D are one region',
      { dims: [2, 2, 2], spacing: [1, 1, 1] },
      [read(['10', '00'], ['00', '01']), read(['00', '00'], ['00', '00'])],
      1,
      [1, 1],
      [{ box: [0, 0, 0, 2, 2, 2], voxels: 2 }],
    ],
    [
      // Where all three agree (the 2x2 core) nothing is contested; reader 2 adds a 3-voxel column (x=4) and reader 1 a
      // stray voxel at (0,4): two regions, largest first.
      'unanimous core, two contested regions',
      { dims: [5, 5, 1], spacing: [1, 1, 1] },
      [read(['00000', '01100', '01100', '00000', '00000']), read(['00000', '01100', '01100', '00000', '10000']), read(['00001', '01101', '01101', '00000', '00000'])],
      1,
      [4],
      [{ box: [4, 0, 0, 5, 3, 1], voxels: 3 }, { box: [0, 4, 0, 1, 5, 1], voxels: 1 }],
    ],
    [
      'regions below the minimum size are dropped',
      { dims: [5, 5, 1], spacing: [1, 1, 1] },
      [read(['00000', '01100', '01100', '00000', '00000']), read(['00000', '01100', '01100', '00000', '10000']), read(['00001', '01101', '01101', '00000', '00000'])],
      2,
      [4],
      [{ box: [4, 0, 0, 5, 3, 1], voxels: 3 }],
    ],
    [
      // Per slice: slice 0 has 2 contested voxels, slice 1 none (both agree), slice 2 has 1; two regions since
      // slice 1 separates them.
      'counts per slice',
      { dims: [5, 5, 3], spacing: [1, 1, 1] },
      [read(['11000', ...empty5.slice(1)], ['00100', ...empty5.slice(1)], empty5), read(empty5, ['00100', ...empty5.slice(1)], ['00010', ...empty5.slice(1)])],
      1,
      [2, 0, 1],
      [{ box: [0, 0, 0, 2, 1, 1], voxels: 2 }, { box: [3, 0, 2, 4, 1, 3], voxels: 1 }],
    ],
  ])('%s', (_name, grid, reads, minVoxels, perSlice, regions) => {
    const [label1] = disagreementRegions(reads, grid, [1], { minVoxels });
    expect(label1.label).toBe(1);
    expect(label1.perSlice).toEqual(perSlice);
    expect(label1.voxels).toBe(perSlice.reduce((a, b) => a + b, 0));
    expect(label1.regions).toEqual(regions);
  });

  it('contests a voxel for both labels when readers give it different labels', () => {
    const [one, two] = disagreementRegions([read(['120']), read(['210'])], { dims: [3, 1, 1], spacing: [1, 1, 1] }, [1, 2]);
    expect([one.voxels, two.voxels]).toEqual([2, 2]);
    expect(one.regions).toEqual([{ box: [0, 0, 0, 2, 1, 1], voxels: 2 }]);
  });

  it('reports nothing for a label no read has', () => {
    const [, two] = disagreementRegions([read(['10']), read(['00'])], { dims: [2, 1, 1], spacing: [1, 1, 1] }, [1, 2]);
    expect(two).toEqual({ label: 2, perSlice: [0], voxels: 0, regions: [] });
  });

  it.each<[string, () => unknown, string]>([
    ['one read', () => disagreementRegions([read(['1'])], { dims: [1, 1, 1], spacing: [1, 1, 1] }, [1]), 'disagreement needs at least 2 reads, got 1'],
    ['a zero minimum', () => disagreementRegions([read(['1']), read(['1'])], { dims: [1, 1, 1], spacing: [1, 1, 1] }, [1], { minVoxels: 0 }), 'minVoxels must be a positive integer, got 0'],
  ])('rejects %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
