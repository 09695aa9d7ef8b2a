// Where readers disagree, for the adjudication view: per label, how many voxels of each slice are contested and
// the boxes of the contested regions, so an adjudicator can jump to them instead of scrolling the whole series.
import { Box3, Grid, labelSlots, Mask, scanForeground, unionBox } from './grid';

export interface DisagreementRegion {
  /** Half-open voxel box [x0, y0, z0, x1, y1, z1]. */
  box: Box3;
  voxels: number;
}

export interface LabelDisagreement {
  label: number;
  /** perSlice[z]: voxels of slice z where some, but not all, reads give the label. Length nz. */
  perSlice: number[];
  /** Sum of perSlice. */
  voxels: number;
  /** Connected contested regions of at least minVoxels voxels, largest first (then by position). */
  regions: DisagreementRegion[];
}

export interface DisagreementOptions {
  /** Smallest region reported, in voxels. Default 1 (every region). */
  minVoxels?: number;
}

/**
 * A voxel is contested for label l when at least one read gives it l and at least one does not. Regions are
 * connected through faces, edges and corners (26-connectivity; in a 2D image, nz = 1, that is 8-connectivity),
 * so a one-voxel-thick disagreement along a diagonal boundary stays one region.
 */
export function disagreementRegions(
  reads: readonly Mask[],
  grid: Grid,
  labels: readonly number[],
  options: DisagreementOptions = {},
): LabelDisagreement[] {
  if (reads.length < 2) throw new RangeError(`disagreement needs at least 2 reads, got ${reads.length}`);
  const minVoxels = options.minVoxels ?? 1;
  if (!Number.isInteger(minVoxels) || minVoxels < 1) throw new RangeError(`minVoxels must be a positive integer, got ${minVoxels}`);
  const slots = labelSlots(labels);
  const scan = scanForeground(reads, grid, slots);
  const [nx, ny, nz] = grid.dims;
  const k = reads.length;
  return labels.map((label, l) => {
    const perSlice = new Array<number>(nz).fill(0);
    const box = unionBox(scan.boxes.map((b) => b[l + 1]));
    if (!box) return { label, perSlice, voxels: 0, regions: [] };
    const [x0, y0, z0, x1, y1, z1] = box;
    const bx = x1 - x0, by = y1 - y0, bz = z1 - z0;
    const contested = new Uint8Array(bx * by * bz);
    let voxels = 0;
    for (let z = z0; z < z1; z++) {
      for (let y = y0; y < y1; y++) {
        const row = nx * (y + ny * z);
        const local = bx * (y - y0 + by * (z - z0)) - x0;
        for (let x = x0; x < x1; x++) {
          let votes = 0;
          for (let r = 0; r < k; r++) if (reads[r][row + x] === label) votes++;
          if (votes > 0 && votes < k) {
            contested[local + x] = 1;
            perSlice[z]++;
            voxels++;
          }
        }
      }
    }
    const regions = connectedRegions(contested, [bx, by, bz]).filter((r) => r.voxels >= minVoxels);
    for (const r of regions) {
      for (let a = 0; a < 3; a++) {
        r.box[a] += box[a];
        r.box[a + 3] += box[a];
      }
    }
    regions.sort((a, b) => b.voxels - a.voxels || a.box[2] - b.box[2] || a.box[1] - b.box[1] || a.box[0] - b.box[0]);
    return { label, perSlice, voxels, regions };
  });
}

/** 26-connected components of the non-zero voxels of `marked` (consumed: set to 2 as they are visited). */
function connectedRegions(marked: Uint8Array, dims: [number, number, number]): DisagreementRegion[] {
  const [bx, by, bz] = dims;
  const slice = bx * by;
  const stack = new Int32Array(marked.length);
  const regions: DisagreementRegion[] = [];
  for (let seed = 0; seed < marked.length; seed++) {
    if (marked[seed] !== 1) continue;
    const box: Box3 = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
    let voxels = 0, top = 0;
    stack[top++] = seed;
    marked[seed] = 2;
    while (top > 0) {
      const i = stack[--top];
      const x = i % bx, y = ((i - x) / bx) % by, z = (i - (i % slice)) / slice;
      voxels++;
      if (x < box[0]) box[0] = x;
      if (y < box[1]) box[1] = y;
      if (z < box[2]) box[2] = z;
      if (x + 1 > box[3]) box[3] = x + 1;
      if (y + 1 > box[4]) box[4] = y + 1;
      if (z + 1 > box[5]) box[5] = z + 1;
      for (let dz = z > 0 ? -1 : 0; dz <= (z < bz - 1 ? 1 : 0); dz++) {
        for (let dy = y > 0 ? -1 : 0; dy <= (y < by - 1 ? 1 : 0); dy++) {
          for (let dx = x > 0 ? -1 : 0; dx <= (x < bx - 1 ? 1 : 0); dx++) {
            const j = i + dx + bx * dy + slice * dz;
            if (marked[j] === 1) {
              marked[j] = 2;
              stack[top++] = j;
            }
          }
        }
      }
    }
    regions.push({ box, voxels });
  }
  return regions;
}
