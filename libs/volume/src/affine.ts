// 3-vector and 4x4 affine arithmetic for voxel-to-patient transforms. Kept tiny and dependency-free: the volume
// code needs a handful of operations, always in double precision (float32 gl-matrix loses sub-micron accuracy
// on 500 mm offsets, which shows up as off-by-one voxels after a round trip).

export type Vec3 = [number, number, number];

/** A 4x4 matrix as 4 rows of 4 numbers; for affines the last row is [0, 0, 0, 1]. */
export type Mat4 = number[][];

export const dot = (a: readonly number[], b: readonly number[]): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: readonly number[], b: readonly number[]): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
export const add = (a: readonly number[], b: readonly number[]): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const sub = (a: readonly number[], b: readonly number[]): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const scale = (a: readonly number[], s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const norm = (a: readonly number[]): number => Math.hypot(a[0], a[1], a[2]);
export function normalize(a: readonly number[]): Vec3 {
  const n = norm(a);
  return n > 0 ? [a[0] / n, a[1] / n, a[2] / n] : [0, 0, 0];
}

export function identity4(): Mat4 {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

/** The affine whose columns are the voxel steps along i, j, k and whose translation is the position of voxel 0. */
export function affineFromColumns(i: readonly number[], j: readonly number[], k: readonly number[], origin: readonly number[]): Mat4 {
  return [
    [i[0], j[0], k[0], origin[0]],
    [i[1], j[1], k[1], origin[1]],
    [i[2], j[2], k[2], origin[2]],
    [0, 0, 0, 1],
  ];
}

/** Column c (0..3) of the upper 3 rows: the step per voxel along axis c, or the translation for c = 3. */
export const column = (m: Mat4, c: number): Vec3 => [m[0][c], m[1][c], m[2][c]];

export function multiply(a: Mat4, b: Mat4): Mat4 {
  const out: Mat4 = [[], [], [], []];
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) out[r][c] = a[r][0] * b[0][c] + a[r][1] * b[1][c] + a[r][2] * b[2][c] + a[r][3] * b[3][c];
  }
  return out;
}

export function transformPoint(m: Mat4, p: readonly number[]): Vec3 {
  return [
    m[0][0] * p[0] + m[0][1] * p[1] + m[0][2] * p[2] + m[0][3],
    m[1][0] * p[0] + m[1][1] * p[1] + m[1][2] * p[2] + m[1][3],
    m[2][0] * p[0] + m[2][1] * p[1] + m[2][2] * p[2] + m[2][3],
  ];
}

export function determinant3(m: Mat4): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

/** Inverse of an affine (last row [0,0,0,1]); throws on a singular matrix, which means a zero voxel size. */
export function invertAffine(m: Mat4): Mat4 {
  const det = determinant3(m);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) {
    throw new Error('The affine is singular (a voxel size or direction is zero), so voxel positions cannot be inverted: check the spacing and orientation');
  }
  const [a, b, c] = [m[0], m[1], m[2]];
  const inv: number[][] = [
    [(b[1] * c[2] - b[2] * c[1]) / det, (a[2] * c[1] - a[1] * c[2]) / det, (a[1] * b[2] - a[2] * b[1]) / det],
    [(b[2] * c[0] - b[0] * c[2]) / det, (a[0] * c[2] - a[2] * c[0]) / det, (a[2] * b[0] - a[0] * b[2]) / det],
    [(b[0] * c[1] - b[1] * c[0]) / det, (a[1] * c[0] - a[0] * c[1]) / det, (a[0] * b[1] - a[1] * b[0]) / det],
  ];
  const t = [m[0][3], m[1][3], m[2][3]];
  return [
    [inv[0][0], inv[0][1], inv[0][2], -(inv[0][0] * t[0] + inv[0][1] * t[1] + inv[0][2] * t[2])],
    [inv[1][0], inv[1][1], inv[1][2], -(inv[1][0] * t[0] + inv[1][1] * t[1] + inv[1][2] * t[2])],
    [inv[2][0], inv[2][1], inv[2][2], -(inv[2][0] * t[0] + inv[2][1] * t[1] + inv[2][2] * t[2])],
    [0, 0, 0, 1],
  ];
}

/**
 * DICOM patient coordinates are LPS (+x left, +y posterior, +z superior); NIfTI world coordinates are RAS. The
 * two differ by negating x and y, so the same voxel grid has affineRas = diag(-1, -1, 1, 1) * affineLps. The
 * conversion is its own inverse.
 */
export function lpsToRas(m: Mat4): Mat4 {
  return [m[0].map((v) => -v), m[1].map((v) => -v), [...m[2]], [...m[3]]];
}
export const rasToLps = lpsToRas;

/** Largest absolute element-wise difference, for tolerance checks in tests and QC. */
export function maxAbsDifference(a: Mat4, b: Mat4): number {
  let d = 0;
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) d = Math.max(d, Math.abs(a[r][c] - b[r][c]));
  return d;
}

/** Voxel size along each axis: the length of each affine column. */
export const voxelSizes = (m: Mat4): Vec3 => [norm(column(m, 0)), norm(column(m, 1)), norm(column(m, 2))];
