// The typed arrays that hold voxels, and the grid they live on. Shared by decoding, assembly, NIfTI and
// resampling so a volume can flow from one to the next without conversions.
import type { Mat4 } from './affine';

export type VoxelArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/**
 * A 3D scalar volume: `data[i + nx * (j + ny * k)]` is voxel (i, j, k); `affineRas` maps (i, j, k, 1) to NIfTI
 * RAS millimetres. This is the layout NIfTI stores, so a Volume can be written without reordering.
 */
export interface Volume {
  dims: [number, number, number];
  data: VoxelArray;
  affineRas: Mat4;
}

type VoxelArrayConstructor = { new (length: number): VoxelArray; name: string };

/** A new, zeroed array of the same element type as `like`. */
export function allocateLike(like: VoxelArray, length: number): VoxelArray {
  return new (like.constructor as VoxelArrayConstructor)(length);
}

export const voxelCount = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Memory a series volume build is budgeted at (4 bytes per voxel), in MB: what VOLUME_PREBUILD_MAX_MB limits. */
export const volumeBuildMb = (dims: readonly number[]): number => (voxelCount(dims) * 4) / 1024 ** 2;
