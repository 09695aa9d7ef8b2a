// Orientation codes and exact reorientation: codes of typical grids, and reorient() keeping every voxel at its
// world position.
import { affineFromColumns, lpsToRas, maxAbsDifference, transformPoint, type Mat4 } from './affine';
import { directionsOf, orientationOf, reorient } from './orientation';

const lps = (i: number[], j: number[], k: number[]): Mat4 => lpsToRas(affineFromColumns(i, j, k, [0, 0, 0]));

describe('orientationOf', () => {
  test.each([
    ['axial DICOM volume', lps([0.7, 0, 0], [0, 0.7, 0], [0, 0, 2]), 'LPS'],
    ['sagittal DICOM volume', lps([0, 1, 0], [0, 0, -1], [-1, 0, 0]), 'PIR'],
    ['coronal DICOM volume', lps([1, 0, 0], [0, 0, -1], [0, 1, 0]), 'LIP'],
    ['RAS identity', affineFromColumns([1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]), 'RAS'],
    ['FreeSurfer conformed', affineFromColumns([-1, 0, 0], [0, 0, -1], [0, 1, 0], [128, -128, 128]), 'LIA'],
    ['oblique, 30° about z', affineFromColumns([0.866, 0.5, 0], [-0.5, 0.866, 0], [0, 0, 1], [0, 0, 0]), 'RAS'],
    ['oblique, 60° about z', affineFromColumns([0.5, 0.866, 0], [-0.866, 0.5, 0], [0, 0, 1], [0, 0, 0]), 'ALS'],
  ])('%s reads %s', (_name, affine, code) => {
    expect(orientationOf(affine)).toBe(code);
  });

  test('directionsOf is the inverse for axis-aligned codes', () => {
    expect(directionsOf('LIA')).toEqual([[-1, 0, 0], [0, 0, -1], [0, 1, 0]]);
    expect(orientationOf(affineFromColumns(...directionsOf('PSL'), [0, 0, 0]))).toBe('PSL');
  });
});

describe('reorient', () => {
  const dims: [number, number, number] = [4, 3, 2];
  const data = Float32Array.from({ length: 24 }, (_, n) => n);
  const volume = { dims, data, affineRas: lps([0.7, 0, 0], [0, 0.8, 0], [0, 0, 2.5]) };

  test.each(['RAS', 'LAS', 'LIA', 'SPL', 'LPS'])('to %s keeps every voxel at its world position', (code) => {
    const out = reorient(volume, code);
    expect(orientationOf(out.affineRas)).toBe(code);
    expect(out.dims.slice().sort()).toEqual([...dims].sort());
    const [nx, ny] = out.dims;
    for (let n = 0; n < out.data.length; n++) {
      const ijk = [n % nx, Math.floor(n / nx) % ny, Math.floor(n / (nx * ny))];
      const world = transformPoint(out.affineRas, ijk);
      // The value is the source index, so the source voxel's world position must be the same point.
      const v = out.data[n];
      const source = transformPoint(volume.affineRas, [v % 4, Math.floor(v / 4) % 3, Math.floor(v / 12)]);
      world.forEach((x, a) => expect(x).toBeCloseTo(source[a], 9));
    }
  });

  test('a round trip restores data and affine exactly', () => {
    const back = reorient(reorient(volume, 'SAR'), 'LPS');
    expect(Array.from(back.data)).toEqual(Array.from(data));
    expect(maxAbsDifference(back.affineRas, volume.affineRas)).toBe(0);
  });
});
