// Outline tracing: exact areas, holes, corner-touching regions, merged straight runs, and the round trip
// outline -> even-odd rasterization by pixel centre -> the same pixels, on hand-made and pseudo-random masks.
import { rasterizeEvenOdd } from '../test/tools';
import { shoelaceArea, traceLabelOutlines } from './contours';

function mask(rows: string[]): { data: Uint8Array; width: number; height: number } {
  const width = rows[0].length;
  const data = Uint8Array.from(rows.join('').split('').map((c) => (c === '#' ? 1 : 0)));
  return { data, width, height: rows.length };
}

/** Rasterizes outlines back: pixel-corner coordinates shifted so pixel centres are integers. */
function roundTrip(data: Uint8Array, width: number, height: number, label = 1): Uint8Array {
  const polygons = traceLabelOutlines(data, width, height, label).map((p) => p.points.map(([x, y]) => [x - 0.5, y - 0.5]));
  return rasterizeEvenOdd(polygons, width, height);
}

describe('traceLabelOutlines', () => {
  test('one pixel: a unit square, clockwise on screen', () => {
    const [p, ...rest] = traceLabelOutlines(Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), 3, 3, 1);
    expect(rest).toEqual([]);
    expect(p.hole).toBe(false);
    expect(p.area).toBe(1);
    expect(p.points).toHaveLength(4);
    expect(new Set(p.points.map((q) => q.join(',')))).toEqual(new Set(['1,1', '2,1', '2,2', '1,2']));
    expect(shoelaceArea(p.points)).toBe(1);
  });

  test('a square with a square hole: an outer outline and a hole outline, areas 36 and 4', () => {
    const { data, width, height } = mask(['........', '.######.', '.######.', '.##..##.', '.##..##.', '.######.', '.######.', '........']);
    const polygons = traceLabelOutlines(data, width, height, 1);
    expect(polygons.map((p) => [p.hole, p.area, p.points.length]).sort()).toEqual([
      [false, 36, 4],
      [true, 4, 4],
    ]);
    // Opposite orientations, so the signed areas add up to the pixel count.
    expect(polygons.reduce((sum, p) => sum + shoelaceArea(p.points), 0)).toBe(32);
    expect(roundTrip(data, width, height)).toEqual(data);
  });

  test('pixels touching only at a corner are separate regions sharing that corner', () => {
    const { data, width, height } = mask(['#.', '.#']);
    const polygons = traceLabelOutlines(data, width, height, 1);
    expect(polygons).toHaveLength(2);
    expect(polygons.every((p) => !p.hole && p.area === 1 && p.points.length === 4)).toBe(true);
    expect(roundTrip(data, width, height)).toEqual(data);
  });

  test('a background pixel touching the region at two diagonal corners is still a hole', () => {
    const { data, width, height } = mask(['.#.', '#.#', '.#.']);
    // Four pixels meeting at corners: 4-connected they are four regions, and the centre is not enclosed.
    const polygons = traceLabelOutlines(data, width, height, 1);
    expect(polygons).toHaveLength(4);
    expect(polygons.every((p) => !p.hole)).toBe(true);
    expect(roundTrip(data, width, height)).toEqual(data);
  });

  test('an L shape has 6 vertices: straight runs are merged', () => {
    const { data, width, height } = mask(['#...', '#...', '####']);
    const [p] = traceLabelOutlines(data, width, height, 1);
    expect(p.points).toHaveLength(6);
    expect(p.area).toBe(6);
  });

  test('only the requested label is traced, at the given slice offset', () => {
    const slice0 = [2, 2, 0, 0];
    const slice1 = [1, 1, 0, 2];
    const data = Uint8Array.from([...slice0, ...slice1]);
    expect(traceLabelOutlines(data, 2, 2, 1, 4).map((p) => p.area)).toEqual([2]);
    expect(traceLabelOutlines(data, 2, 2, 2, 0).map((p) => p.area)).toEqual([2]);
    expect(traceLabelOutlines(data, 2, 2, 3, 0)).toEqual([]);
  });

  test.each([0.2, 0.45, 0.7])('pseudo-random masks (density %f) come back pixel for pixel through even-odd rasterization', (density) => {
    const width = 41;
    const height = 37;
    let s = Math.round(density * 1e6);
    const data = new Uint8Array(width * height);
    for (let i = 0; i < data.length; i++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      data[i] = s / 2 ** 32 < density ? 1 : 0;
    }
    const polygons = traceLabelOutlines(data, width, height, 1);
    const count = data.reduce((a, b) => a + b, 0);
    expect(polygons.reduce((sum, p) => sum + (p.hole ? -p.area : p.area), 0)).toBe(count);
    expect(roundTrip(data, width, height)).toEqual(data);
  });
});
