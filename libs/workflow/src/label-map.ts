// Masks as compressed label maps: one byte per voxel (0 = background, 1..255 = protocol label ids), x fastest,
// deflated. Long runs of equal values compress ~1000:1, so a 512x512x300 mask is typically well under 1 MB,
// and decoding is a single zlib call (fast enough for the browser and the consensus worker).
import { deflate, deflateSync, inflate, inflateSync, ZlibOptions } from 'node:zlib';

export const LABELMAP_ENCODING = 'labelmap-u8-deflate';

export interface Grid {
  dims: [number, number, number];
  spacing: [number, number, number];
}

export const voxelCount = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

export function encodeLabelMap(map: Uint8Array): Buffer {
  // Level 1: label maps are long runs, so the fastest level already shrinks them ~100x (level 6 halves that
  // again at three to four times the time, which every draft, read and merge pays).
  return deflateSync(map, { level: 1 });
}

/** encodeLabelMap on libuv's thread pool, so the calling thread can do other work meanwhile (same bytes). */
export function encodeLabelMapAsync(map: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => deflate(map, { level: 1 }, (err, out) => (err ? reject(err) : resolve(out))));
}

export class LabelMapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelMapError';
  }
}

/**
 * The inflate options for a map of this grid: the output in one chunk of exactly the expected size, so zlib
 * writes straight into the result (with the default 16 KB chunks, a 79 M-voxel map is ~4,800 chunks joined by
 * a second full copy at the end), and never more than one voxel beyond the grid.
 */
const inflateOptions = (dims: readonly number[]): ZlibOptions => ({ chunkSize: Math.max(64, voxelCount(dims) + 1), maxOutputLength: voxelCount(dims) + 1 });

function checkedMap(err: Error | null, raw: Buffer | undefined, dims: readonly number[]): Uint8Array {
  if (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new LabelMapError(`The mask has more voxels than the grid ${dims.join('x')} (${voxelCount(dims)})`);
    throw new LabelMapError(`The mask is not a deflated label map (${err.message})`);
  }
  if (raw!.length !== voxelCount(dims)) throw new LabelMapError(`The mask has ${raw!.length} voxels but the grid ${dims.join('x')} has ${voxelCount(dims)}`);
  return new Uint8Array(raw!.buffer, raw!.byteOffset, raw!.length);
}

/** Inflates and checks the size against the grid: a mask for another grid is refused with both sizes named. */
export function decodeLabelMap(data: Buffer, dims: readonly number[]): Uint8Array {
  let raw: Buffer;
  try {
    raw = inflateSync(data, inflateOptions(dims));
  } catch (e) {
    return checkedMap(e as Error, undefined, dims);
  }
  return checkedMap(null, raw, dims);
}

/** decodeLabelMap on libuv's thread pool (the inflate and the first touch of the map's memory off the calling thread). */
export function decodeLabelMapAsync(data: Buffer, dims: readonly number[]): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    inflate(data, inflateOptions(dims), (err, raw) => {
      try {
        resolve(checkedMap(err, raw, dims));
      } catch (e) {
        reject(e);
      }
    }),
  );
}

/** Voxels per label id present in the map. */
export function labelCounts(map: Uint8Array): Record<number, number> {
  // Uint32 counters (a volume has fewer than 2^32 voxels): integer increments, about twice as fast as Float64.
  const counts = new Uint32Array(256);
  for (let i = 0; i < map.length; i++) counts[map[i]]++;
  const out: Record<number, number> = {};
  for (let v = 1; v < 256; v++) if (counts[v]) out[v] = counts[v];
  return out;
}

/** Label ids in the map (or in its labelCounts, when already counted) that the protocol does not define. */
export function unknownLabels(map: Uint8Array | Record<number, number>, allowed: Iterable<number>): number[] {
  const ok = new Set(allowed);
  return Object.keys(map instanceof Uint8Array ? labelCounts(map) : map)
    .map(Number)
    .filter((v) => !ok.has(v));
}
