// 26-connected component labelling of a label map, iterative (two raster passes plus union-find over
// provisional ids, no recursion, so a 512^3 blob cannot overflow the stack), and the clean-ups built on it:
// keep the largest component of a label, drop components smaller than a size.
import type { Vec3 } from './sliding-window';

export interface Components {
  /** Component number per voxel (0..count-1), -1 for background (label 0). */
  componentOf: Int32Array;
  /** Label value of each component. */
  label: Uint8Array;
  /** Voxel count of each component. */
  size: Float64Array;
  count: number;
}

/** Offsets of the 13 neighbours a raster scan (x fastest, then y, then z) has already visited, one array per axis. */
const [DX, DY, DZ] = (() => {
  const dx: number[] = [];
  const dy: number[] = [];
  const dz: number[] = [];
  for (let z = -1; z <= 0; z++)
    for (let y = -1; y <= 1; y++)
      for (let x = -1; x <= 1; x++)
        if (z < 0 || (z === 0 && (y < 0 || (y === 0 && x < 0)))) {
          dx.push(x);
          dy.push(y);
          dz.push(z);
        }
  return [Int8Array.from(dx), Int8Array.from(dy), Int8Array.from(dz)];
})();
const NEIGHBOURS = DX.length;

/** Labels the 26-connected components of each non-zero label value; voxels of different labels never join. */
export function connectedComponents(labels: Uint8Array, dims: Vec3): Components {
  const [nx, ny, nz] = dims;
  if (labels.length !== nx * ny * nz) throw new RangeError(`label map has ${labels.length} voxels but dims ${dims.join('x')} need ${nx * ny * nz}`);
  const ids = new Int32Array(labels.length).fill(-1);
  let parent = new Int32Array(1024);
  let next = 0;
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]]; // path halving
      a = parent[a];
    }
    return a;
  };
  const union = (a: number, b: number): number => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return ra;
    // The smaller id becomes the root so component numbering follows raster order.
    if (ra < rb) {
      parent[rb] = ra;
      return ra;
    }
    parent[ra] = rb;
    return rb;
  };

  for (let z = 0, i = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++, i++) {
        const value = labels[i];
        if (value === 0) continue;
        let id = -1;
        for (let k = 0; k < NEIGHBOURS; k++) {
          const xx = x + DX[k];
          const yy = y + DY[k];
          const zz = z + DZ[k];
          if (xx < 0 || xx >= nx || yy < 0 || yy >= ny || zz < 0) continue;
          const j = (zz * ny + yy) * nx + xx;
          if (labels[j] !== value) continue;
          id = id < 0 ? find(ids[j]) : union(id, ids[j]);
        }
        if (id < 0) {
          if (next === parent.length) {
            const grown = new Int32Array(parent.length * 2);
            grown.set(parent);
            parent = grown;
          }
          parent[next] = next;
          id = next++;
        }
        ids[i] = id;
      }

  // Dense numbering of the roots, then sizes.
  const dense = new Int32Array(next).fill(-1);
  let count = 0;
  for (let p = 0; p < next; p++) {
    const r = find(p);
    if (dense[r] < 0) dense[r] = count++;
  }
  const label = new Uint8Array(count);
  const size = new Float64Array(count);
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0) continue;
    const c = dense[find(ids[i])];
    ids[i] = c;
    label[c] = labels[i];
    size[c]++;
  }
  return { componentOf: ids, label, size, count };
}

export interface ComponentCleanup {
  /** Label values that keep only their largest component; 'all' for every label. */
  keepLargest?: readonly number[] | 'all';
  /** Components with fewer voxels become background. */
  minSize?: number;
}

/**
 * Applies the clean-ups in place (removed voxels become background, 0; they are not handed to a neighbouring
 * label) and returns how many voxels were removed. Ties for "largest" keep the component met first in raster order.
 */
export function cleanUpComponents(labels: Uint8Array, dims: Vec3, cleanup: ComponentCleanup): number {
  const keepLargest = cleanup.keepLargest ?? [];
  const minSize = cleanup.minSize ?? 0;
  // Nothing to do: skip the labelling pass and its Int32 volume.
  if (keepLargest !== 'all' && keepLargest.length === 0 && minSize <= 1) return 0;
  const { componentOf, label, size, count } = connectedComponents(labels, dims);
  const largest = new Map<number, number>();
  for (let c = 0; c < count; c++) {
    const best = largest.get(label[c]);
    if (best === undefined || size[c] > size[best]) largest.set(label[c], c);
  }
  const remove = new Uint8Array(count);
  for (let c = 0; c < count; c++) {
    const restricted = keepLargest === 'all' || keepLargest.includes(label[c]);
    if ((restricted && largest.get(label[c]) !== c) || size[c] < minSize) remove[c] = 1;
  }
  let removed = 0;
  for (let i = 0; i < labels.length; i++) {
    const c = componentOf[i];
    if (c >= 0 && remove[c]) {
      labels[i] = 0;
      removed++;
    }
  }
  return removed;
}
