// Orientation codes ("RAS", "LPS", "LIA"...) and exact reorientation by axis permutation and flips. A code names,
// for voxel axes i, j, k in turn, the RAS world direction the index increases towards (nibabel's aff2axcodes
// convention): an LPS-ordered DICOM volume (columns go left, rows go posterior, slices go superior) reads "LPS".
import { affineFromColumns, column, multiply, type Mat4 } from './affine';
import { allocateLike, type Volume } from './voxel-data';

export type OrientationCode = string;

const POSITIVE = ['R', 'A', 'S'];
const NEGATIVE = ['L', 'P', 'I'];

/** World axis (0 = x, 1 = y, 2 = z of RAS) and sign for one orientation letter. */
function parseLetter(letter: string): { axis: number; sign: 1 | -1 } {
  const u = letter.toUpperCase();
  if (POSITIVE.includes(u)) return { axis: POSITIVE.indexOf(u), sign: 1 };
  if (NEGATIVE.includes(u)) return { axis: NEGATIVE.indexOf(u), sign: -1 };
  throw new Error(`"${letter}" is not an orientation letter: use R/L, A/P and S/I, one of each (for example "RAS" or "LIA")`);
}

/** Validates a code such as "LIA" and returns, per voxel axis, the world axis and sign. */
export function parseOrientation(code: OrientationCode): { axis: number; sign: 1 | -1 }[] {
  if (typeof code !== 'string' || code.length !== 3) {
    throw new Error(`Orientation "${code}" must have three letters, one per voxel axis (for example "RAS" or "LIA")`);
  }
  const parsed = [...code].map(parseLetter);
  if (new Set(parsed.map((p) => p.axis)).size !== 3) {
    throw new Error(`Orientation "${code}" names the same direction twice: use one of R/L, one of A/P and one of S/I`);
  }
  return parsed;
}

/** The closest orientation code of a RAS affine (columns matched greedily to their dominant world axis). */
export function orientationOf(affineRas: Mat4): OrientationCode {
  const cols = [0, 1, 2].map((c) => column(affineRas, c));
  const lengths = cols.map((v) => Math.hypot(...v) || 1);
  const letters: string[] = ['', '', ''];
  const usedAxis = new Set<number>();
  const usedCol = new Set<number>();
  for (let n = 0; n < 3; n++) {
    let best = { c: -1, r: -1, v: -1 };
    for (let c = 0; c < 3; c++) {
      if (usedCol.has(c)) continue;
      for (let r = 0; r < 3; r++) {
        if (usedAxis.has(r)) continue;
        const v = Math.abs(cols[c][r]) / lengths[c];
        if (v > best.v) best = { c, r, v };
      }
    }
    usedCol.add(best.c);
    usedAxis.add(best.r);
    letters[best.c] = cols[best.c][best.r] >= 0 ? POSITIVE[best.r] : NEGATIVE[best.r];
  }
  return letters.join('');
}

/**
 * Unit direction columns (RAS) of a code: "LIA" gives i -> (-1,0,0), j -> (0,0,-1), k -> (0,1,0).
 * Used to build target grids such as the FreeSurfer/niivue conformed space.
 */
export function directionsOf(code: OrientationCode): [number[], number[], number[]] {
  return parseOrientation(code).map(({ axis, sign }) => {
    const v = [0, 0, 0];
    v[axis] = sign;
    return v;
  }) as [number[], number[], number[]];
}

/**
 * Reorders voxels so the volume reads `target` (e.g. "RAS"), without interpolation: only axis permutations and
 * flips, which are exact. The returned affine maps the new indices to the same world points as before.
 */
export function reorient<V extends Volume>(volume: V, target: OrientationCode): V {
  const from = parseOrientation(orientationOf(volume.affineRas));
  const to = parseOrientation(target);
  const [nx, ny] = volume.dims;
  const srcStride = [1, nx, nx * ny];
  // For target axis t: the source axis it runs along, and whether it runs backwards.
  const mapping = to.map(({ axis, sign }) => {
    const s = from.findIndex((f) => f.axis === axis);
    return { s, flip: from[s].sign !== sign };
  });
  const dims = mapping.map(({ s }) => volume.dims[s]) as [number, number, number];
  // P maps target (i, j, k, 1) to source (i, j, k, 1).
  const p: Mat4 = affineFromColumns([0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]);
  mapping.forEach(({ s, flip }, t) => {
    p[s][t] = flip ? -1 : 1;
    p[s][3] = flip ? volume.dims[s] - 1 : 0;
  });
  const data = allocateLike(volume.data, volume.data.length);
  const step = mapping.map(({ s, flip }) => (flip ? -srcStride[s] : srcStride[s]));
  const start = mapping.reduce((acc, { s, flip }) => acc + (flip ? (volume.dims[s] - 1) * srcStride[s] : 0), 0);
  const src = volume.data;
  let o = 0;
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      let si = start + k * step[2] + j * step[1];
      for (let i = 0; i < dims[0]; i++, si += step[0]) data[o++] = src[si];
    }
  }
  return { ...volume, dims, data, affineRas: multiply(volume.affineRas, p) };
}
