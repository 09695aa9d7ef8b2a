// NIfTI-1 reading (through nifti-reader-js) and writing (by hand: the JS NIfTI writers we found either drop the
// qform or get the quaternion wrong, and the header is a fixed 348-byte struct). Written files are single-file
// ".nii" (magic "n+1", vox_offset 352, no extensions), little-endian, optionally gzipped, with sform and qform
// both set from the affine (codes 2 "aligned": the affine comes from the scanner geometry) and mm units.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import { createGzip, gunzipSync, gzipSync, type ZlibOptions } from 'node:zlib';
import { affineFromColumns, column, determinant3, norm, type Mat4 } from './affine';
import { voxelCount, type Volume, type VoxelArray } from './voxel-data';

/** The subset of nifti-reader-js used here (its own .d.ts cannot be imported: the package is ESM-only). */
interface NiftiReaderModule {
  isNIFTI1(data: ArrayBuffer): boolean;
  isNIFTI2(data: ArrayBuffer): boolean;
  readHeader(data: ArrayBuffer): NiftiReaderHeader | null;
  readImage(header: NiftiReaderHeader, data: ArrayBuffer): ArrayBuffer;
}
interface NiftiReaderHeader {
  littleEndian: boolean;
  dims: number[];
  pixDims: number[];
  datatypeCode: number;
  numBitsPerVoxel: number;
  scl_slope: number;
  scl_inter: number;
  qform_code: number;
  sform_code: number;
  description: string;
  intent_code: number;
  intent_name: string;
  vox_offset: number;
}

let niftiReader: NiftiReaderModule | undefined;

/**
 * Loads nifti-reader-js. The package is ESM-only and its exports map has only an "import" condition, so
 * `require('nifti-reader-js')` fails in our CommonJS build. Node >= 20.19 can require() an ES module file by
 * absolute path, so we locate dist/nifti.js along the normal module search paths and require that file. Test
 * runners that replace require() with their own loader (Jest) refuse ES modules; there we hand the same file to
 * Node's own loader (Module._load), which is what a plain require() would have done.
 */
function loadNiftiReader(): NiftiReaderModule {
  if (niftiReader) return niftiReader;
  const searchPaths = require.resolve.paths('nifti-reader-js') ?? [];
  const dir = searchPaths.find((p) => fs.existsSync(path.join(p, 'nifti-reader-js', 'dist', 'nifti.js')));
  if (!dir) throw new Error('nifti-reader-js is not installed (no node_modules/nifti-reader-js/dist/nifti.js on the module search path): run npm install');
  const file = path.join(dir, 'nifti-reader-js', 'dist', 'nifti.js');
  try {
    niftiReader = require(file) as NiftiReaderModule;
  } catch (e) {
    const nodeModule = require('node:module') as { _load?: (request: string, parent: unknown, isMain: boolean) => unknown };
    if (typeof nodeModule._load !== 'function') throw e;
    niftiReader = nodeModule._load(file, null, false) as NiftiReaderModule;
  }
  return niftiReader;
}

export const NIFTI_DATATYPE = {
  UINT8: 2,
  INT16: 4,
  INT32: 8,
  FLOAT32: 16,
  FLOAT64: 64,
  RGB24: 128,
  INT8: 256,
  UINT16: 512,
  UINT32: 768,
} as const;

/** NIFTI_INTENT_LABEL: voxel values are label indices (segmentations). */
export const NIFTI_INTENT_LABEL = 1002;

export interface NiftiImage {
  /** dim[1..dim[0]]: [nx, ny, nz, ...]. */
  dims: number[];
  /** pixdim[1..dim[0]]: voxel sizes (mm for the spatial ones). */
  pixdim: number[];
  /** pixdim[0]: -1 when the qform's third axis is flipped. */
  qfac: number;
  datatype: number;
  /** Voxel index to RAS mm: the sform when sform_code > 0, else the qform, else a pixdim scaling. */
  affine: Mat4;
  sformCode: number;
  qformCode: number;
  /** Stored values in file order (i fastest), as the datatype's typed array (RGB24 as interleaved bytes). */
  data: VoxelArray;
  /** Real value = stored * sclSlope + sclInter when sclSlope is non-zero and finite (NIfTI convention). */
  sclSlope: number;
  sclInter: number;
  description: string;
  intentCode: number;
  intentName: string;
}

function typedArrayFor(datatype: number, v: Uint8Array): VoxelArray {
  const [b, o] = [v.buffer, v.byteOffset];
  switch (datatype) {
    case NIFTI_DATATYPE.UINT8:
    case NIFTI_DATATYPE.RGB24:
      return v;
    case NIFTI_DATATYPE.INT8:
      return new Int8Array(b, o, v.byteLength);
    case NIFTI_DATATYPE.INT16:
      return new Int16Array(b, o, v.byteLength / 2);
    case NIFTI_DATATYPE.UINT16:
      return new Uint16Array(b, o, v.byteLength / 2);
    case NIFTI_DATATYPE.INT32:
      return new Int32Array(b, o, v.byteLength / 4);
    case NIFTI_DATATYPE.UINT32:
      return new Uint32Array(b, o, v.byteLength / 4);
    case NIFTI_DATATYPE.FLOAT32:
      return new Float32Array(b, o, v.byteLength / 4);
    case NIFTI_DATATYPE.FLOAT64:
      return new Float64Array(b, o, v.byteLength / 8);
    default:
      throw new Error(`NIfTI datatype ${datatype} (e.g. complex, 64-bit integer or RGBA) is not supported: convert the image to an integer or float32 type first`);
  }
}

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width < 2) return;
  for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/**
 * Gunzip in one output chunk of the size the gzip trailer states (ISIZE: the size mod 2^32 of a single-member
 * file), so zlib writes straight into the result instead of 16 KB chunks joined by a full copy at the end. The
 * chunk is capped by deflate's largest ratio (~1032:1), so a damaged trailer cannot ask for more than the data
 * could hold; a wrong size only costs the chunking it would have saved.
 */
function gunzipOptions(gz: Buffer): ZlibOptions {
  if (gz.length < 18) return {};
  const isize = gz.readUInt32LE(gz.length - 4);
  return { chunkSize: Math.max(64, Math.min(isize + 1, gz.length * 1032 + 1024, 2 ** 31 - 1)) };
}

/** Reads a NIfTI-1 (.nii or .nii.gz) file. */
export function readNifti(file: Buffer | Uint8Array): NiftiImage {
  const reader = loadNiftiReader();
  let bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  // Voxels can be a view of the decompressed bytes (ours); those of an uncompressed file are copied (the caller's).
  let owned = false;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, gunzipOptions(bytes));
      owned = true;
    } catch (e) {
      throw new Error(`The NIfTI file is gzip-compressed but cannot be decompressed (${(e as Error).message}): the file is truncated or damaged`);
    }
  }
  const buffer = (bytes.byteOffset === 0 ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) as ArrayBuffer;
  if (!reader.isNIFTI1(buffer)) {
    throw new Error(reader.isNIFTI2(buffer) ? 'The file is NIfTI-2, which is not supported yet: save it as NIfTI-1' : 'The file is not NIfTI-1 (no "n+1" magic at byte 344): check that it is a .nii or .nii.gz image');
  }
  const header = reader.readHeader(buffer);
  if (!header) throw new Error('The NIfTI header could not be read: the file is damaged');
  const ndim = Math.max(1, Math.min(7, header.dims[0]));
  const dims = header.dims.slice(1, 1 + ndim);
  const bytesPerVoxel = header.numBitsPerVoxel / 8;
  const expected = voxelCount(dims) * bytesPerVoxel;
  const offset = header.vox_offset;
  const held = Math.max(0, bytes.byteLength - offset);
  if (held < expected) {
    throw new Error(`The NIfTI image holds ${held} bytes of voxels but its header (dims ${dims.join('x')}, ${header.numBitsPerVoxel} bits) needs ${expected}: the file is truncated`);
  }
  // A view of the decompressed file when it is aligned for the typed array (vox_offset 352 is): no copy of a
  // volume that can be hundreds of MB. Otherwise a copy, aligned and independent of the caller's file buffer.
  const align = Math.max(1, Math.min(8, bytesPerVoxel));
  let voxels: Uint8Array;
  if (owned && offset % align === 0 && Number.isInteger(bytesPerVoxel)) voxels = new Uint8Array(buffer, offset, expected);
  else {
    voxels = new Uint8Array(expected);
    voxels.set(new Uint8Array(buffer, offset, expected));
  }
  if (!header.littleEndian && header.datatypeCode !== NIFTI_DATATYPE.RGB24) swapBytes(voxels, bytesPerVoxel);

  // Both transforms straight from the header fields: the sform whenever it is set, as the NIfTI standard
  // recommends (nifti-reader-js prefers a qform with a higher code, and its qform turns NaN when the stored
  // quaternion rounds slightly above unit length).
  const view = new DataView(buffer);
  const f32 = (offset: number) => view.getFloat32(offset, header.littleEndian);
  let affine: Mat4;
  if (header.sform_code > 0) {
    affine = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f32(280 + 16 * r + 4 * c)));
    affine.push([0, 0, 0, 1]);
  } else if (header.qform_code > 0) {
    affine = qformAffine(f32(256), f32(260), f32(264), header.pixDims[0], header.pixDims.slice(1, 4), [f32(268), f32(272), f32(276)]);
  } else {
    affine = affineFromColumns([header.pixDims[1] || 1, 0, 0], [0, header.pixDims[2] || 1, 0], [0, 0, header.pixDims[3] || 1], [0, 0, 0]);
  }
  return {
    dims,
    pixdim: header.pixDims.slice(1, 1 + ndim),
    qfac: header.pixDims[0] < 0 ? -1 : 1,
    datatype: header.datatypeCode,
    affine,
    sformCode: header.sform_code,
    qformCode: header.qform_code,
    data: typedArrayFor(header.datatypeCode, voxels),
    sclSlope: header.scl_slope,
    sclInter: header.scl_inter,
    description: header.description ?? '',
    intentCode: header.intent_code,
    intentName: header.intent_name ?? '',
  };
}

/** The first 3D volume of a NIfTI image, as a Volume (affine = the image's RAS affine). */
export function niftiVolume(image: NiftiImage): Volume {
  const [nx = 1, ny = 1, nz = 1] = image.dims;
  const n = nx * ny * nz * (image.datatype === NIFTI_DATATYPE.RGB24 ? 3 : 1);
  return { dims: [nx, ny, nz], data: image.data.subarray(0, n), affineRas: image.affine };
}

export interface NiftiWriteInput {
  /** [nx, ny, nz] or more (4th = time or components). */
  dims: number[];
  /** Voxel sizes written to pixdim[1..3]; defaults to the affine's column lengths. */
  spacing?: number[];
  /** Voxel index to RAS mm. */
  affineRas: Mat4;
  data: VoxelArray;
  /** Up to 79 characters, stored in descrip. */
  description?: string;
  /** e.g. { code: NIFTI_INTENT_LABEL, name: 'labels' } for a segmentation. */
  intent?: { code: number; name?: string };
  sclSlope?: number;
  sclInter?: number;
  gzip?: boolean;
  /** zlib level when gzip is set (default 6). Level 1 is ~3x faster for ~10-20 % larger CT volumes. */
  gzipLevel?: number;
}

const DATATYPE_BY_ARRAY: Record<string, { code: number; bits: number }> = {
  Uint8Array: { code: NIFTI_DATATYPE.UINT8, bits: 8 },
  Int8Array: { code: NIFTI_DATATYPE.INT8, bits: 8 },
  Int16Array: { code: NIFTI_DATATYPE.INT16, bits: 16 },
  Uint16Array: { code: NIFTI_DATATYPE.UINT16, bits: 16 },
  Int32Array: { code: NIFTI_DATATYPE.INT32, bits: 32 },
  Uint32Array: { code: NIFTI_DATATYPE.UINT32, bits: 32 },
  Float32Array: { code: NIFTI_DATATYPE.FLOAT32, bits: 32 },
  Float64Array: { code: NIFTI_DATATYPE.FLOAT64, bits: 64 },
};

function datatypeOf(data: VoxelArray): { code: number; bits: number } {
  // By tag rather than instanceof, so arrays from another realm (a Buffer under Jest, a worker) still qualify.
  const kind = Object.prototype.toString.call(data).slice(8, -1);
  const found = DATATYPE_BY_ARRAY[kind];
  if (!found) throw new Error(`NIfTI data must be a typed array (Uint8/Int8/Int16/Uint16/Int32/Uint32/Float32/Float64), not ${kind}`);
  return found;
}

/** Nearest rotation to a 3x3 matrix (polar decomposition by Newton iteration), as nifti_mat33_polar does. */
function nearestRotation(m: number[][]): number[][] {
  let x = m.map((r) => [...r]);
  for (let it = 0; it < 100; it++) {
    const d =
      x[0][0] * (x[1][1] * x[2][2] - x[1][2] * x[2][1]) - x[0][1] * (x[1][0] * x[2][2] - x[1][2] * x[2][0]) + x[0][2] * (x[1][0] * x[2][1] - x[1][1] * x[2][0]);
    // Inverse transpose via the cofactor matrix: (X^-1)^T = cof(X) / det(X).
    const cof = [
      [x[1][1] * x[2][2] - x[1][2] * x[2][1], x[1][2] * x[2][0] - x[1][0] * x[2][2], x[1][0] * x[2][1] - x[1][1] * x[2][0]],
      [x[0][2] * x[2][1] - x[0][1] * x[2][2], x[0][0] * x[2][2] - x[0][2] * x[2][0], x[0][1] * x[2][0] - x[0][0] * x[2][1]],
      [x[0][1] * x[1][2] - x[0][2] * x[1][1], x[0][2] * x[1][0] - x[0][0] * x[1][2], x[0][0] * x[1][1] - x[0][1] * x[1][0]],
    ];
    let change = 0;
    const next = x.map((r, i) => r.map((v, j) => 0.5 * (v + cof[i][j] / d)));
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) change = Math.max(change, Math.abs(next[i][j] - x[i][j]));
    x = next;
    if (change < 1e-12) break;
  }
  return x;
}

/** The NIfTI quaternion (b, c, d), offsets and qfac of an affine (nifti_mat44_to_quatern). */
export function affineToQuaternion(affine: Mat4): { b: number; c: number; d: number; qfac: number; offset: [number, number, number]; pixdim: [number, number, number] } {
  const sizes = [0, 1, 2].map((c) => norm(column(affine, c)) || 1) as [number, number, number];
  const cols = [0, 1, 2].map((c) => column(affine, c).map((v) => v / sizes[c]));
  let r = [0, 1, 2].map((i) => [cols[0][i], cols[1][i], cols[2][i]]);
  r = nearestRotation(r);
  let qfac = 1;
  const det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
  if (det < 0) {
    qfac = -1;
    for (let i = 0; i < 3; i++) r[i][2] = -r[i][2];
  }
  let a = r[0][0] + r[1][1] + r[2][2] + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r[2][1] - r[1][2])) / a;
    c = (0.25 * (r[0][2] - r[2][0])) / a;
    d = (0.25 * (r[1][0] - r[0][1])) / a;
  } else {
    const xd = 1 + r[0][0] - (r[1][1] + r[2][2]);
    const yd = 1 + r[1][1] - (r[0][0] + r[2][2]);
    const zd = 1 + r[2][2] - (r[0][0] + r[1][1]);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r[0][1] + r[1][0])) / b;
      d = (0.25 * (r[0][2] + r[2][0])) / b;
      a = (0.25 * (r[2][1] - r[1][2])) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r[0][1] + r[1][0])) / c;
      d = (0.25 * (r[1][2] + r[2][1])) / c;
      a = (0.25 * (r[0][2] - r[2][0])) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r[0][2] + r[2][0])) / d;
      c = (0.25 * (r[1][2] + r[2][1])) / d;
      a = (0.25 * (r[1][0] - r[0][1])) / d;
    }
    if (a < 0) {
      a = -a;
      b = -b;
      c = -c;
      d = -d;
    }
  }
  if (a < 1e-6) [b, c, d] = unitInFloat32(b, c, d);
  return { b, c, d, qfac, offset: [affine[0][3], affine[1][3], affine[2][3]], pixdim: sizes };
}

/**
 * Half-turn rotations (flips such as LIA) have a = 0, which readers recompute as sqrt(1 - b² - c² - d²) from
 * the float32 values: rounded down, that gives a ≈ 2e-4 and tilts the qform by as much. Nudge the float32
 * components until their squares sum to at least 1, so every reader (which clamps at 0) recovers a = 0.
 */
function unitInFloat32(b: number, c: number, d: number): [number, number, number] {
  const n = Math.hypot(b, c, d);
  const v = [b / n, c / n, d / n].map(Math.fround);
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  for (let guard = 0; guard < 16 && v[0] * v[0] + v[1] * v[1] + v[2] * v[2] < 1; guard++) {
    const largest = [0, 1, 2].reduce((m, i) => (Math.abs(v[i]) > Math.abs(v[m]) ? i : m), 0);
    f32[0] = v[largest];
    bits[0] += 1; // one ulp away from zero
    v[largest] = f32[0];
  }
  return [v[0], v[1], v[2]];
}

/** The qform affine from the raw quaternion fields, with a clamped at 0 (some writers round b² + c² + d² above 1). */
function qformAffine(b: number, c: number, d: number, qfac: number, pixdim: number[], offset: number[]): Mat4 {
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const scale = [pixdim[0] || 1, pixdim[1] || 1, (qfac < 0 ? -1 : 1) * (pixdim[2] || 1)];
  return [...r.map((row, i) => [row[0] * scale[0], row[1] * scale[1], row[2] * scale[2], offset[i]]), [0, 0, 0, 1]];
}

/** Serialises a volume as NIfTI-1. */
export function writeNifti(input: NiftiWriteInput): Buffer {
  const file = Buffer.concat(niftiParts(input));
  return input.gzip ? gzipSync(file, { level: input.gzipLevel ?? 6 }) : file;
}

/**
 * writeNifti(..., gzip) on libuv's thread pool and without an uncompressed copy of the file: the header and the
 * voxels' own bytes stream through one gzip (a 300-slice CT: 157 MB never copied, the event loop free meanwhile).
 */
export async function writeNiftiGzip(input: Omit<NiftiWriteInput, 'gzip'>, level = 1): Promise<Buffer> {
  const [header, voxels] = niftiParts(input);
  const { gz, done } = gzipCollector(level);
  gz.write(header);
  gz.end(voxels);
  return done;
}

/** A gzip stream on libuv's thread pool and the promise of its whole output. */
function gzipCollector(level: number, highWaterMark?: number) {
  const gz = createGzip({ level, chunkSize: 1 << 20, ...(highWaterMark ? { highWaterMark } : {}) } as ZlibOptions);
  const chunks: Buffer[] = [];
  gz.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    gz.on('end', () => resolve(Buffer.concat(chunks)));
    gz.on('error', reject);
  });
  return { gz, done };
}

/**
 * A gzipped NIfTI from its slices as they come, never the whole volume in memory: the header, then each slice's
 * bytes through one gzip on libuv's thread pool. Up to `aheadBytes` wait in the gzip's queue, so whoever produces
 * the slices (decoding the next DICOM files) works while the last ones are compressed. The slices must be of the
 * type of `like` and together fill `dims`; an error from the slices stops the gzip and is thrown.
 */
export async function writeNiftiGzipFromSlices(input: Omit<NiftiWriteInput, 'gzip' | 'data'>, like: VoxelArray, slices: AsyncIterable<VoxelArray>, level = 1, aheadBytes = 16 << 20): Promise<Buffer> {
  const type = datatypeOf(like);
  const header = niftiHeader(input, type);
  const { gz, done } = gzipCollector(level, aheadBytes);
  done.catch(() => undefined); // observed below; a failing producer must not leave it unhandled
  let count = 0;
  try {
    gz.write(header);
    for await (const slice of slices) {
      if (datatypeOf(slice).code !== type.code) throw new Error(`A slice is ${Object.prototype.toString.call(slice).slice(8, -1)} where the file holds ${Object.prototype.toString.call(like).slice(8, -1)}`);
      count += slice.length;
      if (count > voxelCount(input.dims)) throw new Error(`The slices hold more than the ${voxelCount(input.dims)} values dims [${input.dims.join(', ')}] need`);
      if (!gz.write(Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength))) await once(gz, 'drain');
    }
    if (count !== voxelCount(input.dims)) throw new Error(`The slices hold ${count} values but dims [${input.dims.join(', ')}] need ${voxelCount(input.dims)}`);
  } catch (e) {
    gz.destroy();
    throw e;
  }
  gz.end();
  return done;
}

/** The NIfTI-1 file as its header (with the extension flag) and its voxels, the latter a view of `data` (no copy). */
function niftiParts(input: Omit<NiftiWriteInput, 'gzip'>): [Buffer, Buffer] {
  const { dims, data } = input;
  if (data.length !== voxelCount(dims)) {
    throw new Error(`The data holds ${data.length} values but dims [${dims.join(', ')}] need ${voxelCount(dims)}: pass matching dims and data`);
  }
  return [niftiHeader(input, datatypeOf(data)), Buffer.from(data.buffer, data.byteOffset, data.byteLength)];
}

/** The 352 bytes before the voxels: the NIfTI-1 header and an empty extension flag. */
function niftiHeader(input: Omit<NiftiWriteInput, 'gzip' | 'data'>, { code, bits }: { code: number; bits: number }): Buffer {
  const { dims, affineRas } = input;
  if (dims.length < 1 || dims.length > 7 || dims.some((d) => !Number.isInteger(d) || d < 1 || d > 32767)) {
    throw new Error(`NIfTI-1 dims must be 1 to 7 integers between 1 and 32767; got [${dims.join(', ')}]`);
  }
  if (Math.abs(determinant3(affineRas)) < 1e-12) throw new Error('The affine is singular (a zero voxel size or repeated direction): fix the geometry before writing');
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  header.write('r', 38, 'latin1'); // "regular", kept for old Analyze readers
  header.writeInt16LE(dims.length, 40);
  dims.forEach((d, i) => header.writeInt16LE(d, 42 + 2 * i));
  for (let i = dims.length; i < 7; i++) header.writeInt16LE(1, 42 + 2 * i);
  header.writeInt16LE(input.intent?.code ?? 0, 68);
  header.writeInt16LE(code, 70);
  header.writeInt16LE(bits, 72);
  const q = affineToQuaternion(affineRas);
  const spacing = input.spacing ?? q.pixdim;
  header.writeFloatLE(q.qfac, 76);
  for (let i = 0; i < 7; i++) header.writeFloatLE(spacing[i] ?? 1, 80 + 4 * i);
  header.writeFloatLE(352, 108); // vox_offset: header + 4-byte extension flag
  header.writeFloatLE(input.sclSlope ?? 0, 112); // 0 = no scaling, per the standard
  header.writeFloatLE(input.sclInter ?? 0, 116);
  header.writeUInt8(2 | (dims.length > 3 ? 8 : 0), 123); // xyzt_units: NIFTI_UNITS_MM (+ NIFTI_UNITS_SEC for a 4th dim)
  header.write((input.description ?? '').slice(0, 79), 148, 'latin1');
  header.writeInt16LE(2, 252); // qform_code NIFTI_XFORM_ALIGNED_ANAT
  header.writeInt16LE(2, 254); // sform_code NIFTI_XFORM_ALIGNED_ANAT
  header.writeFloatLE(q.b, 256);
  header.writeFloatLE(q.c, 260);
  header.writeFloatLE(q.d, 264);
  q.offset.forEach((v, i) => header.writeFloatLE(v, 268 + 4 * i));
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) header.writeFloatLE(affineRas[r][c], 280 + 16 * r + 4 * c);
  header.write((input.intent?.name ?? '').slice(0, 15), 328, 'latin1');
  header.write('n+1\0', 344, 'latin1');
  // Bytes 348..351: extension flag, all zero (no extensions).
  return header;
}

/** Shorthand: write a Volume (3D) with its RAS affine. */
export function volumeToNifti(volume: Volume, options: Omit<NiftiWriteInput, 'dims' | 'affineRas' | 'data'> = {}): Buffer {
  return writeNifti({ ...options, dims: [...volume.dims], affineRas: volume.affineRas, data: volume.data });
}
