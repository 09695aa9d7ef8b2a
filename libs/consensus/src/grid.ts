// Voxel grids, label masks and the one pass that every consensus computation starts with: finding where the
// readers drew anything. Later passes only visit those boxes, so a small lesion in a 512x512x300 CT costs
// what the lesion costs, not what the CT costs.

export type Vec3 = [number, number, number];

/** A voxel grid: dims in voxels, spacing in mm. 2D images have nz = 1. */
export interface Grid {
  dims: Vec3;
  spacing: Vec3;
}

/** A label map on a grid, x fastest: index = x + nx * (y + ny * z). 0 is background, 1..L protocol labels. */
export type Mask = Uint8Array | Uint16Array;

/** A 3D box [x0, y0, z0, x1, y1, z1]. Voxel boxes are half-open: x1 is one past the last voxel, so the box volume is its voxel count. */
export type Box3 = [number, number, number, number, number, number];

export function voxelCount(grid: Grid): number {
  return grid.dims[0] * grid.dims[1] * grid.dims[2];
}

export function voxelVolume(grid: Grid): number {
  return grid.spacing[0] * grid.spacing[1] * grid.spacing[2];
}

export function assertGrid(grid: Grid): void {
  const { dims, spacing } = grid;
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`grid dims must be three positive integers [nx, ny, nz], got [${dims.join(', ')}]`);
  }
  if (spacing.length !== 3 || spacing.some((s) => !Number.isFinite(s) || s <= 0)) {
    throw new RangeError(`grid spacing must be three positive finite numbers in mm, got [${spacing.join(', ')}]`);
  }
}

/** Throws unless every mask holds exactly one value per grid voxel. */
export function assertMasksFitGrid(masks: readonly Mask[], grid: Grid): void {
  assertGrid(grid);
  const expected = voxelCount(grid);
  masks.forEach((mask, i) => {
    if (!(mask instanceof Uint8Array || mask instanceof Uint16Array)) {
      throw new TypeError(`read ${i} must be a Uint8Array or Uint16Array label map`);
    }
    if (mask.length !== expected) {
      throw new RangeError(
        `read ${i} has ${mask.length} voxels but the grid [${grid.dims.join(' x ')}] has ${expected}`,
      );
    }
  });
}

/**
 * Protocol labels mapped to dense slots: slot 0 is background, slot s (1..L) is labels[s - 1]. Passes index
 * small per-slot tables through `slotOf` instead of the raw label values, which may be sparse (e.g. 1, 7, 200).
 */
export interface LabelSlots {
  labels: readonly number[];
  /** slotOf[value]: 0 for background, 1..L for protocol labels, -1 for values outside the protocol. */
  slotOf: Int32Array;
}

export function labelSlots(labels: readonly number[]): LabelSlots {
  if (labels.length === 0) throw new RangeError('labels must list at least one protocol label');
  const slotOf = new Int32Array(65536).fill(-1);
  slotOf[0] = 0;
  labels.forEach((label, i) => {
    if (!Number.isInteger(label) || label < 1 || label > 65535) {
      throw new RangeError(`protocol labels must be integers in 1..65535, got ${label}`);
    }
    if (slotOf[label] !== -1) throw new RangeError(`protocol label ${label} is listed twice`);
    slotOf[label] = i + 1;
  });
  return { labels, slotOf };
}

/** Where each read has each label, and how many voxels of it. */
export interface ForegroundScan {
  /** boxes[read][slot]: half-open voxel box of that label in that read, or null when the read lacks it. Slot 0 is unused. */
  boxes: (Box3 | null)[][];
  /** counts[read][slot]: voxels of that label in that read (slot 0 counts background). */
  counts: number[][];
}

/**
 * One pass per read over the whole volume: empty stretches (most of a CT) are skipped a 32-bit word at a time,
 * labelled ones a run at a time. Values outside the protocol are rejected here, since every later pass would
 * silently count them as background.
 */
export function scanForeground(masks: readonly Mask[], grid: Grid, slots: LabelSlots): ForegroundScan {
  assertMasksFitGrid(masks, grid);
  const nSlots = slots.labels.length + 1;
  const boxes: (Box3 | null)[][] = [];
  const counts: number[][] = [];
  masks.forEach((mask, read) => {
    const ext = scanOne(mask, grid, slots, nSlots, read);
    const readBoxes: (Box3 | null)[] = [null];
    const readCounts = [0];
    let foreground = 0;
    for (let s = 1; s < nSlots; s++) {
      const e = s * 7;
      readCounts.push(ext[e + 6]);
      foreground += ext[e + 6];
      readBoxes.push(ext[e + 6] === 0 ? null : [ext[e], ext[e + 1], ext[e + 2], ext[e + 3] + 1, ext[e + 4] + 1, ext[e + 5] + 1]);
    }
    readCounts[0] = mask.length - foreground;
    boxes.push(readBoxes);
    counts.push(readCounts);
  });
  return { boxes, counts };
}

// Per slot: min x, min y, min z, max x, max y, max z (inclusive), count. Work is per run of equal values in a
// row, not per voxel: an organ row is one run, so even the foreground costs about one comparison per voxel.
function scanOne(mask: Mask, grid: Grid, slots: LabelSlots, nSlots: number, read: number): Float64Array {
  const [nx, ny] = grid.dims;
  const { slotOf } = slots;
  const ext = new Float64Array(nSlots * 7);
  for (let s = 0; s < nSlots; s++) ext.set([Infinity, Infinity, Infinity, -1, -1, -1, 0], s * 7);
  const n = mask.length;
  const perWord = 4 / mask.BYTES_PER_ELEMENT;
  const head = Math.min(n, ((4 - (mask.byteOffset % 4)) % 4) / mask.BYTES_PER_ELEMENT);
  const words = Math.floor((n - head) / perWord);
  const view = new Uint32Array(mask.buffer, mask.byteOffset + head * mask.BYTES_PER_ELEMENT, words);
  let i = 0;
  while (i < n) {
    const value = mask[i];
    if (value === 0) {
      // Background: jump whole zero words once aligned to the word view.
      if (i >= head && (i - head) % perWord === 0) {
        let w = (i - head) / perWord;
        while (w < words && view[w] === 0) w++;
        const next = head + w * perWord;
        if (next > i) {
          i = next;
          continue;
        }
      }
      i++;
      continue;
    }
    const start = i;
    const x0 = start % nx;
    const rowEnd = start - x0 + nx;
    while (i < rowEnd && mask[i] === value) i++;
    const slot = slotOf[value];
    if (slot < 0) {
      throw new RangeError(`read ${read} has label ${value} at voxel ${start}, which is not among the protocol labels [${slots.labels.join(', ')}]`);
    }
    const row = (start - x0) / nx;
    const y = row % ny;
    const z = (row - y) / ny;
    const x1 = x0 + (i - start) - 1;
    const e = slot * 7;
    if (x0 < ext[e]) ext[e] = x0;
    if (y < ext[e + 1]) ext[e + 1] = y;
    if (z < ext[e + 2]) ext[e + 2] = z;
    if (x1 > ext[e + 3]) ext[e + 3] = x1;
    if (y > ext[e + 4]) ext[e + 4] = y;
    if (z > ext[e + 5]) ext[e + 5] = z;
    ext[e + 6] += i - start;
  }
  return ext;
}

/** The smallest box holding all the given boxes, or null when there are none. */
export function unionBox(boxes: readonly (Box3 | null)[]): Box3 | null {
  let out: Box3 | null = null;
  for (const b of boxes) {
    if (!b) continue;
    if (!out) out = [...b];
    else {
      for (let a = 0; a < 3; a++) {
        out[a] = Math.min(out[a], b[a]);
        out[a + 3] = Math.max(out[a + 3], b[a + 3]);
      }
    }
  }
  return out;
}

export function boxVoxels(box: Box3): number {
  return (box[3] - box[0]) * (box[4] - box[1]) * (box[5] - box[2]);
}
