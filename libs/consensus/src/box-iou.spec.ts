import { boxIoU } from './box-iou';

describe('boxIoU', () => {
  it.each<[string, number[], number[], number]>([
    // 2x2 squares offset by 1 along x: overlap 1x2 = 2, union 4 + 4 - 2 = 6.
    ['2D half overlap', [0, 0, 2, 2], [1, 0, 3, 2], 2 / 6],
    ['2D identical', [1, 1, 4, 5], [1, 1, 4, 5], 1],
    ['2D disjoint', [0, 0, 1, 1], [2, 2, 3, 3], 0],
    ['2D touching edges', [0, 0, 1, 1], [1, 0, 2, 1], 0],
    // Inner 1x1 in outer 2x2: 1/4.
    ['2D contained', [0, 0, 2, 2], [0.5, 0.5, 1.5, 1.5], 0.25],
    // 2x2x2 cubes offset by 1 on every axis: overlap 1, union 8 + 8 - 1 = 15.
    ['3D corner overlap', [0, 0, 0, 2, 2, 2], [1, 1, 1, 3, 3, 3], 1 / 15],
    // mm coordinates: same boxes as '2D half overlap' with 0.5 x 3 mm pixels; the ratio does not change.
    ['2D in mm', [0, 0, 1, 6], [0.5, 0, 1.5, 6], 2 / 6],
    ['3D slab inside', [0, 0, 0, 4, 4, 4], [0, 0, 1, 4, 4, 2], 16 / 64],
    ['same point', [1, 1, 1, 1], [1, 1, 1, 1], 1],
    ['different points', [1, 1, 1, 1], [2, 2, 2, 2], 0],
    ['a point inside a box', [1, 1, 1, 1], [0, 0, 2, 2], 0],
  ])('%s', (_name, a, b, expected) => {
    expect(boxIoU(a, b)).toBeCloseTo(expected, 12);
    expect(boxIoU(b, a)).toBeCloseTo(expected, 12);
  });

  it.each<[string, number[], number[], string]>([
    ['2D against 3D', [0, 0, 1, 1], [0, 0, 0, 1, 1, 1], 'boxes must both be 2D [x0, y0, x1, y1] or both 3D [x0, y0, z0, x1, y1, z1], got 4 and 6 numbers'],
    ['wrong length', [0, 0, 1], [0, 0, 1], 'got 3 and 3 numbers'],
    ['inverted corners', [2, 0, 1, 1], [0, 0, 1, 1], 'first box [2, 0, 1, 1] has max < min on axis x'],
    ['NaN', [0, 0, 1, 1], [0, 0, NaN, 1], 'second box [0, 0, NaN, 1] has max < min on axis x'],
  ])('rejects %s', (_name, a, b, message) => {
    expect(() => boxIoU(a, b)).toThrow(message);
  });
});
