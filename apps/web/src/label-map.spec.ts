// The drawing-bitmap <-> file voxel order mapping, with the reorientations NiiVue applies (axis flips and
// permutations), and the wire format of masks (zlib + base64) against Node's own zlib.
import { deflateSync, inflateSync } from 'node:zlib';
import { applyAffine, drawingToNative, encodeMask, fromBase64, inflateLabelMap, invertAffine, nativeIndexOfRas, nativeToDrawing, nativeXyz, placeZ, rasToLps, RasMapping, sliceZ, toBase64 } from './label-map';

/** The mapping NiiVue computes (img2RASstep / img2RASstart) for a permutation `perm` (1-based, negative = flipped). */
function niivueMapping(dims: [number, number, number], perm: [number, number, number]): RasMapping {
  const inStep = [1, dims[0], dims[0] * dims[1]];
  const aperm = perm.map(Math.abs);
  const dimsRAS = aperm.map((a) => dims[a - 1]) as [number, number, number];
  const step = aperm.map((a) => inStep[a - 1]);
  const start = [0, 0, 0];
  for (let p = 0; p < 3; p++) {
    if (perm[p] < 0) {
      start[p] = step[p] * (dimsRAS[p] - 1);
      step[p] = -step[p];
    }
  }
  return { dims, dimsRAS, step: step as [number, number, number], start: start as [number, number, number] };
}

describe('drawing bitmap <-> file voxel order', () => {
  const dims: [number, number, number] = [5, 4, 3];
  const n = dims[0] * dims[1] * dims[2];
  const native = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 251);

  it.each([
    ['identity (file already RAS)', [1, 2, 3]],
    ['DICOM axial: x and y flipped (LPS file)', [-1, -2, 3]],
    ['all three flipped', [-1, -2, -3]],
    ['permuted axes (sagittal acquisition)', [2, 3, 1]],
    ['permuted and flipped', [-3, 1, -2]],
  ] as [string, [number, number, number]][])('%s: round trip is exact and voxels keep their (x, y, z)', (_, perm) => {
    const m = niivueMapping(dims, perm);
    const ras = nativeToDrawing(native, m);
    expect(drawingToNative(ras, m)).toEqual(native);
    // Every RAS voxel reads the file voxel NiiVue's own formula names.
    for (let i = 0; i < n; i++) expect(ras[i]).toBe(native[nativeIndexOfRas(m, i)]);
    // A voxel painted at RAS position (rx, ry, rz) lands on that one file voxel.
    const [rx, ry, rz] = [1, 2, 1].map((v, i) => Math.min(v, m.dimsRAS[i] - 1));
    const bitmap = new Uint8Array(n);
    bitmap[rx + m.dimsRAS[0] * (ry + m.dimsRAS[1] * rz)] = 9;
    const painted = drawingToNative(bitmap, m);
    const nativeIndex = m.start[0] + rx * m.step[0] + m.start[1] + ry * m.step[1] + m.start[2] + rz * m.step[2];
    expect([...painted.keys()].filter((i) => painted[i])).toEqual([nativeIndex]);
  });

  it('flipped x and y: RAS voxel (0, 0, z) is the file voxel (nx-1, ny-1, z)', () => {
    const m = niivueMapping(dims, [-1, -2, 3]);
    expect(nativeXyz(nativeIndexOfRas(m, 0), dims)).toEqual([4, 3, 0]);
    expect(nativeXyz(nativeIndexOfRas(m, dims[0] * dims[1] * 2 + 1), dims)).toEqual([3, 3, 2]);
  });
});

describe('mask wire format', () => {
  it('deflates as zlib that Node inflates, and inflates what Node deflates', () => {
    const map = Uint8Array.from({ length: 4096 }, (_, i) => (i % 97 < 10 ? 3 : 0));
    const b64 = encodeMask(map);
    expect(new Uint8Array(inflateSync(Buffer.from(b64, 'base64')))).toEqual(map);
    expect(inflateLabelMap(new Uint8Array(deflateSync(map)), map.length)).toEqual(map);
    expect(() => inflateLabelMap(new Uint8Array(deflateSync(map)), 10)).toThrow();
  });

  it('base64 round trip of large buffers', () => {
    const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 31) & 255);
    expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
  });

  it('cuts and places a z slab (frame tasks inside a longer series)', () => {
    const d = [2, 2, 4];
    const vol = Uint8Array.from({ length: 16 }, (_, i) => i);
    const slab = sliceZ(vol, d, 1, 2);
    expect([...slab]).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect([...placeZ(slab, d, 1)]).toEqual([0, 0, 0, 0, 4, 5, 6, 7, 8, 9, 10, 11, 0, 0, 0, 0]);
  });
});

describe('affine helpers', () => {
  it('inverts an affine and turns RAS into LPS', () => {
    const ras = [
      [-2.7, 0, 0, 171.45],
      [0, -2.7, 0, 171.45],
      [0, 0, 5, -35],
      [0, 0, 0, 1],
    ];
    const mm = applyAffine(ras, [10, 20, 3]);
    const back = applyAffine(invertAffine(ras), mm);
    back.forEach((v, i) => expect(v).toBeCloseTo([10, 20, 3][i], 9));
    expect(rasToLps(mm)).toEqual([-mm[0], -mm[1], mm[2]]);
  });
});
