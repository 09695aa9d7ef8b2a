import { read } from '../test/synthetic-reads';
import { Box3, Grid, labelSlots, scanForeground, unionBox } from './grid';

describe('scanForeground', () => {
  const grid: Grid = { dims: [5, 3, 2], spacing: [1, 1, 1] };

  it('finds the box and voxel count of each label in each read', () => {
    const a = read(['00000', '01100', '00000'], ['00020', '00000', '00000']);
    const b = read(['00000', '00000', '00000'], ['00000', '00000', '10000']);
    const { boxes, counts } = scanForeground([a, b], grid, labelSlots([1, 2]));
    expect(boxes).toEqual([
      [null, [1, 1, 0, 3, 2, 1], [3, 0, 1, 4, 1, 2]],
      [null, [0, 2, 1, 1, 3, 2], null],
    ]);
    expect(counts).toEqual([[27, 2, 1], [29, 1, 0]]);
  });

  it.each<[string, number]>([
    ['aligned', 0],
    ['one byte in', 1],
    ['two bytes in', 2],
    ['three bytes in', 3],
  ])('reads a Uint8Array view starting %s the same way', (_name, offset) => {
    const mask = read(['10000', '00000', '00001'], ['00000', '00100', '00001']);
    const backing = new Uint8Array(offset + mask.length + 3);
    backing.set(mask, offset);
    const { boxes, counts } = scanForeground([backing.subarray(offset, offset + mask.length)], grid, labelSlots([1]));
    expect(boxes[0][1]).toEqual([0, 0, 0, 5, 3, 2]);
    expect(counts[0][1]).toBe(4);
  });

  it('reads a Uint16Array view that is not 4-byte aligned', () => {
    const backing = new Uint16Array(31);
    backing[1 + 29] = 300;
    const { boxes } = scanForeground([backing.subarray(1)], grid, labelSlots([300]));
    expect(boxes[0][1]).toEqual([4, 2, 1, 5, 3, 2]);
  });

  it.each<[string, () => unknown, string]>([
    ['a wrong length', () => scanForeground([new Uint8Array(30), new Uint8Array(29)], grid, labelSlots([1])), 'read 1 has 29 voxels but the grid [5 x 3 x 2] has 30'],
    ['a float array', () => scanForeground([new Float32Array(30) as unknown as Uint8Array], grid, labelSlots([1])), 'read 0 must be a Uint8Array or Uint16Array label map'],
    ['fractional dims', () => scanForeground([], { dims: [2.5, 1, 1], spacing: [1, 1, 1] }, labelSlots([1])), 'grid dims must be three positive integers [nx, ny, nz], got [2.5, 1, 1]'],
    ['label 0 in the protocol', () => labelSlots([0, 1]), 'protocol labels must be integers in 1..65535, got 0'],
  ])('rejects %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});

describe('boxes', () => {
  it.each<[(Box3 | null)[], Box3 | null]>([
    [[], null],
    [[null, null], null],
    [[[1, 2, 3, 4, 5, 6], null, [0, 3, 3, 2, 7, 4]], [0, 2, 3, 4, 7, 6]],
  ])('unionBox(%j) = %j', (boxes, expected) => {
    expect(unionBox(boxes)).toEqual(expected);
  });
});
