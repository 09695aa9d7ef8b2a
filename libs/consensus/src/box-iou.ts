// Intersection over union of axis-aligned boxes, for detection-style annotations (a box per finding). The ratio
// is the same in voxel and in mm coordinates (scaling an axis scales both volumes alike), as long as both boxes
// use the same ones.

import type { Box3 } from './grid';

/** [x0, y0, x1, y1]; the 3D form is Box3, [x0, y0, z0, x1, y1, z1]. */
export type Box2 = [number, number, number, number];

/**
 * IoU of two boxes of the same dimension (both 2D or both 3D), each given as min corner then max corner.
 * When both boxes have zero area (points, lines) the union is 0: IoU is 1 if they are the same box, else 0.
 */
export function boxIoU(a: Readonly<Box2 | Box3> | readonly number[], b: Readonly<Box2 | Box3> | readonly number[]): number {
  if (a.length !== b.length || (a.length !== 4 && a.length !== 6)) {
    throw new RangeError(`boxes must both be 2D [x0, y0, x1, y1] or both 3D [x0, y0, z0, x1, y1, z1], got ${a.length} and ${b.length} numbers`);
  }
  const d = a.length / 2;
  let inter = 1, volA = 1, volB = 1;
  for (let i = 0; i < d; i++) {
    for (const [name, box] of [['first', a], ['second', b]] as const) {
      if (!(box[i + d] >= box[i])) throw new RangeError(`${name} box [${box.join(', ')}] has max < min on axis ${'xyz'[i]}`);
    }
    volA *= a[i + d] - a[i];
    volB *= b[i + d] - b[i];
    inter *= Math.max(0, Math.min(a[i + d], b[i + d]) - Math.max(a[i], b[i]));
  }
  const union = volA + volB - inter;
  if (union === 0) return a.every((v, i) => v === b[i]) ? 1 : 0;
  return inter / union;
}
