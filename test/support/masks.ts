import { deflateSync } from 'node:zlib';

/** A label map with a filled disc of `label` on every slice in [z0, z1], centred at (cx, cy). */
export function discMask(dims: [number, number, number], cx: number, cy: number, r: number, label = 1, z0 = 0, z1 = dims[2] - 1): Uint8Array {
  const [nx, ny, nz] = dims;
  const m = new Uint8Array(nx * ny * nz);
  for (let z = z0; z <= z1; z++) for (let y = Math.max(0, cy - r); y <= Math.min(ny - 1, cy + r); y++) for (let x = Math.max(0, cx - r); x <= Math.min(nx - 1, cx + r); x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m[x + nx * (y + ny * z)] = label;
  return m;
}

export const maskBody = (m: Uint8Array) => deflateSync(m).toString('base64');
