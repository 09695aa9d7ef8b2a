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
   * 'float32': apply each slice's own slope/intercept and return real values (HU for CT).
   */
  rescale?: 'none' | 'float32';
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

  const rescale = options.rescale ?? 'none';
  const rescaleOf = (f: DecodedFrames, frame: number) => f.frameRescale?.[frame] ?? { slope: f.rescaleSlope, intercept: f.rescaleIntercept };
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
  return {
    geometry,
    dims: geometry.dims,
    data,
    affineRas: geometry.affineRas,
    affineLps: geometry.affineLps,
    samplesPerPixel: spp,
    photometric: first.photometric,
    rescaleSlope: rescale === 'float32' ? 1 : ref.slope,
    rescaleIntercept: rescale === 'float32' ? 0 : ref.intercept,
  };
}

/** Parses, decodes and stacks the files of one series (a convenience over buildVolume). */
export async function volumeFromDicomFiles(files: (Buffer | ParsedDicom)[], options: BuildVolumeOptions = {}): Promise<SeriesVolume> {
  const instances: InstanceForVolume[] = [];
  for (const file of files) {
    const parsed = Buffer.isBuffer(file) ? readDicom(file) : file;
    instances.push({
      geometry: instanceGeometryFromDicom(parsed),
      frames: await decodeFrames(Buffer.isBuffer(file) ? { buffer: file, parsed } : parsed),
    });
  }
  return buildVolume(instances, options);
}
