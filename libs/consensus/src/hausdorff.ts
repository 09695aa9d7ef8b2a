// Surface distances between reads of one label, in mm: the symmetric 95th-percentile Hausdorff distance (HD95).
// Each read's surface gets one distance transform, shared by every pair that read takes part in, so k reads
// cost k transforms per label rather than k(k-1).
import { squaredDistanceToVoxels } from './distance-transform';
import type { Box3, Grid, Mask } from './grid';

// Bound once: a global lookup per voxel is slow inside jest's vm sandbox (see distance-transform.ts).
const { sqrt } = Math;

/**
 * Box-local indices of the surface voxels of `label` in `mask` inside `box`: voxels of the label with at least
 * one face neighbour (6-connectivity) that is not the label. Outside the grid counts as "not the label", so an
 * object touching the image border has a surface there, except along an axis of size 1 (a 2D image has no
 * z neighbours, or every pixel would be surface). `box` must hold every voxel of the label.
 */
export function surfaceVoxels(mask: Mask, grid: Grid, box: Box3, label: number): Int32Array {
  const [nx, ny, nz] = grid.dims;
  const [x0, y0, z0, x1, y1, z1] = box;
  const bx = x1 - x0, by = y1 - y0;
  const sy = nx, sz = nx * ny;
  let out = new Int32Array(1024);
  let count = 0;
  for (let z = z0; z < z1; z++) {
    const zEdge = nz > 1 && (z === 0 || z === nz - 1);
    for (let y = y0; y < y1; y++) {
      const row = nx * (y + ny * z);
      const yzEdge = zEdge || (ny > 1 && (y === 0 || y === ny - 1));
      const local = bx * (y - y0 + by * (z - z0)) - x0;
      for (let x = x0; x < x1; x++) {
        const i = row + x;
        if (mask[i] !== label) continue;
        const surface =
          yzEdge ||
          (nx > 1 && (x === 0 || x === nx - 1 || mask[i - 1] !== label || mask[i + 1] !== label)) ||
          (ny > 1 && (mask[i - sy] !== label || mask[i + sy] !== label)) ||
          (nz > 1 && (mask[i - sz] !== label || mask[i + sz] !== label));
        if (!surface) continue;
        if (count === out.length) {
          const grown = new Int32Array(out.length * 2);
          grown.set(out);
          out = grown;
        }
        out[count++] = local + x;
      }
    }
  }
  return out.slice(0, count);
}

/**
 * The q-th quantile (0..1) with linear interpolation between order statistics (NumPy's default, which MedPy
 * and MONAI use), so HD95 values match those libraries. Sorts `values` in place.
 */
export function quantile(values: Float64Array, q: number): number {
  if (values.length === 0) throw new RangeError('quantile of an empty set');
  values.sort();
  const h = (values.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, values.length - 1);
  return values[lo] + (h - lo) * (values[hi] - values[lo]);
}

/**
 * HD95 in mm for each requested pair of masks on one label: max(P95 of distances from A's surface to B's,
 * P95 from B's to A's), the symmetric form MONAI uses (MedPy pools the two sets instead, which lands between
 * the two directed values). 0 when both lack the label, null when exactly one does: there is
 * no distance to an empty surface. `scratch.dist` is a distance buffer to reuse across calls (it is replaced
 * when too small): one transform of a 300x250x200 box needs 60 MB.
 */
export function hd95ForPairs(
  masks: readonly Mask[],
  pairs: readonly (readonly [number, number])[],
  grid: Grid,
  label: number,
  labelBox: Box3 | null,
  scratch: { dist?: Float32Array } = {},
): (number | null)[] {
  if (!labelBox) return pairs.map(() => 0);
  const bdims: [number, number, number] = [labelBox[3] - labelBox[0], labelBox[4] - labelBox[1], labelBox[5] - labelBox[2]];
  const involved = new Set(pairs.flat());
  const surfaces = new Map<number, Int32Array>();
  for (const m of involved) surfaces.set(m, surfaceVoxels(masks[m], grid, labelBox, label));
  // 'to<from': P95 of the distances from each surface voxel of `from` to the nearest surface voxel of `to`.
  const directed = new Map<string, number>();
  for (const to of involved) {
    const target = surfaces.get(to)!;
    const sources = new Set(pairs.filter((p) => p.includes(to)).map(([a, b]) => (a === to ? b : a)));
    if (target.length === 0 || [...sources].every((s) => surfaces.get(s)!.length === 0)) continue;
    const dist = squaredDistanceToVoxels(target, bdims, grid.spacing, scratch.dist);
    if (!scratch.dist || scratch.dist.length < dist.length) scratch.dist = dist;
    for (const from of sources) {
      const source = surfaces.get(from)!;
      if (source.length === 0) continue;
      const d = new Float64Array(source.length);
      for (let i = 0; i < source.length; i++) d[i] = sqrt(dist[source[i]]);
      directed.set(`${to}<${from}`, quantile(d, 0.95));
    }
  }
  return pairs.map(([a, b]) => {
    const ea = surfaces.get(a)!.length === 0, eb = surfaces.get(b)!.length === 0;
    if (ea && eb) return 0;
    if (ea || eb) return null;
    return Math.max(directed.get(`${b}<${a}`)!, directed.get(`${a}<${b}`)!);
  });
}
