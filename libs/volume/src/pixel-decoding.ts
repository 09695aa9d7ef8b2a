// Pixel Data -> typed arrays, for every transfer syntax Contour accepts. Native syntaxes are read directly
// (dcmjs hands over the raw value bytes: little-endian as stored, big-endian NOT swapped, truncated values
// zero-padded); compressed ones go frame by frame through the dcmjs-codecs WebAssembly decoders (RLE, JPEG
// baseline/extended/lossless, JPEG-LS, JPEG 2000, HTJ2K, JPEG XL). We call the frame decoders ourselves rather
// than dcmjs-codecs' Transcoder because the Transcoder rejects frames split over several fragments (common in
// ultrasound) and re-encodes the whole dataset just to read pixels.
//
// Output: frames stacked in file order, each frame row by row (DICOM top-to-bottom, left-to-right), samples
// interleaved (RGB RGB ...), values as stored (Modality LUT not applied: use rescaleSlope/Intercept), with bits
// above BitsStored cleared and signed values sign-extended. Siemens MOSAIC images come out un-tiled: one frame
// per slice (see siemens-mosaic.ts).
import { readDicom, DicomRejection, type ParsedDicom } from '@contour/dicom';
import { PixelDecodeError } from './pixel-decode-error';
import { groupFragmentsIntoFrames, locateNativePixelData, readEncapsulatedPixelData } from './pixel-data-bytes';
import { mosaicLayout, untileMosaic, type MosaicLayout } from './siemens-mosaic';
import type { VoxelArray } from './voxel-data';

export interface DecodedFrames {
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  /** After decoding: 'RGB' when the stream held YBR colour, otherwise (0028,0004) as stored. */
  photometric: string;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Per-frame slope/intercept of an enhanced multi-frame when they differ between frames. */
  frameRescale?: { slope: number; intercept: number }[];
  transferSyntaxUid: string;
  /** Set for a Siemens MOSAIC: the layout it was un-tiled with. */
  mosaic?: MosaicLayout;
  /** frames x rows x columns x samplesPerPixel values. */
  data: VoxelArray;
}

export type DecodeInput = Buffer | ParsedDicom | { buffer: Buffer; parsed?: ParsedDicom };

export interface DecodeOptions {
  /** Cut Siemens MOSAIC images into slices (default true). */
  untileMosaic?: boolean;
  /**
   * The caller is done with the parsed dataset and the file: native pixel data may be decoded in place (in
   * dcmjs' copy of the value, or in the file's bytes after a header-only parse) instead of being copied first
   * (volume building; never when the dataset or the file is written out again).
   */
  consumeParsed?: boolean;
}

const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
} as const;

type CodecName = 'decodeRle' | 'decodeJpeg' | 'decodeJpegLs' | 'decodeJpeg2000' | 'decodeHtJpeg2000' | 'decodeJpegXl';

const CODEC_BY_SYNTAX: Record<string, { codec: CodecName; name: string }> = {
  '1.2.840.10008.1.2.5': { codec: 'decodeRle', name: 'RLE Lossless' },
  '1.2.840.10008.1.2.4.50': { codec: 'decodeJpeg', name: 'JPEG Baseline' },
  '1.2.840.10008.1.2.4.51': { codec: 'decodeJpeg', name: 'JPEG Extended' },
  '1.2.840.10008.1.2.4.57': { codec: 'decodeJpeg', name: 'JPEG Lossless' },
  '1.2.840.10008.1.2.4.70': { codec: 'decodeJpeg', name: 'JPEG Lossless SV1' },
  '1.2.840.10008.1.2.4.80': { codec: 'decodeJpegLs', name: 'JPEG-LS Lossless' },
  '1.2.840.10008.1.2.4.81': { codec: 'decodeJpegLs', name: 'JPEG-LS Near-Lossless' },
  '1.2.840.10008.1.2.4.90': { codec: 'decodeJpeg2000', name: 'JPEG 2000 Lossless' },
  '1.2.840.10008.1.2.4.91': { codec: 'decodeJpeg2000', name: 'JPEG 2000' },
  '1.2.840.10008.1.2.4.110': { codec: 'decodeJpegXl', name: 'JPEG XL Lossless' },
  '1.2.840.10008.1.2.4.111': { codec: 'decodeJpegXl', name: 'JPEG XL Recompression' },
  '1.2.840.10008.1.2.4.112': { codec: 'decodeJpegXl', name: 'JPEG XL' },
  '1.2.840.10008.1.2.4.201': { codec: 'decodeHtJpeg2000', name: 'HTJ2K Lossless' },
  '1.2.840.10008.1.2.4.202': { codec: 'decodeHtJpeg2000', name: 'HTJ2K Lossless RPCL' },
  '1.2.840.10008.1.2.4.203': { codec: 'decodeHtJpeg2000', name: 'HTJ2K' },
};

// Streams that end with an EOI/EOC marker (FFD9): a missing one means the stream was cut short, which libjpeg
// would otherwise "decode" into an image with a grey bottom instead of failing.
const ENDS_WITH_FFD9: CodecName[] = ['decodeJpeg', 'decodeJpegLs', 'decodeJpeg2000', 'decodeHtJpeg2000'];

type Codecs = typeof import('dcmjs-codecs');
let codecsModule: Codecs | undefined;
let codecsReady: Promise<Codecs> | undefined;

/** Loads and initialises the WebAssembly codecs once per process (about 100 ms). */
export function initializeCodecs(): Promise<Codecs> {
  codecsReady ??= (async () => {
    codecsModule ??= require('dcmjs-codecs') as Codecs;
    await codecsModule.NativeCodecs.initializeAsync();
    return codecsModule;
  })().catch((e) => {
    codecsReady = undefined;
    throw e;
  });
  return codecsReady;
}

/** A WebAssembly trap can leave the codec heap inconsistent: start from a fresh instance on the next decode. */
function resetCodecsAfterTrap(): void {
  codecsModule?.NativeCodecs.release();
  codecsReady = undefined;
}

const num = (v: unknown, fallback: number): number => {
  const n = typeof v === 'string' ? Number(v.trim()) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : fallback;
};

const firstItem = (seq: unknown): Record<string, any> | undefined => (Array.isArray(seq) ? seq[0] : seq && typeof seq === 'object' ? (seq as Record<string, any>) : undefined);

function rescaleOf(dataset: Record<string, any>): { slope: number; intercept: number; frames?: { slope: number; intercept: number }[] } {
  if (dataset.RescaleSlope !== undefined || dataset.RescaleIntercept !== undefined) {
    return { slope: num(dataset.RescaleSlope, 1), intercept: num(dataset.RescaleIntercept, 0) };
  }
  const shared = firstItem(firstItem(dataset.SharedFunctionalGroupsSequence)?.PixelValueTransformationSequence);
  const perFrame: unknown[] = Array.isArray(dataset.PerFrameFunctionalGroupsSequence) ? dataset.PerFrameFunctionalGroupsSequence : [];
  const frames = perFrame.map((fg) => {
    const t = firstItem((fg as Record<string, any>)?.PixelValueTransformationSequence) ?? shared;
    return { slope: num(t?.RescaleSlope, 1), intercept: num(t?.RescaleIntercept, 0) };
  });
  const base = frames[0] ?? { slope: num(shared?.RescaleSlope, 1), intercept: num(shared?.RescaleIntercept, 0) };
  const differs = frames.some((f) => f.slope !== base.slope || f.intercept !== base.intercept);
  return { ...base, frames: differs ? frames : undefined };
}

function toBytes(value: unknown): Uint8Array | undefined {
  if (value == null) return undefined;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'object' && typeof (value as ArrayBuffer).byteLength === 'number') return new Uint8Array(value as ArrayBuffer);
  return undefined;
}

function normalizeInput(input: DecodeInput): { parsed: ParsedDicom; file?: Uint8Array } {
  const fromBuffer = (buffer: Buffer): ParsedDicom => {
    try {
      return readDicom(buffer);
    } catch (e) {
      if (e instanceof DicomRejection && e.code === 'truncated') {
        throw new PixelDecodeError('truncated', `${e.message}; no pixel data can be read from it`, { cause: e });
      }
      throw e;
    }
  };
  if (Buffer.isBuffer(input)) return { parsed: fromBuffer(input), file: input };
  if ('dict' in input && 'dataset' in input) return { parsed: input };
  return { parsed: input.parsed ?? fromBuffer(input.buffer), file: input.buffer };
}

/** Bits per sample for the output array, and its constructor. */
function arrayFor(bitsAllocated: number, signed: boolean, float: 'none' | 'float' | 'double'): { make: (b: ArrayBuffer, offset?: number, length?: number) => VoxelArray; bytes: number } {
  if (float === 'float') return { make: (b, o, n) => new Float32Array(b, o, n), bytes: 4 };
  if (float === 'double') return { make: (b, o, n) => new Float64Array(b, o, n), bytes: 8 };
  switch (bitsAllocated) {
    case 1:
    case 8:
      return { make: (b, o, n) => (signed ? new Int8Array(b, o, n) : new Uint8Array(b, o, n)), bytes: 1 };
    case 16:
      return { make: (b, o, n) => (signed ? new Int16Array(b, o, n) : new Uint16Array(b, o, n)), bytes: 2 };
    case 32:
      return { make: (b, o, n) => (signed ? new Int32Array(b, o, n) : new Uint32Array(b, o, n)), bytes: 4 };
    default:
      throw new PixelDecodeError('unsupported-pixel-format', `Bits Allocated (0028,0100) is ${bitsAllocated}; only 1, 8, 16 and 32 are defined for images: the file is corrupt or not an image`);
  }
}

/** Clears bits above BitsStored and sign-extends signed values (e.g. 12-bit CT in 16-bit words, overlay bits). */
function applyBitsStored(data: VoxelArray, bitsStored: number, bitsAllocated: number, signed: boolean): void {
  if (bitsStored >= bitsAllocated || bitsAllocated > 32 || bitsAllocated === 1) return;
  if (signed) {
    const shift = 32 - bitsStored;
    for (let i = 0; i < data.length; i++) data[i] = (data[i] << shift) >> shift;
  } else {
    const mask = 2 ** bitsStored - 1;
    for (let i = 0; i < data.length; i++) data[i] = data[i] & mask;
  }
}

// Per-pixel loops below avoid global lookups (Math...), which are slow inside vm sandboxes such as Jest.
const round = Math.round;

function ybrFullToRgb(data: VoxelArray, pixels: number): void {
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : round(v));
  for (let p = 0; p < pixels; p++) {
    const y = data[3 * p];
    const cb = data[3 * p + 1] - 128;
    const cr = data[3 * p + 2] - 128;
    data[3 * p] = clamp(y + 1.402 * cr);
    data[3 * p + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    data[3 * p + 2] = clamp(y + 1.772 * cb);
  }
}

/** Native YBR_FULL_422: each pair of pixels is stored as Y1 Y2 Cb Cr; expand to full YBR (then to RGB). */
function expandYbr422(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, s = 0; p < pixels && s + 3 < src.length; p += 2, s += 4) {
    out[3 * p] = src[s];
    out[3 * p + 1] = src[s + 2];
    out[3 * p + 2] = src[s + 3];
    if (p + 1 < pixels) {
      out[3 * p + 3] = src[s + 1];
      out[3 * p + 4] = src[s + 2];
      out[3 * p + 5] = src[s + 3];
    }
  }
  return out;
}

function planarToInterleaved(data: Uint8Array, pixels: number, bytesPerSample: number, samples: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let s = 0; s < samples; s++) {
    for (let p = 0; p < pixels; p++) {
      for (let b = 0; b < bytesPerSample; b++) out[(p * samples + s) * bytesPerSample + b] = data[(s * pixels + p) * bytesPerSample + b];
    }
  }
  return out;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

function endsWithFfd9(stream: Uint8Array): boolean {
  // Encoders pad odd-length streams with 0x00 or 0xFF, so look for the marker among the last few bytes. Inside
  // entropy-coded JPEG and JPEG 2000 data an FF byte is never followed by D9, so a match there is the real end.
  for (let i = stream.length - 2; i >= 0 && i >= stream.length - 8; i--) {
    if (stream[i] === 0xff && stream[i + 1] === 0xd9) return true;
  }
  return false;
}

function rleHeaderIsSound(stream: Uint8Array): boolean {
  if (stream.length < 64) return false;
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const segments = view.getUint32(0, true);
  if (segments < 1 || segments > 15) return false;
  let previous = 0;
  for (let s = 0; s < segments; s++) {
    const offset = view.getUint32(4 + 4 * s, true);
    if (offset < 64 || offset <= previous || offset >= stream.length) return false;
    previous = offset;
  }
  return true;
}

/**
 * What the samples of the frames decodeFrames gives for an image stored with these attributes are, as a
 * Photometric Interpretation, known from the header alone (WADO-RS metadata describes the frames it serves
 * without decoding them). Colour that is YCbCr in the file comes out RGB: native YBR_FULL / YBR_FULL_422 (8
 * bits), any non-RGB colour inside a JPEG stream (libjpeg is asked for RGB), and JPEG 2000's YBR_ICT / YBR_RCT
 * (OpenJPEG undoes the component transform; decodeFrames' `photometric` keeps the stored name for those, and no
 * shared file has one). Samples always come out interleaved (Planar Configuration 0).
 */
export function decodedPhotometric(stored: { photometric?: string; samplesPerPixel: number; bitsAllocated: number; transferSyntaxUid: string }): string {
  const photometric = (stored.photometric ?? (stored.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2')).trim();
  if (stored.samplesPerPixel !== 3 || photometric === 'RGB') return photometric;
  const codec = CODEC_BY_SYNTAX[stored.transferSyntaxUid]?.codec;
  if (codec === 'decodeJpeg') return 'RGB';
  if ((codec === 'decodeJpeg2000' || codec === 'decodeHtJpeg2000') && (photometric === 'YBR_ICT' || photometric === 'YBR_RCT')) return 'RGB';
  if ((photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') && stored.bitsAllocated === 8) return 'RGB';
  return photometric;
}

/**
 * Decodes all frames of a DICOM image.
 * @throws PixelDecodeError with a code and a message a person can act on; DicomRejection when the file itself
 * cannot be parsed (see @contour/dicom readDicom).
 */
export async function decodeFrames(input: DecodeInput, options: DecodeOptions = {}): Promise<DecodedFrames> {
  const normalized = normalizeInput(input);
  const { file } = normalized;
  let parsed = normalized.parsed;
  const nativeSyntax = parsed.transferSyntaxUid === TS.implicitLE || parsed.transferSyntaxUid === TS.explicitLE || parsed.transferSyntaxUid === TS.explicitBE;
  // A header-only parse (readDicom untilPixelData): native pixels are read from the file below; anything
  // else (encapsulated, deflated) needs the whole file parsed.
  if (parsed.headerOnly && (!nativeSyntax || !file)) {
    if (!file) throw new Error('decodeFrames got a header-only parse without the file bytes');
    parsed = readDicom(Buffer.from(file.buffer, file.byteOffset, file.byteLength));
  }
  const ds = parsed.dataset;
  const dict = parsed.dict.dict;
  const ts = parsed.transferSyntaxUid;

  const floatElement = dict['7FE00008'] ? 'float' : dict['7FE00009'] ? 'double' : 'none';
  // Float and Double Float Pixel Data come before (7FE0,0010): a header-only parse has read them already.
  const fromFile = Boolean(parsed.headerOnly) && floatElement === 'none';
  const pixelElement = dict['7FE00010'] ?? dict['7FE00008'] ?? dict['7FE00009'];
  // After a header-only parse, the file tells: no Pixel Data tag at all (a truncated element is found below).
  const pixelTag = ts === TS.explicitBE ? [0x7f, 0xe0, 0x00, 0x10] : [0xe0, 0x7f, 0x10, 0x00];
  const noPixels = fromFile ? floatElement === 'none' && Buffer.from(file!.buffer, file!.byteOffset, file!.byteLength).indexOf(Buffer.from(pixelTag), 132) < 0 : !pixelElement?.Value?.length;
  if (noPixels) {
    throw new PixelDecodeError('missing-pixel-data', `This ${parsed.modality} object has no Pixel Data (7FE0,0010): it is not an image (e.g. a report, structure set or waveform), so there is nothing to decode`);
  }

  const rows = num(ds.Rows, 0);
  const columns = num(ds.Columns, 0);
  const frames = Math.max(1, Math.floor(num(ds.NumberOfFrames, 1)));
  const samplesPerPixel = Math.max(1, num(ds.SamplesPerPixel, 1));
  const bitsAllocated = floatElement === 'float' ? 32 : floatElement === 'double' ? 64 : num(ds.BitsAllocated, 0);
  const bitsStored = num(ds.BitsStored, bitsAllocated);
  const pixelRepresentation = floatElement === 'none' ? num(ds.PixelRepresentation, 0) : 1;
  const signed = pixelRepresentation === 1;
  let photometric = String(ds.PhotometricInterpretation ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2')).trim();
  const planar = num(ds.PlanarConfiguration, 0) === 1;
  if (!(rows > 0 && columns > 0)) {
    throw new PixelDecodeError('unsupported-pixel-format', `The image has Rows ${ds.Rows} and Columns ${ds.Columns}; both must be positive to read its pixels: the header is damaged`);
  }
  const out = arrayFor(bitsAllocated, signed && floatElement === 'none', floatElement);
  const pixelsPerFrame = rows * columns;
  const samplesPerFrame = pixelsPerFrame * samplesPerPixel;
  // Encapsulated 1-bit frames are packed one by one (each starts on a byte); native ones run on across frames.
  const frameBytes = bitsAllocated === 1 ? Math.ceil(samplesPerFrame / 8) : samplesPerFrame * out.bytes;
  const native = ts === TS.implicitLE || ts === TS.explicitLE || ts === TS.deflatedLE || ts === TS.explicitBE;

  let bytes: Uint8Array; // all frames, decoded, little-endian, interleaved samples (before 1-bit unpacking)
  let inPlace = false; // `bytes` is a view on dcmjs' own copy of the value (consumeParsed)
  if (native) {
    // 1-bit data (SEG) is packed continuously across frames; YBR_FULL_422 stores 2 bytes per pixel.
    const expected =
      bitsAllocated === 1
        ? Math.ceil((pixelsPerFrame * samplesPerPixel * frames) / 8)
        : photometric === 'YBR_FULL_422'
          ? pixelsPerFrame * 2 * frames
          : frameBytes * frames;
    let value: Uint8Array | undefined;
    let available: number;
    if (fromFile) {
      // The pixels as the file holds them, found by their declared length (no element: no pixel data).
      const located = locateNativePixelData(file!, expected, { bigEndian: ts === TS.explicitBE, explicitVr: ts !== TS.implicitLE });
      if (!located) throw new PixelDecodeError('missing-pixel-data', `This ${parsed.modality} object has no Pixel Data (7FE0,0010) of the ${expected} bytes its header describes: it is not an image, or the header is damaged`);
      value = file!.subarray(located.valueOffset, located.valueOffset + located.availableLength);
      available = located.availableLength;
    } else {
      value = toBytes(pixelElement!.Value![0]);
      available = value?.byteLength ?? 0;
      if (file && ts !== TS.deflatedLE) {
        // dcmjs zero-pads a value the file cuts short; the original bytes tell how much really arrived.
        const located = locateNativePixelData(file, expected, { bigEndian: ts === TS.explicitBE, explicitVr: ts !== TS.implicitLE });
        if (located) available = Math.min(available, located.availableLength);
      }
    }
    if (!value || available < expected) {
      throw new PixelDecodeError(
        'truncated',
        `The Pixel Data holds ${available} bytes but ${columns}x${rows} pixels x ${frames} frame(s) x ${samplesPerPixel} sample(s) at ${bitsAllocated} bits need ${expected}: the file was cut short in transfer; send it again`,
      );
    }
    // Our own bytes to modify: a copy (aligned), or dcmjs' value itself when the caller gave it up.
    inPlace = Boolean(options.consumeParsed) && value.byteOffset % out.bytes === 0;
    bytes = inPlace ? value.subarray(0, expected) : value.slice(0, expected);
    if (ts === TS.explicitBE && out.bytes > 1) swapBytes(bytes, out.bytes);
    if (photometric === 'YBR_FULL_422' && bitsAllocated === 8) {
      const expanded = new Uint8Array(pixelsPerFrame * 3 * frames);
      for (let f = 0; f < frames; f++) expanded.set(expandYbr422(bytes.subarray(f * pixelsPerFrame * 2, (f + 1) * pixelsPerFrame * 2), pixelsPerFrame), f * pixelsPerFrame * 3);
      bytes = expanded;
      photometric = 'YBR_FULL';
    } else if (planar && samplesPerPixel > 1) {
      const interleaved = new Uint8Array(bytes.length);
      for (let f = 0; f < frames; f++) interleaved.set(planarToInterleaved(bytes.subarray(f * frameBytes, (f + 1) * frameBytes), pixelsPerFrame, out.bytes, samplesPerPixel), f * frameBytes);
      bytes = interleaved;
    }
  } else {
    const decoded = await decodeEncapsulated({ parsed, file, ts, rows, columns, frames, samplesPerPixel, bitsAllocated, bitsStored, pixelRepresentation, photometric, planar, frameBytes, outBytes: out.bytes });
    bytes = decoded.bytes;
    photometric = decoded.photometric;
  }

  let data: VoxelArray;
  if (bitsAllocated === 1) {
    // Unpack to one byte per pixel, least significant bit first (PS3.5 8.1.1).
    const unpacked = new Uint8Array(samplesPerFrame * frames);
    for (let f = 0; f < frames; f++) {
      const firstBit = native ? f * samplesPerFrame : f * frameBytes * 8;
      for (let i = 0; i < samplesPerFrame; i++) {
        const bit = firstBit + i;
        unpacked[f * samplesPerFrame + i] = (bytes[bit >> 3] >> (bit & 7)) & 1;
      }
    }
    data = unpacked;
  } else {
    // `bytes` is ours: reuse its buffer when it spans it whole or is dcmjs' value given up by the caller (codec
    // output may sit in a larger shared buffer: that is copied out).
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    data = whole || inPlace ? out.make(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / out.bytes) : out.make(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    if (floatElement === 'none') applyBitsStored(data, bitsStored, bitsAllocated, signed);
  }
  if (photometric === 'YBR_FULL' && samplesPerPixel === 3 && bitsAllocated === 8) {
    ybrFullToRgb(data, pixelsPerFrame * frames);
    photometric = 'RGB';
  }

  const rescale = rescaleOf(ds);
  const result: DecodedFrames = {
    rows,
    columns,
    frames,
    samplesPerPixel,
    bitsAllocated,
    bitsStored,
    pixelRepresentation,
    photometric,
    rescaleSlope: rescale.slope,
    rescaleIntercept: rescale.intercept,
    frameRescale: rescale.frames,
    transferSyntaxUid: ts,
    data,
  };
  if (options.untileMosaic !== false && frames === 1) {
    const layout = mosaicLayout(ds, dict);
    if (layout) {
      return { ...result, rows: layout.tileRows, columns: layout.tileColumns, frames: layout.images, mosaic: layout, data: untileMosaic(data, layout, samplesPerPixel) };
    }
  }
  return result;
}

interface EncapsulatedContext {
  parsed: ParsedDicom;
  file?: Uint8Array;
  ts: string;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  photometric: string;
  planar: boolean;
  frameBytes: number;
  outBytes: number;
}

/** Decodes every frame with the codec of the transfer syntax; returns the frames' bytes and the photometric they came out in. */
async function decodeEncapsulated(c: EncapsulatedContext): Promise<{ bytes: Uint8Array; photometric: string }> {
  const syntax = CODEC_BY_SYNTAX[c.ts];
  if (!syntax) {
    throw new PixelDecodeError(
      'unsupported-transfer-syntax',
      `The pixel data is encoded with transfer syntax ${c.ts}, which Contour cannot decode (supported: native, RLE, JPEG, JPEG-LS, JPEG 2000, HTJ2K, JPEG XL): ask the sender to transcode to Explicit VR Little Endian or a lossless JPEG syntax`,
    );
  }
  const where = `${syntax.name} (${c.ts})`;
  let streams: Uint8Array[] | undefined;
  const raw = c.file ? readEncapsulatedPixelData(c.file) : undefined;
  if (raw) {
    if (!raw.terminated) {
      throw new PixelDecodeError(
        'corrupt-pixel-data',
        `The ${where} pixel data ends ${raw.truncatedFragment ? 'inside a fragment' : 'without its Sequence Delimitation Item'}: the file was cut short (too short), so frames may be missing or incomplete; send the file again`,
      );
    }
    streams = groupFragmentsIntoFrames(raw.fragments, c.frames, raw);
  } else {
    const fragments = (c.parsed.dict.dict['7FE00010']?.Value ?? []).map(toBytes).filter((b): b is Uint8Array => !!b);
    streams = groupFragmentsIntoFrames(fragments, c.frames);
  }
  if (!streams) {
    throw new PixelDecodeError('corrupt-pixel-data', `The ${where} pixel data cannot be split into the ${c.frames} frame(s) the header announces: fragments are missing or the Number of Frames (0028,0008) is wrong`);
  }

  const codecs = await initializeCodecs();
  const output = new Uint8Array(c.frameBytes * c.frames);
  let photometric = c.photometric;
  for (let f = 0; f < c.frames; f++) {
    const stream = streams[f];
    const frameLabel = c.frames > 1 ? `frame ${f + 1} of ${c.frames}` : 'the image';
    const structural = syntax.codec === 'decodeRle' ? rleHeaderIsSound(stream) : ENDS_WITH_FFD9.includes(syntax.codec) ? endsWithFfd9(stream) : stream.length > 0;
    if (!structural) {
      throw new PixelDecodeError('corrupt-pixel-data', `The ${where} stream of ${frameLabel} is incomplete (${stream.length} bytes, no end-of-image marker or a broken header): the file is damaged or cut short; send it again`);
    }
    const context = new codecs.Context({
      width: c.columns,
      height: c.rows,
      bitsAllocated: c.bitsAllocated,
      bitsStored: c.bitsStored,
      samplesPerPixel: c.samplesPerPixel,
      pixelRepresentation: c.pixelRepresentation,
      planarConfiguration: c.planar ? 1 : 0,
      photometricInterpretation: c.photometric,
      encodedBuffer: stream,
    });
    let decoded: Uint8Array | undefined;
    let planarOut = false;
    try {
      // Lossy JPEG colour is YCbCr inside the stream: ask libjpeg for RGB, as dcmjs-codecs' own JPEG codec does.
      const params = syntax.codec === 'decodeJpeg' ? { convertColorspaceToRgb: c.samplesPerPixel === 3 && c.photometric !== 'RGB' } : {};
      const result = codecs.NativeCodecs[syntax.codec](context, params);
      decoded = result.getDecodedBuffer();
      planarOut = result.getPlanarConfiguration() === 1;
      photometric = result.getPhotometricInterpretation() ?? c.photometric;
    } catch (e) {
      const message = e instanceof Error ? e.message.trim() : String(e);
      if (e instanceof WebAssembly.RuntimeError || /RuntimeError|unreachable|out of bounds/i.test(message)) resetCodecsAfterTrap();
      throw new PixelDecodeError('corrupt-pixel-data', `The ${where} stream of ${frameLabel} could not be decoded (${message}): the compressed data is corrupt; re-export the image from the source`, { cause: e });
    }
    if (!decoded || decoded.length < c.frameBytes) {
      throw new PixelDecodeError('corrupt-pixel-data', `Decoding ${frameLabel} (${where}) gave ${decoded?.length ?? 0} bytes instead of ${c.frameBytes}: the stream does not match Rows/Columns/Bits Allocated in the header`);
    }
    let frame = decoded.subarray(0, c.frameBytes);
    if (planarOut && c.samplesPerPixel > 1) frame = planarToInterleaved(frame, c.rows * c.columns, c.outBytes, c.samplesPerPixel);
    output.set(frame, f * c.frameBytes);
  }
  return { bytes: output, photometric };
}

/**
 * One frame of 1-bit pixels (one value a byte, as decodeFrames gives them) packed as Explicit VR Little Endian stores
 * them: pixel i in bit i % 8 of byte i / 8, the frame starting at bit 0 of its first byte, ceil(n / 8) bytes.
 */
export function packBits(values: Uint8Array): Buffer {
  const out = Buffer.alloc(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) if (values[i] & 1) out[i >> 3] |= 1 << (i & 7);
  return out;
}

/**
 * Decoded values as Explicit VR Little Endian pixel data holds them: 1-bit images packed (one frame after another,
 * without padding between frames), everything else as the values' own little-endian bytes.
 */
export function nativePixelBytes(bitsAllocated: number, values: VoxelArray): Buffer {
  return bitsAllocated === 1 ? packBits(values as Uint8Array) : Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}
