import type { Vec3 } from './grid';
import { seeded } from '../test/synthetic-reads';
import { squaredDistanceTransform } from './distance-transform';

/** Squared mm distance from each voxel to its nearest feature, by trying every feature. */
function bruteForce(features: Uint8Array, dims: Vec3, spacing: Vec3): Float64Array {
  const [nx, ny] = dims;
  const points: Vec3[] = [];
  features.forEach((f, i) => f && points.push([i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))]));
  return Float64Array.from(features, (_, i) => {
    const x = i % nx, y = Math.floor(i / nx) % ny, z = Math.floor(i / (nx * ny));
    let best = Infinity;
    for (const [px, py, pz] of points) {
      best = Math.min(best, ((x - px) * spacing[0]) ** 2 + ((y - py) * spacing[1]) ** 2 + ((z - pz) * spacing[2]) ** 2);
    }
    return best;
  });
}

describe('squaredDistanceTransform', () => {
  it.each<[string, Vec3, Vec3, number[], number[]]>([
    // One feature in the middle of a row, 2 mm apart: (2·2)² = 16, (1·2)² = 4, 0, 4, 16.
    ['1D row, 2 mm spacing', [5, 1, 1], [2, 1, 1], [0, 0, 1, 0, 0], [16, 4, 0, 4, 16]],
    ['1D row, two features', [5, 1, 1], [1, 1, 1], [1, 0, 0, 0, 1], [0, 1, 4, 1, 0]],
    // 3x3 with the centre as feature, spacing x 1 mm, y 2 mm: edge neighbours 1 (x) or 4 (y), corners 1 + 4 = 5.
    ['2D centre, anisotropic', [3, 3, 1], [1, 2, 1], [0, 0, 0, 0, 1, 0, 0, 0, 0], [5, 4, 5, 1, 0, 1, 5, 4, 5]],
    // A column along y: x=0 voxels are 3 mm from x=1.
    ['2D column', [2, 3, 1], [3, 1, 1], [0, 1, 0, 1, 0, 1], [9, 0, 9, 0, 9, 0]],
    // Feature at z=0 of a 1x1x3 stack with 2.5 mm slices: 0, 6.25, 25.
    ['stack along z', [1, 1, 3], [1, 1, 2.5], [1, 0, 0], [0, 6.25, 25]],
    // Corner (0,0,0) of a 2x2x2 cube, spacing 1,2,3: far corner 1 + 4 + 9 = 14.
    ['3D cube corner', [2, 2, 2], [1, 2, 3], [1, 0, 0, 0, 0, 0, 0, 0], [0, 1, 4, 5, 9, 10, 13, 14]],
    ['no feature', [2, 2, 1], [1, 1, 1], [0, 0, 0, 0], [Infinity, Infinity, Infinity, Infinity]],
  ])('%s', (_name, dims, spacing, features, expected) => {
    expect(Array.from(squaredDistanceTransform(Uint8Array.from(features), dims, spacing))).toEqual(expected.map(Math.fround));
  });

  it.each<[Vec3, Vec3, number, number]>([
    [[17, 13, 1], [1, 1, 1], 0.05, 1],
    [[9, 11, 7], [0.7, 0.7, 2.5], 0.02, 2],
    [[12, 5, 8], [3, 0.5, 1.25], 0.1, 3],
    [[6, 6, 6], [1, 1, 1], 0.004, 4],
    [[1, 1, 20], [1, 1, 0.3], 0.2, 5],
    // Wider than one block of gathered lines (16), so blocks and their remainders are both exercised.
    [[37, 9, 6], [0.6, 0.9, 2], 0.01, 6],
  ])('matches brute force on a random %j volume, spacing %j, density %d', (dims, spacing, density, seed) => {
    const next = seeded(seed);
    const features = Uint8Array.from({ length: dims[0] * dims[1] * dims[2] }, () => (next() < density ? 1 : 0));
    features[Math.floor(next() * features.length)] = 1;
    const got = squaredDistanceTransform(features, dims, spacing);
    const want = bruteForce(features, dims, spacing);
    // Float32 storage: relative error below 1e-7 per pass.
    const worst = got.reduce((m, d, i) => Math.max(m, Math.abs(d - want[i]) / Math.max(1, want[i])), 0);
    expect(worst).toBeLessThan(1e-6);
  });

  it('names both sizes when the features do not fit the dims', () => {
    expect(() => squaredDistanceTransform(new Uint8Array(5), [2, 2, 1], [1, 1, 1])).toThrow('features have 5 voxels but dims [2 x 2 x 1] hold 4');
  });
});
