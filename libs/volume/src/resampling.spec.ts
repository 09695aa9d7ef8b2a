// Resampling and conform: identity, known shifts and flips, niivue's conform grid, and the round trip a model's
// label map takes (native -> conformed 256^3 -> native) without moving.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { affineFromColumns, invertAffine, maxAbsDifference, multiply, transformPoint, type Mat4 } from './affine';
import { niftiVolume, readNifti } from './nifti';
import { orientationOf, reorient } from './orientation';
import { conformedGrid, conformTo, exactVoxelMapping, resampleToGrid, resizedGrid, resizeTo, toNativePixels, unconform } from './resampling';
import type { Volume } from './voxel-data';

const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../shared/data');

/** A small volume whose voxel values encode their index, on an oblique, anisotropic grid. */
function indexed(dims: [number, number, number] = [6, 5, 4]): Volume {
  const [nx, ny, nz] = dims;
  const data = new Int16Array(nx * ny * nz);
  for (let n = 0; n < data.length; n++) data[n] = n + 1;
  const c = Math.cos(0.4);
  const s = Math.sin(0.4);
  return { dims, data, affineRas: affineFromColumns([c * 0.8, s * 0.8, 0], [-s * 0.9, c * 0.9, 0], [0, 0, 2.5], [-20, 13, 40]) };
}

/** The affine of the same grid with voxel (i, j, k) moved to (i + di, j + dj, k + dk). */
const shifted = (affine: Mat4, [di, dj, dk]: readonly number[]): Mat4 => multiply(affine, affineFromColumns([1, 0, 0], [0, 1, 0], [0, 0, 1], [di, dj, dk]));

describe('resampleToGrid', () => {
  test.each(['nearest', 'linear'] as const)('identity returns the input (%s)', (interpolation) => {
    const v = indexed();
    const out = resampleToGrid(v, v, interpolation);
    expect(Array.from(out.data)).toEqual(Array.from(v.data));
    expect(out.data).toBeInstanceOf(interpolation === 'nearest' ? Int16Array : Float32Array);
  });

  test.each([
    // name, interpolation, target voxel offset in source voxels
    ['+2 voxels along i', 'nearest', [2, 0, 0]],
    ['+2 voxels along i', 'linear', [2, 0, 0]],
    ['-1 slice, +1 row', 'nearest', [0, 1, -1]],
    ['-1 slice, +1 row', 'linear', [0, 1, -1]],
  ] as const)('a shift of %s (%s) reads the shifted voxels and fills outside', (_name, interpolation, offset) => {
    const v = indexed();
    const [nx, ny, nz] = v.dims;
    const out = resampleToGrid(v, { dims: v.dims, affineRas: shifted(v.affineRas, offset) }, interpolation, { fill: -1 });
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const [si, sj, sk] = [i + offset[0], j + offset[1], k + offset[2]];
          const inside = si >= 0 && si < nx && sj >= 0 && sj < ny && sk >= 0 && sk < nz;
          expect(out.data[i + nx * (j + ny * k)]).toBe(inside ? v.data[si + nx * (sj + ny * sk)] : -1);
        }
      }
    }
  });

  test('a fraction of a voxel interpolates linearly and rounds for nearest', () => {
    const v = indexed();
    const half = { dims: v.dims, affineRas: shifted(v.affineRas, [0.5, 0, 0]) };
    const linear = resampleToGrid(v, half, 'linear');
    expect(linear.data[0]).toBeCloseTo(1.5, 5); // between voxels valued 1 and 2
    expect(linear.data[5]).toBeCloseTo(6, 5); // the last column reads its own edge value, half a voxel out
    const most = { dims: v.dims, affineRas: shifted(v.affineRas, [0.6, 0, 0]) };
    expect(resampleToGrid(v, most, 'nearest').data[0]).toBe(2);
    expect(resampleToGrid(v, most, 'nearest', { fill: -7 }).data[5]).toBe(-7); // 0.6 voxel beyond the edge
  });

  test('a flipped grid gives the flipped voxels, as reorient() does exactly', () => {
    const v = indexed();
    const [nx] = v.dims;
    const flipI = affineFromColumns([-1, 0, 0], [0, 1, 0], [0, 0, 1], [nx - 1, 0, 0]);
    const target = { dims: v.dims, affineRas: multiply(v.affineRas, flipI) };
    const out = resampleToGrid(v, target, 'nearest');
    expect(out.data[0]).toBe(v.data[nx - 1]);
    const code = orientationOf(target.affineRas);
    const exact = reorient(v, code);
    expect(Array.from(out.data)).toEqual(Array.from(exact.data));
    expect(maxAbsDifference(exact.affineRas, target.affineRas)).toBeLessThan(1e-12);
  });
});

describe('exact voxel mappings (the copy fast path)', () => {
  const id = affineFromColumns([1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]);
  test.each([
    ['identity', true, id],
    ['whole-voxel shift', true, affineFromColumns([1, 0, 0], [0, 1, 0], [0, 0, 1], [3, -2, 1])],
    ['axes swapped and flipped', true, affineFromColumns([0, 1, 0], [-1, 0, 0], [0, 0, -1], [4, 0, 3])],
    ['half-voxel shift', false, affineFromColumns([1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0, 0])],
    ['different spacing', false, affineFromColumns([2, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0])],
    ['a rotation', false, affineFromColumns([Math.cos(0.1), Math.sin(0.1), 0], [-Math.sin(0.1), Math.cos(0.1), 0], [0, 0, 1], [0, 0, 0])],
  ] as const)('%s: exact %s', (_name, exact, m) => {
    expect(exactVoxelMapping(m as Mat4) !== null).toBe(exact);
  });

  test.each([
    ['a swap of i and j with a flip of k and a shift', [0, 1, 0], [1, 0, 0], [0, 0, -1], [0, 1, 3]],
    ['a flip of every axis', [-1, 0, 0], [0, -1, 0], [0, 0, -1], [5, 4, 3]],
  ] as const)('%s reads the same voxels as the interpolating path', (_name, c0, c1, c2, offset) => {
    const v = indexed();
    const target = { dims: [5, 6, 4] as [number, number, number], affineRas: multiply(v.affineRas, affineFromColumns([...c0], [...c1], [...c2], [...offset])) };
    // A thousandth of a voxel off the exact mapping takes the general path; nearest then reads the same voxels.
    const nudged = { dims: target.dims, affineRas: multiply(target.affineRas, affineFromColumns([1, 0, 0], [0, 1, 0], [0, 0, 1], [1e-3, 1e-3, 1e-3])) };
    for (const interpolation of ['nearest', 'linear'] as const) {
      const fast = resampleToGrid(v, target, interpolation, { fill: -1 });
      const general = resampleToGrid(v, nudged, 'nearest', { fill: -1 });
      expect(Array.from(fast.data)).toEqual(Array.from(general.data));
      expect(fast.data).toBeInstanceOf(interpolation === 'nearest' ? Int16Array : Float32Array);
    }
  });
});

describe('conform', () => {
  test("the grid follows niivue's conformVox2Vox: LIA, 1 mm, centres matched at dims/2", () => {
    const v = indexed([100, 80, 30]);
    const grid = conformedGrid(v);
    expect(grid.dims).toEqual([256, 256, 256]);
    expect(orientationOf(grid.affineRas)).toBe('LIA');
    const centre = transformPoint(v.affineRas, [50, 40, 15]);
    transformPoint(grid.affineRas, [128, 128, 128]).forEach((x, a) => expect(x).toBeCloseTo(centre[a], 9));
    expect(orientationOf(conformedGrid(v, { orientation: 'RAS', dims: [64, 64, 64], spacing: [2, 2, 2] }).affineRas)).toBe('RAS');
  });

  test('an already conformed volume (the T1 of the MeshNet demo) conforms to itself', () => {
    const t1 = niftiVolume(readNifti(fs.readFileSync(path.join(DATA, 'nifti/t1-brain-256.nii.gz'))));
    const grid = conformedGrid(t1);
    expect(maxAbsDifference(grid.affineRas, t1.affineRas)).toBeLessThan(1e-4);
  });

  test('native -> conform (labels, nearest) -> native keeps a label blob in place (Dice > 0.95)', () => {
    // An oblique, anisotropic "scanner" grid with a 20 mm sphere labelled 3 off-centre.
    const c = Math.cos(0.35);
    const s = Math.sin(0.35);
    const native: Volume = {
      dims: [120, 100, 40],
      data: new Uint8Array(120 * 100 * 40),
      affineRas: affineFromColumns([-c * 0.9, 0, s * 0.9], [0, -0.9, 0], [s * 2.5, 0, c * 2.5], [60, 50, -40]),
    };
    const centre = transformPoint(native.affineRas, [70, 45, 22]);
    const [nx, ny, nz] = native.dims;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const p = transformPoint(native.affineRas, [i, j, k]);
          if (Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]) <= 20) native.data[i + nx * (j + ny * k)] = 3;
        }
      }
    }
    const conformed = conformTo(native, native, { interpolation: 'nearest' });
    expect(conformed.dims).toEqual([256, 256, 256]);
    expect(conformed.orientation).toBe('LIA');
    expect(conformed.data).toBeInstanceOf(Uint8Array);
    expect(conformed.data.every((v) => v === 0 || v === 3)).toBe(true);

    // The blob's centroid in the conformed grid is where it was in the world (within a voxel).
    let sum = [0, 0, 0];
    let count = 0;
    conformed.data.forEach((v, n) => {
      if (v !== 3) return;
      const p = transformPoint(conformed.affineRas, [n % 256, Math.floor(n / 256) % 256, Math.floor(n / 65536)]);
      sum = sum.map((x, a) => x + p[a]);
      count++;
    });
    sum.map((x) => x / count).forEach((x, a) => expect(Math.abs(x - centre[a])).toBeLessThan(1));

    const back = unconform(conformed.data, conformed);
    expect(back.dims).toEqual(native.dims);
    expect(maxAbsDifference(back.affineRas, native.affineRas)).toBe(0);
    let both = 0;
    let a = 0;
    let b = 0;
    for (let n = 0; n < native.data.length; n++) {
      if (native.data[n] === 3) a++;
      if (back.data[n] === 3) b++;
      if (native.data[n] === 3 && back.data[n] === 3) both++;
    }
    expect((2 * both) / (a + b)).toBeGreaterThan(0.95);
  });

  test('images conform with trilinear interpolation into float32', () => {
    const v = indexed([20, 20, 10]);
    const out = conformTo(v, v, { dims: [32, 32, 32] });
    expect(out.data).toBeInstanceOf(Float32Array);
    // A conformed voxel whose centre falls on a native voxel centre has that voxel's value.
    const toNative = multiply(invertAffine(v.affineRas), out.affineRas);
    expect(Math.max(...out.data)).toBeLessThanOrEqual(Math.max(...v.data));
    expect(toNative[3]).toEqual([0, 0, 0, 1]);
  });

  test('a wrong orientation code is refused with a reason', () => {
    expect(() => conformedGrid(indexed(), { orientation: 'LRA' })).toThrow(/names the same direction twice/);
    expect(() => conformedGrid(indexed(), { orientation: 'XYZ' })).toThrow(/not an orientation letter/);
  });
});

describe('resizedGrid / resizeTo (orientation native)', () => {
  const image = (dims: [number, number, number], spacing: [number, number, number], values: number[]) => ({
    dims,
    affineRas: [
      [-spacing[0], 0, 0, 10],
      [0, 0, spacing[2], -5],
      [0, -spacing[1], 0, 30],
      [0, 0, 0, 1],
    ],
    data: Float32Array.from(values),
  });

  it.each<[string, ReturnType<typeof image>, { dims?: [number, number, number]; spacing?: [number, number, number] }, [number, number, number], [number, number, number], number[]]>([
    ['halves a 4x2 image', image([4, 2, 1], [0.5, 0.5, 3], [0, 1, 2, 3, 4, 5, 6, 7]), { dims: [2, 1, 1] }, [2, 1, 1], [1, 1, 3], [2.5, 4.5]],
    ['doubles a 2x1 image (edges take the edge pixel)', image([2, 1, 1], [1, 1, 1], [0, 4]), { dims: [4, 1, 1] }, [4, 1, 1], [0.5, 1, 1], [0, 1, 3, 4]],
    ['to a spacing: dims from the field of view', image([4, 2, 1], [0.5, 0.5, 3], [0, 1, 2, 3, 4, 5, 6, 7]), { spacing: [1, 1, 3] }, [2, 1, 1], [1, 1, 3], [2.5, 4.5]],
  ])('%s', (_name, source, options, dims, spacing, values) => {
    const grid = resizedGrid(source, options);
    expect(grid.dims).toEqual(dims);
    grid.spacing.forEach((s, k) => expect(s).toBeCloseTo(spacing[k], 10));
    // The axes stay the source's: same orientation code, columns parallel.
    expect(orientationOf(grid.affineRas)).toBe(orientationOf(source.affineRas));
    const resized = resizeTo(source, source, options);
    expect(Array.from(resized.data as Float32Array).map((v) => Math.round(v * 1000) / 1000)).toEqual(values);
  });

  it('maps pixel coordinates of the resized image back to the source image', () => {
    const source = image([4, 2, 1], [0.5, 0.5, 3], [0, 1, 2, 3, 4, 5, 6, 7]);
    const toNative = toNativePixels(resizeTo(source, source, { dims: [2, 1, 1] }));
    // The whole 2x1 resized image is the whole 4x2 source; its pixel (1, 0) is source pixels 2..4 x 0..2.
    expect(toNative([0, 0, 0]).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0, 0, 0]);
    expect(toNative([2, 1, 1]).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([4, 2, 1]);
    expect(toNative([1, 0, 0]).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([2, 0, 0]);
  });
});
