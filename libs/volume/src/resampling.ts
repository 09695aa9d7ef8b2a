// Resampling between voxel grids that share a world space: label maps with nearest neighbour (never invents
// label values), images with trilinear interpolation. Also the "conform" step that feeds whole-brain models
// (1 mm isotropic 256^3, FreeSurfer/niivue LIA orientation) and its inverse, which brings a model's label map
// back onto the scanner's grid.
import { affineFromColumns, invertAffine, multiply, scale, transformPoint, type Mat4, type Vec3 } from './affine';
import { directionsOf, parseOrientation, type OrientationCode } from './orientation';
import { allocateLike, type Volume, type VoxelArray } from './voxel-data';

export type Interpolation = 'nearest' | 'linear';

/** A voxel grid: dims and the affine from voxel index to world mm (RAS; any space works if both sides agree). */
export interface Grid {
  dims: [number, number, number];
  affineRas: Mat4;
}

export interface ResampleOptions {
  /** Value for target voxels outside the source (default 0). */
  fill?: number;
}

// Hot loops read no globals: property lookups on the global object are slow inside vm sandboxes (Jest), which
// made a 256^3 conform take a minute there instead of a second.
const floor = Math.floor;

// Points within this many voxels outside the outermost voxel centres still count as inside, so grids that share
// a boundary do not lose their edge voxels to floating-point noise.
const EDGE = 0.5 + 1e-6;

/**
 * Resamples `source` onto `target`. Each target voxel centre is mapped into source voxel coordinates
 * (inverse(source affine) x target affine) and read with nearest neighbour or trilinear interpolation.
 * Samples up to half a voxel beyond the outer source voxel centres take the edge value; farther ones get `fill`.
 * Output type: the source's for 'nearest', Float32Array for 'linear'.
 */
export function resampleToGrid(source: Volume, target: Grid, interpolation: Interpolation, options: ResampleOptions = {}): Volume {
  const [sx, sy, sz] = source.dims;
  const [tx, ty, tz] = target.dims;
  if (source.data.length < sx * sy * sz) {
    throw new Error(`The source holds ${source.data.length} voxels but its dims ${sx}x${sy}x${sz} need ${sx * sy * sz}: pass a scalar volume with matching dims`);
  }
  const fill = options.fill ?? 0;
  const m = multiply(invertAffine(source.affineRas), target.affineRas);
  const out: VoxelArray = interpolation === 'nearest' ? allocateLike(source.data, tx * ty * tz) : new Float32Array(tx * ty * tz);
  const src = source.data;
  const strideY = sx;
  const strideZ = sx * sy;
  const exact = exactVoxelMapping(m);
  if (exact) {
    // Every target voxel centre is a source voxel centre (same spacing, axes permuted or flipped, whole-voxel
    // shift: e.g. conforming a volume that is already 256^3 1 mm LIA): both interpolations read the voxel itself.
    const [[a00, a01, a02, a03], [a10, a11, a12, a13], [a20, a21, a22, a23]] = exact;
    let o = 0;
    for (let k = 0; k < tz; k++) {
      for (let j = 0; j < ty; j++) {
        let x = a01 * j + a02 * k + a03;
        let y = a11 * j + a12 * k + a13;
        let z = a21 * j + a22 * k + a23;
        for (let i = 0; i < tx; i++, o++, x += a00, y += a10, z += a20) {
          out[o] = x < 0 || y < 0 || z < 0 || x >= sx || y >= sy || z >= sz ? fill : src[x + y * strideY + z * strideZ];
        }
      }
    }
    return { dims: [tx, ty, tz], data: out, affineRas: target.affineRas.map((r) => [...r]) };
  }
  const [di0, di1, di2] = [m[0][0], m[1][0], m[2][0]];
  let o = 0;
  for (let k = 0; k < tz; k++) {
    for (let j = 0; j < ty; j++) {
      let x = m[0][1] * j + m[0][2] * k + m[0][3];
      let y = m[1][1] * j + m[1][2] * k + m[1][3];
      let z = m[2][1] * j + m[2][2] * k + m[2][3];
      for (let i = 0; i < tx; i++, o++, x += di0, y += di1, z += di2) {
        if (x < -EDGE || y < -EDGE || z < -EDGE || x > sx - 1 + EDGE || y > sy - 1 + EDGE || z > sz - 1 + EDGE) {
          out[o] = fill;
          continue;
        }
        if (interpolation === 'nearest') {
          let xi = floor(x + 0.5);
          let yi = floor(y + 0.5);
          let zi = floor(z + 0.5);
          xi = xi < 0 ? 0 : xi > sx - 1 ? sx - 1 : xi;
          yi = yi < 0 ? 0 : yi > sy - 1 ? sy - 1 : yi;
          zi = zi < 0 ? 0 : zi > sz - 1 ? sz - 1 : zi;
          out[o] = src[xi + yi * strideY + zi * strideZ];
        } else {
          let x0 = floor(x);
          let y0 = floor(y);
          let z0 = floor(z);
          let fx = x - x0;
          let fy = y - y0;
          let fz = z - z0;
          // Clamp to the edge: the half-voxel margin reads the outermost voxel.
          if (x0 < 0) (x0 = 0), (fx = 0);
          if (y0 < 0) (y0 = 0), (fy = 0);
          if (z0 < 0) (z0 = 0), (fz = 0);
          const x1 = x0 + 1 < sx ? x0 + 1 : x0;
          const y1 = y0 + 1 < sy ? y0 + 1 : y0;
          const z1 = z0 + 1 < sz ? z0 + 1 : z0;
          if (x0 > sx - 1) x0 = sx - 1;
          if (y0 > sy - 1) y0 = sy - 1;
          if (z0 > sz - 1) z0 = sz - 1;
          const r0 = y0 * strideY;
          const r1 = y1 * strideY;
          const p0 = z0 * strideZ;
          const p1 = z1 * strideZ;
          const c00 = src[x0 + r0 + p0] * (1 - fx) + src[x1 + r0 + p0] * fx;
          const c10 = src[x0 + r1 + p0] * (1 - fx) + src[x1 + r1 + p0] * fx;
          const c01 = src[x0 + r0 + p1] * (1 - fx) + src[x1 + r0 + p1] * fx;
          const c11 = src[x0 + r1 + p1] * (1 - fx) + src[x1 + r1 + p1] * fx;
          const c0 = c00 * (1 - fy) + c10 * fy;
          const c1 = c01 * (1 - fy) + c11 * fy;
          out[o] = c0 * (1 - fz) + c1 * fz;
        }
      }
    }
  }
  return { dims: [tx, ty, tz], data: out, affineRas: target.affineRas.map((r) => [...r]) };
}

/**
 * The target-to-source voxel map as whole numbers when it is a signed axis permutation with a whole-voxel
 * shift (within 1e-4 voxel), else null.
 */
export function exactVoxelMapping(m: Mat4): number[][] | null {
  const rounded = m.slice(0, 3).map((row) => row.map((v) => Math.round(v)));
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) if (Math.abs(m[r][c] - rounded[r][c]) > 1e-4) return null;
  for (let r = 0; r < 3; r++) {
    const row = rounded[r].slice(0, 3);
    const column = rounded.map((x) => x[r]);
    if (row.filter((v) => v !== 0).length !== 1 || column.filter((v) => v !== 0).length !== 1 || row.some((v) => Math.abs(v) > 1)) return null;
  }
  return rounded;
}

export interface ConformOptions {
  /** Target dims (default [256, 256, 256]). */
  dims?: [number, number, number];
  /** Target voxel size in mm (default [1, 1, 1]). */
  spacing?: [number, number, number];
  /** Target orientation code (default 'LIA', as FreeSurfer's mri_conform and niivue's conform). */
  orientation?: OrientationCode;
  /** Default 'linear' for images; use 'nearest' to conform a label map. */
  interpolation?: Interpolation;
}

export interface ConformedVolume extends Volume {
  orientation: OrientationCode;
  spacing: Vec3;
  /** The grid the volume came from, for unconform(). */
  native: Grid;
}

/**
 * The conformed grid for a source grid, computed like niivue's conformVox2Vox (FreeSurfer's conform): axes
 * along `orientation` with `spacing`, and the target voxel dims/2 placed on the world point of source voxel
 * dims/2 (FreeSurfer's centre convention, not (dims - 1)/2), so the two volumes share their centre.
 */
export function conformedGrid(source: Grid, options: ConformOptions = {}): Grid & { orientation: OrientationCode; spacing: Vec3 } {
  const dims = options.dims ?? [256, 256, 256];
  const spacing: Vec3 = options.spacing ?? [1, 1, 1];
  const orientation = (options.orientation ?? 'LIA').toUpperCase();
  parseOrientation(orientation);
  const [di, dj, dk] = directionsOf(orientation);
  const centre = transformPoint(source.affineRas, source.dims.map((d) => d / 2));
  const columns = [scale(di, spacing[0]), scale(dj, spacing[1]), scale(dk, spacing[2])];
  const half = dims.map((d) => d / 2);
  const offset = [0, 1, 2].map((r) => centre[r] - (columns[0][r] * half[0] + columns[1][r] * half[1] + columns[2][r] * half[2]));
  return { dims: [...dims] as [number, number, number], affineRas: affineFromColumns(columns[0], columns[1], columns[2], offset), orientation, spacing };
}

/**
 * The dims and spacing of a reoriented grid that covers the source's whole field of view, for a model that asks
 * for an orientation (and perhaps a voxel size) but no fixed grid (conform's 256^3 default would crop or pad).
 * Without `spacing`, each target axis takes the voxel size of the source axis closest to it, so a reorientation
 * alone does not resample.
 */
export function coveringGrid(source: Grid, orientation: OrientationCode, spacing?: [number, number, number]): { dims: [number, number, number]; spacing: [number, number, number] } {
  const targets = directionsOf(orientation.toUpperCase());
  const a = source.affineRas;
  const axes = [0, 1, 2].map((c) => [a[0][c], a[1][c], a[2][c]]);
  const lengths = axes.map((v) => Math.hypot(v[0], v[1], v[2]));
  const dot = (u: number[], v: number[]) => u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  const out = targets.map((t, i) => {
    // Extent of the source's box along t, and the source axis most nearly along t.
    const extent = axes.reduce((sum, v, c) => sum + Math.abs(dot(v, t)) * source.dims[c], 0);
    const nearest = [0, 1, 2].reduce((best, c) => (Math.abs(dot(axes[c], t)) / lengths[c] > Math.abs(dot(axes[best], t)) / lengths[best] ? c : best), 0);
    const step = spacing?.[i] ?? lengths[nearest];
    // Rounded first so a box of whole voxels on the same axes maps to the same count (no extra voxel from 1e-12).
    return { dims: Math.max(1, Math.ceil(Math.round((extent / step) * 1e6) / 1e6)), step };
  });
  return { dims: out.map((o) => o.dims) as [number, number, number], spacing: out.map((o) => o.step) as [number, number, number] };
}

/**
 * Resamples a volume onto the conformed grid (default 256^3, 1 mm, LIA). `geometry` gives the source grid
 * (a SeriesGeometry or the volume itself). Intensities are not rescaled: normalise them as the model expects.
 */
export function conformTo(volume: { data: VoxelArray }, geometry: Grid, options: ConformOptions = {}): ConformedVolume {
  const grid = conformedGrid(geometry, options);
  const resampled = resampleToGrid({ dims: geometry.dims, affineRas: geometry.affineRas, data: volume.data }, grid, options.interpolation ?? 'linear');
  return { ...resampled, orientation: grid.orientation, spacing: grid.spacing, native: { dims: [...geometry.dims] as [number, number, number], affineRas: geometry.affineRas.map((r) => [...r]) } };
}

/**
 * A grid on the source's own axes (a model's orientation 'native'): new `dims` and/or `spacing`, centred on the
 * source so it covers the same field of view. With dims alone the spacing stretches to fit edge to edge (pixel
 * centres at half-pixel offsets, as image resizing does); with spacing alone the dims are the field of view
 * over the spacing, rounded. A 2D image resized for a 224x224 classifier stays in its own plane.
 */
export function resizedGrid(source: Grid, options: { dims?: Vec3; spacing?: Vec3 }): Grid & { spacing: Vec3 } {
  const a = source.affineRas;
  const sourceSpacing = [0, 1, 2].map((c) => Math.hypot(a[0][c], a[1][c], a[2][c]));
  const dims = [0, 1, 2].map((k) => options.dims?.[k] ?? Math.max(1, Math.round((source.dims[k] * sourceSpacing[k]) / options.spacing![k]))) as [number, number, number];
  // Source voxels per target voxel, and the shift that puts the two centres on each other.
  const step = [0, 1, 2].map((k) => (options.spacing ? options.spacing[k] / sourceSpacing[k] : source.dims[k] / dims[k]));
  const shift = [0, 1, 2].map((k) => (source.dims[k] - 1) / 2 - (step[k] * (dims[k] - 1)) / 2);
  const toSource: Mat4 = [
    [step[0], 0, 0, shift[0]],
    [0, step[1], 0, shift[1]],
    [0, 0, step[2], shift[2]],
    [0, 0, 0, 1],
  ];
  return { dims, affineRas: multiply(a, toSource), spacing: step.map((s, k) => s * sourceSpacing[k]) as Vec3 };
}

/** conformTo on the volume's own axes: resampled onto resizedGrid(geometry, options); unconform() brings results back. */
export function resizeTo(volume: { data: VoxelArray }, geometry: Grid, options: { dims?: Vec3; spacing?: Vec3; interpolation?: Interpolation }): Volume & { spacing: Vec3; native: Grid } {
  const grid = resizedGrid(geometry, options);
  const resampled = resampleToGrid({ dims: geometry.dims, affineRas: geometry.affineRas, data: volume.data }, grid, options.interpolation ?? 'linear');
  return { ...resampled, spacing: grid.spacing, native: { dims: [...geometry.dims] as [number, number, number], affineRas: geometry.affineRas.map((r) => [...r]) } };
}

/**
 * The map from continuous pixel coordinates of a resized or conformed grid (pixel i covers [i, i + 1), COCO's
 * convention) to those of the grid it came from: where a model's box on its input image lies on the native image.
 */
export function toNativePixels(conformed: Pick<ConformedVolume, 'affineRas' | 'native'>): (p: Vec3) => Vec3 {
  const m = multiply(invertAffine(conformed.native.affineRas), conformed.affineRas);
  return (p) => transformPoint(m, [p[0] - 0.5, p[1] - 0.5, p[2] - 0.5]).map((v) => v + 0.5) as Vec3;
}

/**
 * Brings data computed on a conformed grid (typically a model's label map) back onto the native grid the
 * volume was conformed from. Nearest neighbour by default, so labels stay labels.
 */
export function unconform(data: VoxelArray, conformed: Pick<ConformedVolume, 'dims' | 'affineRas' | 'native'>, interpolation: Interpolation = 'nearest'): Volume {
  return resampleToGrid({ dims: conformed.dims, affineRas: conformed.affineRas, data }, conformed.native, interpolation);
}
