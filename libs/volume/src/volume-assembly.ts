// Stacks decoded frames into one volume in geometric slice order. Voxel (i, j, k) is column i, row j (DICOM
// top-to-bottom) of the k-th slice along the normal, so the volume's LPS affine is the series geometry's and its
// orientation code is that of the acquisition (an axial HFS series reads "LPS"). No flips happen here: to match
// a tool with other habits (dcm2niix flips rows), reorient() the result.
import { readDicom, type ParsedDicom } from '@contour/dicom';
import type { Mat4 } from './affine';
import { instanceGeometryFromDicom } from './dicom-geometry';
import { luminanceInto } from './luminance';
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
  /** Values per voxel: the images' own under rescale 'none'; 1 otherwise (colour is then its luminance). */
  samplesPerPixel: number;
  /** What the voxels are: the images' own under rescale 'none'; MONOCHROME2 for colour stacked as luminance. */
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
   * Real values are one per voxel: colour images become their luminance (luminanceInto, as float32), as the volume
   * of one image by itself does, and may share the volume with greyscale ones (an ultrasound series of B-mode and
   * colour Doppler cines); only 'none' keeps a colour image's samples (samplesPerPixel values per voxel).
   */
  rescale?: 'none' | 'float32' | 'int16-or-float32';
  tolerances?: GeometryTolerances;
}

export interface InstanceForVolume {
  geometry: InstanceGeometry;
  frames: DecodedFrames;
}

/** Builds a volume from already-decoded instances (all held at once; VolumeBuilder takes one at a time). */
export function buildVolume(instances: InstanceForVolume[], options: BuildVolumeOptions = {}): SeriesVolume {
  if (!instances.length) throw new VolumeAssemblyError('empty', 'No images were given, so there is no volume to build');
  const builder = new VolumeBuilder(
    instances.map((i) => i.geometry),
    options,
  );
  for (const i of instances) builder.add(i.geometry.id, i.frames);
  return builder.finish();
}

type RescaleOf = (f: DecodedFrames, frame: number) => { slope: number; intercept: number };
const rescaleOf: RescaleOf = (f, frame) => f.frameRescale?.[frame] ?? { slope: f.rescaleSlope, intercept: f.rescaleIntercept };

/**
 * Builds a volume one decoded instance at a time: the series geometry comes first (from the instances'
 * geometry records, as ingest stores them), then each instance is copied into its slices as it is added and
 * can be dropped. A series then needs its own size in memory plus one instance, where holding every decoded
 * instance first needs two to three times that (and the garbage collector's time to match).
 */
export class VolumeBuilder {
  readonly geometry: SeriesGeometry;
  private readonly slicesOf = new Map<string, { k: number; frame: number }[]>();
  private readonly records: Map<string, InstanceGeometry>;
  private readonly filled: Uint8Array;
  private mode: 'none' | 'float32' | 'int16';
  private data: VoxelArray | null = null;
  /** What the volume takes from its first instance (not the instance itself: its pixels can be dropped). */
  private first: { samplesPerPixel: number; photometric: string; type: Function; rescale: { slope: number; intercept: number } } | null = null;
  private sliceLength = 0;
  /** Real values (rescale other than 'none'): one per voxel, colour stacked as its luminance. */
  private readonly real: boolean;
  /** Some instance was colour, stacked as its luminance. */
  private colour = false;

  constructor(
    records: InstanceGeometry[],
    options: BuildVolumeOptions = {},
  ) {
    if (!records.length) throw new VolumeAssemblyError('empty', 'No images were given, so there is no volume to build');
    this.geometry = computeSeriesGeometry(records, options.tolerances);
    this.records = new Map(records.map((r) => [r.id, r]));
    const mixed = this.geometry.issues.find((i) => i.code === 'mixed-dimensions');
    if (mixed) throw new VolumeAssemblyError('mixed-dimensions', mixed.message);
    this.geometry.slices.forEach((slice, k) => {
      const list = this.slicesOf.get(slice.id) ?? [];
      list.push({ k, frame: slice.frame });
      this.slicesOf.set(slice.id, list);
    });
    this.filled = new Uint8Array(this.geometry.slices.length);
    const rescale = options.rescale ?? 'none';
    this.mode = rescale === 'int16-or-float32' ? 'int16' : rescale;
    this.real = rescale !== 'none';
  }

  /** Copies the frames of instance `id` into their slices. */
  add(id: string, f: DecodedFrames): void {
    const slices = this.slicesOf.get(id);
    if (!slices) throw new VolumeAssemblyError('unknown-instance', `Instance ${id} is not part of this series' geometry`);
    const [nx, ny, nz] = this.geometry.dims;
    checkDecoded(id, f, this.geometry, this.records);
    if (!this.first) {
      this.first = { samplesPerPixel: f.samplesPerPixel, photometric: f.photometric, type: f.data.constructor, rescale: rescaleOf(f, 0) };
      this.sliceLength = this.real ? nx * ny : nx * ny * f.samplesPerPixel;
      if (this.mode === 'int16' && f.samplesPerPixel !== 1) this.mode = 'float32';
      const n = this.sliceLength * nz;
      this.data = this.mode === 'float32' ? new Float32Array(n) : this.mode === 'int16' ? new Int16Array(n) : new (f.data.constructor as { new (n: number): VoxelArray })(n);
    }
    const first = this.first;
    if (!this.real && f.samplesPerPixel !== first.samplesPerPixel) {
      throw new VolumeAssemblyError('mixed-pixel-format', `Instance ${id} has ${f.samplesPerPixel} sample(s) per pixel where the others have ${first.samplesPerPixel}: colour and greyscale images cannot share a volume of stored values; build it with { rescale: 'float32' }, which stacks colour as its luminance`);
    }
    if (this.mode === 'none') {
      if (f.data.constructor !== first.type) {
        throw new VolumeAssemblyError('mixed-pixel-format', `Instance ${id} stores pixels as ${f.data.constructor.name} where others use ${first.type.name} (different Bits Allocated or Pixel Representation): build the volume with { rescale: 'float32' }`);
      }
      const ref = first.rescale;
      for (let fr = 0; fr < f.frames; fr++) {
        const r = rescaleOf(f, fr);
        if (r.slope !== ref.slope || r.intercept !== ref.intercept) {
          throw new VolumeAssemblyError('mixed-rescale', `Instance ${id} has Rescale Slope/Intercept ${r.slope}/${r.intercept} where others have ${ref.slope}/${ref.intercept}, so one slope/intercept cannot describe the volume: build it with { rescale: 'float32' }`);
        }
      }
    }
    const L = this.sliceLength;
    const F = nx * ny * f.samplesPerPixel;
    const colour = this.real && f.samplesPerPixel > 1;
    if (colour) {
      if (this.mode === 'int16') this.toFloat32();
      this.colour = true;
    }
    for (const { k, frame } of slices) {
      const src = f.data.subarray(frame * F, (frame + 1) * F);
      if (colour) {
        // No rescale: the Modality LUT is for greyscale images (a colour image's samples are its values).
        luminanceInto(src, f.samplesPerPixel, f.photometric, this.data as Float32Array, k * L, L);
        this.filled[k] = 1;
        continue;
      }
      const { slope, intercept } = rescaleOf(f, frame);
      if (this.mode === 'int16' && !copyRealInt16(f, src, slope, intercept, this.data as Int16Array, k * L)) this.toFloat32();
      if (this.mode === 'float32') {
        // Convert with the native typed-array copy, then rescale in place on the one Float32Array: a loop reading
        // the instances' differently typed arrays runs ~5x slower (megamorphic element access).
        const out = this.data as Float32Array;
        const base = k * L;
        out.set(src, base);
        if (slope !== 1 || intercept !== 0) for (let n = base, end = base + L; n < end; n++) out[n] = out[n] * slope + intercept;
      } else if (this.mode === 'none') {
        this.data!.set(src, k * L);
      }
      this.filled[k] = 1;
    }
  }

  /**
   * Leaves the slices of instance `id` blank (zeros) instead of its pixels: an image a manager excluded after a
   * privacy review keeps its place in the grid, so the masks of the rest of the series keep their voxels.
   */
  blank(id: string): void {
    const slices = this.slicesOf.get(id);
    if (!slices) throw new VolumeAssemblyError('unknown-instance', `Instance ${id} is not part of this series' geometry`);
    for (const { k } of slices) this.filled[k] = 1;
  }

  /** Real values do not all fit int16 (or are fractional): what is stacked so far moves to float32. */
  private toFloat32() {
    const wide = new Float32Array(this.data!.length);
    wide.set(this.data!);
    this.data = wide;
    this.mode = 'float32';
  }

  finish(): SeriesVolume {
    const missing = this.geometry.slices.find((_, k) => !this.filled[k]);
    if (missing) throw new VolumeAssemblyError('unknown-instance', `The slice order names instance ${missing.id}, which was not given`);
    if (!this.first || !this.data) {
      // Every image blanked: a greyscale volume of zeros on the same grid (a view group's series whose images were
      // all excluded after the group's task was made still has its place in the task).
      const n = this.geometry.dims[0] * this.geometry.dims[1] * this.geometry.dims[2];
      this.first = { samplesPerPixel: 1, photometric: 'MONOCHROME2', type: Int16Array, rescale: { slope: 1, intercept: 0 } };
      this.data = this.mode === 'float32' ? new Float32Array(n) : new Int16Array(n);
    }
    const ref = this.first.rescale;
    const raw = this.mode === 'none';
    const g = this.geometry;
    const samplesPerPixel = this.real ? 1 : this.first.samplesPerPixel;
    const photometric = this.colour ? 'MONOCHROME2' : this.first.photometric;
    return { geometry: g, dims: g.dims, data: this.data, affineRas: g.affineRas, affineLps: g.affineLps, samplesPerPixel, photometric, rescaleSlope: raw ? ref.slope : 1, rescaleIntercept: raw ? ref.intercept : 0 };
  }
}

/** The decoded instance fits the series grid: its size and its number of frames. */
function checkDecoded(id: string, f: DecodedFrames, geometry: SeriesGeometry, records: Map<string, InstanceGeometry>) {
  const [nx, ny] = geometry.dims;
  const frames = Math.max(1, records.get(id)?.numberOfFrames ?? 1);
  if (f.rows !== ny || f.columns !== nx) {
    throw new VolumeAssemblyError('mixed-dimensions', `Instance ${id} decoded to ${f.columns}x${f.rows} pixels but the series grid is ${nx}x${ny}: its geometry record and pixel data disagree`);
  }
  if (f.frames !== frames) {
    throw new VolumeAssemblyError('frame-count-mismatch', `Instance ${id} has ${f.frames} decoded frame(s) but its geometry lists ${frames}: the Number of Frames (0028,0008) is wrong or the pixel data incomplete`);
  }
}

/** Why a series cannot be streamed as int16 slices (the caller builds the whole volume instead). */
export class NotStreamableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotStreamableError';
  }
}

/**
 * A series' slices in geometric order as real values (stored * slope + intercept) in int16, reading one instance
 * at a time and never holding the volume: what the series' NIfTI is written from (writeNiftiGzipFromSlices). Same
 * geometry and checks as VolumeBuilder. Throws NotStreamableError, before or while streaming, when a value is
 * fractional or outside int16, the image is not greyscale, or an instance's slices are not next to each other in
 * the slice order (an interleaved multi-frame series would be decoded again for every run).
 */
export class Int16SliceStream {
  readonly geometry: SeriesGeometry;
  private readonly records: Map<string, InstanceGeometry>;

  constructor(records: InstanceGeometry[], tolerances?: GeometryTolerances) {
    if (!records.length) throw new VolumeAssemblyError('empty', 'No images were given, so there is no volume to build');
    this.geometry = computeSeriesGeometry(records, tolerances);
    this.records = new Map(records.map((r) => [r.id, r]));
    const mixed = this.geometry.issues.find((i) => i.code === 'mixed-dimensions');
    if (mixed) throw new VolumeAssemblyError('mixed-dimensions', mixed.message);
    const done = new Set<string>();
    this.geometry.slices.forEach((slice, k) => {
      if (k > 0 && this.geometry.slices[k - 1].id === slice.id) return;
      if (done.has(slice.id)) throw new NotStreamableError(`Instance ${slice.id} has slices apart from each other in the slice order`);
      done.add(slice.id);
    });
  }

  /**
   * Each slice (a new Int16Array, nx * ny values) in order; `read` decodes one instance. The slices of the
   * instances in `blank` are zeros, and those are not read (see VolumeBuilder.blank).
   */
  async *slices(read: (id: string) => Promise<DecodedFrames>, blank: ReadonlySet<string> = new Set()): AsyncGenerator<Int16Array> {
    const [nx, ny] = this.geometry.dims;
    const L = nx * ny;
    const slices = this.geometry.slices;
    for (let k = 0; k < slices.length; ) {
      const id = slices[k].id;
      if (blank.has(id)) {
        for (; k < slices.length && slices[k].id === id; k++) yield new Int16Array(L);
        continue;
      }
      const f = await read(id);
      checkDecoded(id, f, this.geometry, this.records);
      if (f.samplesPerPixel !== 1) throw new NotStreamableError(`Instance ${id} has ${f.samplesPerPixel} samples per pixel; int16 slices are greyscale`);
      for (; k < slices.length && slices[k].id === id; k++) {
        const frame = slices[k].frame;
        const { slope, intercept } = rescaleOf(f, frame);
        const out = new Int16Array(L);
        if (!copyRealInt16(f, f.data.subarray(frame * L, (frame + 1) * L), slope, intercept, out, 0)) {
          throw new NotStreamableError(`Instance ${id} has real values that are fractional or outside int16 (slope ${slope}, intercept ${intercept})`);
        }
        yield out;
      }
    }
  }
}

/**
 * Real values (stored * slope + intercept) of one slice into an Int16Array at `base`; false (and the slice
 * left unfinished) when the slope or intercept is fractional or a value falls outside int16. When Bits Stored
 * bounds every stored value so that they and the real values fit int16 (12-bit CT with intercept -1024: always),
 * the slice is copied by the native typed-array copy and rescaled in place on the Int16Array, with no per-voxel
 * range check; a loop reading the decoders' differently typed arrays would be several times slower.
 */
function copyRealInt16(f: DecodedFrames, src: VoxelArray, slope: number, intercept: number, out: Int16Array, base: number): boolean {
  if (!Number.isInteger(slope) || !Number.isInteger(intercept)) return false;
  const n = src.length;
  const stored = storedRange(f);
  if (stored) {
    const [lo, hi] = stored;
    const a = slope * lo + intercept;
    const b = slope * hi + intercept;
    if (lo >= -32768 && hi <= 32767 && Math.min(a, b) >= -32768 && Math.max(a, b) <= 32767) {
      out.set(src, base);
      if (slope !== 1 || intercept !== 0) for (let i = base, end = base + n; i < end; i++) out[i] = out[i] * slope + intercept;
      return true;
    }
  }
  for (let i = 0; i < n; i++) {
    const v = src[i] * slope + intercept;
    if (v < -32768 || v > 32767) return false;
    out[base + i] = v;
  }
  return true;
}

/** The range Bits Stored allows for integer pixels (decoding masks or sign-extends to it); null for others. */
function storedRange(f: DecodedFrames): [number, number] | null {
  const bits = f.bitsStored;
  if (!(f.data instanceof Uint8Array || f.data instanceof Int8Array || f.data instanceof Uint16Array || f.data instanceof Int16Array) || !(bits >= 1 && bits <= 16)) return null;
  return f.pixelRepresentation === 1 ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
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
