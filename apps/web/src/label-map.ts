// Label maps in the browser: Contour's wire format (one byte per voxel, x fastest, zlib-deflated, base64 in
// JSON) and the mapping between the file's voxel order and NiiVue's drawing bitmap.
//
// NiiVue reorients every volume to RAS for display and keeps its drawing bitmap in that reoriented order
// (dims = dimsRAS). It records how: for a RAS voxel (rx, ry, rz), the native (file) index is
//   start[0] + rx*step[0] + start[1] + ry*step[1] + start[2] + rz*step[2]
// (img2RASstart / img2RASstep; a negative step is a flipped axis, a permuted step a swapped one). This is
// the same loop NiiVue uses when it saves a drawing back to the native orientation; doing it here keeps the
// masks we submit in the file's voxel order, which is the order the server's masks use.
import { unzlibSync, zlibSync } from 'fflate';

export interface RasMapping {
  /** Native dims [nx, ny, nz] of the file. */
  dims: [number, number, number];
  /** dims of the reoriented (RAS) grid. */
  dimsRAS: [number, number, number];
  step: [number, number, number];
  start: [number, number, number];
}

export const voxelCount = (dims: readonly number[]) => dims[0] * dims[1] * dims[2];

/** The identity mapping (a file already in RAS order). */
export const identityMapping = (dims: [number, number, number]): RasMapping => ({ dims, dimsRAS: dims, step: [1, dims[0], dims[0] * dims[1]], start: [0, 0, 0] });

// The loops below walk the RAS grid row by row and step through the file's order; no per-voxel index table
// (for a 512x512x300 CT that table alone would take 300 MB).

/** The native (file) index of the RAS voxel with linear index `ras`. */
export function nativeIndexOfRas(m: RasMapping, ras: number): number {
  const [rx, ry] = m.dimsRAS;
  const z = Math.floor(ras / (rx * ry));
  const r = ras - z * rx * ry;
  const y = Math.floor(r / rx);
  const x = r - y * rx;
  return m.start[0] + x * m.step[0] + m.start[1] + y * m.step[1] + m.start[2] + z * m.step[2];
}

/** A drawing bitmap (RAS order) as a label map in the file's voxel order. */
export function drawingToNative(ras: Uint8Array, m: RasMapping): Uint8Array {
  const [rx, ry, rz] = m.dimsRAS;
  const out = new Uint8Array(rx * ry * rz);
  let i = 0;
  for (let z = 0; z < rz; z++) {
    const zi = m.start[2] + z * m.step[2];
    for (let y = 0; y < ry; y++) {
      let n = m.start[0] + m.start[1] + y * m.step[1] + zi;
      for (let x = 0; x < rx; x++, n += m.step[0]) out[n] = ras[i++];
    }
  }
  return out;
}

/** A label map in the file's voxel order as a drawing bitmap (RAS order). */
export function nativeToDrawing(native: Uint8Array, m: RasMapping, out: Uint8Array = new Uint8Array(native.length)): Uint8Array {
  const [rx, ry, rz] = m.dimsRAS;
  let i = 0;
  for (let z = 0; z < rz; z++) {
    const zi = m.start[2] + z * m.step[2];
    for (let y = 0; y < ry; y++) {
      let n = m.start[0] + m.start[1] + y * m.step[1] + zi;
      for (let x = 0; x < rx; x++, n += m.step[0]) out[i++] = native[n];
    }
  }
  return out;
}

/** Splits a native index into (x, y, z). */
export function nativeXyz(index: number, dims: readonly number[]): [number, number, number] {
  const nxy = dims[0] * dims[1];
  const z = Math.floor(index / nxy);
  const r = index - z * nxy;
  const y = Math.floor(r / dims[0]);
  return [r - y * dims[0], y, z];
}

/** The slab z0..z0+nz-1 of a volume (a task's grid can be some frames of a series). */
export function sliceZ(map: Uint8Array, dims: readonly number[], z0: number, nz: number): Uint8Array {
  const plane = dims[0] * dims[1];
  if (z0 === 0 && nz === dims[2]) return map;
  return map.slice(z0 * plane, (z0 + nz) * plane);
}

/** Places a slab into a zero volume of `dims` at z0. */
export function placeZ(slab: Uint8Array, dims: readonly number[], z0: number): Uint8Array {
  const plane = dims[0] * dims[1];
  if (z0 === 0 && slab.length === voxelCount(dims)) return slab;
  const out = new Uint8Array(voxelCount(dims));
  out.set(slab.subarray(0, Math.min(slab.length, out.length - z0 * plane)), z0 * plane);
  return out;
}

export const deflateLabelMap = (map: Uint8Array) => zlibSync(map, { level: 6 });

export function inflateLabelMap(data: Uint8Array, expected: number): Uint8Array {
  // One byte of headroom: fflate stops silently at the end of a preallocated buffer, and a mask for another
  // grid must fail rather than be cut to fit.
  const out = unzlibSync(data, { out: new Uint8Array(expected + 1) });
  if (out.length !== expected) throw new Error(`The mask has ${out.length} voxels but the image has ${expected}`);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) s += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk) as unknown as number[]);
  return btoa(s);
}

export function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The wire form of a mask: base64 of the zlib-deflated label map. */
export const encodeMask = (map: Uint8Array) => toBase64(deflateLabelMap(map));

/** Voxels per label value. */
export function labelCounts(map: Uint8Array): Map<number, number> {
  const counts = new Float64Array(256);
  for (let i = 0; i < map.length; i++) counts[map[i]]++;
  const out = new Map<number, number>();
  for (let v = 1; v < 256; v++) if (counts[v]) out.set(v, counts[v]);
  return out;
}

// ---- affine helpers (4x4 row-major, as NIfTI srow and Contour's affineRas) ------------------------------------

export type Mat4 = number[][];

export function applyAffine(m: Mat4, v: readonly number[]): [number, number, number] {
  return [0, 1, 2].map((r) => m[r][0] * v[0] + m[r][1] * v[1] + m[r][2] * v[2] + m[r][3]) as [number, number, number];
}

export function invertAffine(m: Mat4): Mat4 {
  const [a, b, c] = [m[0], m[1], m[2]];
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
  if (!det) throw new Error('The image affine is singular');
  const inv = [
    [(b[1] * c[2] - b[2] * c[1]) / det, (a[2] * c[1] - a[1] * c[2]) / det, (a[1] * b[2] - a[2] * b[1]) / det],
    [(b[2] * c[0] - b[0] * c[2]) / det, (a[0] * c[2] - a[2] * c[0]) / det, (a[2] * b[0] - a[0] * b[2]) / det],
    [(b[0] * c[1] - b[1] * c[0]) / det, (a[1] * c[0] - a[0] * c[1]) / det, (a[0] * b[1] - a[1] * b[0]) / det],
  ];
  const t = [0, 1, 2].map((r) => -(inv[r][0] * a[3] + inv[r][1] * b[3] + inv[r][2] * c[3]));
  return [[...inv[0], t[0]], [...inv[1], t[1]], [...inv[2], t[2]], [0, 0, 0, 1]];
}

/** NIfTI RAS millimetres to DICOM patient LPS millimetres (x and y change sign). */
export const rasToLps = (ras: readonly number[]): [number, number, number] => [-ras[0], -ras[1], ras[2]];
