// Stacks decoded frames into one volume in geometric slice order. Voxel (i, j, k) is column i, row j (DICOM
// top-to-bottom) of the k-th slice along the normal, so the volume's LPS affine is the series geometry's and its
// orientation code is that of the acquisition (an axial HFS series reads "LPS"). No flips happen here: to match
// a tool with other habits (dcm2niix flips rows), reorient() the result.
import { readDicom, type ParsedDicom } from '@contour/dicom';
import type { Mat4 } from './affine';
import { instanceGeometryFromDicom } from './dicom-geometry';
import { decodeFrames, type DecodedFrames } from './pixel-decoding';
import { computeSeriesGeometry, type GeometryTolerances, type InstanceGeometry, type SeriesGeometry } from './series-geometry';
import type { Volume, VoxelArray } from './voxel-data';

export type VolumeAssemblyErrorCode = 'empty' | 'mixed-dimensions' | 'mixed-pixel-format' | 'mixed-rescale' | 'frame-count-mismatch' | 'unknown-instance';

export class VolumeAssemblyError extends Error {
  constructor(
    readonly code: VolumeAssemblyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'VolumeAssemblyError';
  }
}

export interface SeriesVolume extends Volume {
  geometry: SeriesGeometry;
  affineLps: Mat4;
  samplesPerPixel: number;
  photometric: string;
  /** Real value = stored * rescaleSlope + rescaleIntercept (1 and 0 once rescaled to float32). */
  rescaleSlope: number;
  rescaleIntercept: number;
}

export interface BuildVolumeOptions {
  /**
   * 'none' (default): keep stored integers and report one slope/intercept (fails if slices disagree);
   * 'float32': apply each slice's own slope/intercept and return real values (HU for CT);
   * 'int16-or-float32': real values as whole numbers in an Int16Array when every slope and intercept is a whole
   * number and every value fits (most CT and MR: half the memory of float32 and one pass), else as 'float32'.
   */
  rescale?: 'none' | 'float32' | 'int16-or-float32';
  tolerances?: GeometryTolerances;
}

export interface InstanceForVolume {
  geometry: InstanceGeometry;
  frames: DecodedFrames;
}

/** Builds a volume from already-decoded instances. */
export function buildVolume(instances: InstanceForVolume[], options: BuildVolumeOptions = {}): SeriesVolume {
  if (!instances.length) throw new VolumeAssemblyError('empty', 'No images were given, so there is no volume to build');
  const geometry = computeSeriesGeometry(
    instances.map((i) => i.geometry),
    options.tolerances,
  );
  const mixed = geometry.issues.find((i) => i.code === 'mixed-dimensions');
  if (mixed) throw new VolumeAssemblyError('mixed-dimensions', mixed.message);

  const byId = new Map(instances.map((i) => [i.geometry.id, i]));
  const first = instances[0].frames;
  const spp = first.samplesPerPixel;
  const [nx, ny, nz] = geometry.dims;
  const sliceLength = nx * ny * spp;
  for (const { geometry: g, frames: f } of instances) {
    if (f.rows !== ny || f.columns !== nx) {
      throw new VolumeAssemblyError('mixed-dimensions', `Instance ${g.id} decoded to ${f.columns}x${f.rows} pixels but the series grid is ${nx}x${ny}: its geometry record and pixel data disagree`);
    }
    if (f.frames !== Math.max(1, g.numberOfFrames)) {
      throw new VolumeAssemblyError('frame-count-mismatch', `Instance ${g.id} has ${f.frames} decoded frame(s) but its geometry lists ${g.numberOfFrames}: the Number of Frames (0028,0008) is wrong or the pixel data incomplete`);
    }
    if (f.samplesPerPixel !== spp) {
      throw new VolumeAssemblyError('mixed-pixel-format', `Instance ${g.id} has ${f.samplesPerPixel} sample(s) per pixel where the others have ${spp}: colour and greyscale images cannot share a volume; split the series`);
    }
  }

  const rescaleOf = (f: DecodedFrames, frame: number) => f.frameRescale?.[frame] ?? { slope: f.rescaleSlope, intercept: f.rescaleIntercept };
  let rescale = options.rescale ?? 'none';
  if (rescale === 'int16-or-float32') {
    const compact = spp === 1 ? stackRealInt16(geometry, byId, sliceLength, rescaleOf) : null;
    if (compact) return result(compact, 1, 0);
    rescale = 'float32';
  }
  let data: VoxelArray;
  if (rescale === 'float32') {
    data = new Float32Array(sliceLength * nz);
  } else {
    const type = first.data.constructor;
    const ref = rescaleOf(first, 0);
    for (const { geometry: g, frames: f } of instances) {
      if (f.data.constructor !== type) {
        throw new VolumeAssemblyError('mixed-pixel-format', `Instance ${g.id} stores pixels as ${f.data.constructor.name} where others use ${type.name} (different Bits Allocated or Pixel Representation): build the volume with { rescale: 'float32' }`);
      }
      for (let fr = 0; fr < f.frames; fr++) {
        const r = rescaleOf(f, fr);
        if (r.slope !== ref.slope || r.intercept !== ref.intercept) {
          throw new VolumeAssemblyError('mixed-rescale', `Instance ${g.id} has Rescale Slope/Intercept ${r.slope}/${r.intercept} where others have ${ref.slope}/${ref.intercept}, so one slope/intercept cannot describe the volume: build it with { rescale: 'float32' }`);
        }
      }
    }
    data = new (type as { new (n: number): VoxelArray })(sliceLength * nz);
  }

  geometry.slices.forEach((slice, k) => {
    const inst = byId.get(slice.id);
    if (!inst) throw new VolumeAssemblyError('unknown-instance', `The slice order names instance ${slice.id}, which was not given`);
    const src = inst.frames.data.subarray(slice.frame * sliceLength, (slice.frame + 1) * sliceLength);
    if (rescale === 'float32') {
      const { slope, intercept } = rescaleOf(inst.frames, slice.frame);
      // Convert with the native typed-array copy, then rescale in place on the one Float32Array: a loop reading
      // the instances' differently typed arrays runs ~5x slower (megamorphic element access).
      const base = k * sliceLength;
      data.set(src, base);
      if (slope !== 1 || intercept !== 0) {
        const out = data as Float32Array;
        for (let n = base, end = base + sliceLength; n < end; n++) out[n] = out[n] * slope + intercept;
      }
    } else {
      data.set(src, k * sliceLength);
    }
  });

  const ref = rescaleOf(first, 0);
  return rescale === 'float32' ? result(data, 1, 0) : result(data, ref.slope, ref.intercept);

  function result(voxels: VoxelArray, rescaleSlope: number, rescaleIntercept: number): SeriesVolume {
    return { geometry, dims: geometry.dims, data: voxels, affineRas: geometry.affineRas, affineLps: geometry.affineLps, samplesPerPixel: spp, photometric: first.photometric, rescaleSlope, rescaleIntercept };
  }
}

/**
 * Real values (stored * slope + intercept) stacked straight into an Int16Array, or null as soon as a slope or
 * intercept is fractional or a value falls outside int16 (the caller then builds float32).
 */
function stackRealInt16(
  geometry: SeriesGeometry,
  byId: Map<string, InstanceForVolume>,
  sliceLength: number,
  rescaleOf: (f: DecodedFrames, frame: number) => { slope: number; intercept: number },
): Int16Array | null {
  for (const slice of geometry.slices) {
    const inst = byId.get(slice.id);
    if (!inst) throw new VolumeAssemblyError('unknown-instance', `The slice order names instance ${slice.id}, which was not given`);
    const { slope, intercept } = rescaleOf(inst.frames, slice.frame);
    if (!Number.isInteger(slope) || !Number.isInteger(intercept)) return null;
  }
  const out = new Int16Array(sliceLength * geometry.slices.length);
  for (let k = 0; k < geometry.slices.length; k++) {
    const slice = geometry.slices[k];
    const frames = byId.get(slice.id)!.frames;
    const { slope, intercept } = rescaleOf(frames, slice.frame);
    const src = frames.data.subarray(slice.frame * sliceLength, (slice.frame + 1) * sliceLength);
    const base = k * sliceLength;
    for (let n = 0; n < sliceLength; n++) {
      const v = src[n] * slope + intercept;
      if (v < -32768 || v > 32767) return null;
      out[base + n] = v;
    }
  }
  return out;
}

/** Parses, decodes and stacks the files of one series (a convenience over buildVolume). */
export async function volumeFromDicomFiles(files: (Buffer | ParsedDicom)[], options: BuildVolumeOptions = {}): Promise<SeriesVolume> {
  const instances: InstanceForVolume[] = [];
  for (const file of files) {
    const parsed = Buffer.isBuffer(file) ? readDicom(file) : file;
    instances.push({
      geometry: instanceGeometryFromDicom(parsed),
      // A dataset handed in parsed may still be used by the caller; one parsed here is ours to consume.
      frames: await decodeFrames(Buffer.isBuffer(file) ? { buffer: file, parsed } : parsed, { consumeParsed: Buffer.isBuffer(file) }),
    });
  }
  return buildVolume(instances, options);
}
