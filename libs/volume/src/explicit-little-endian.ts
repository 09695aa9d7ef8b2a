// An instance re-encoded as Explicit VR Little Endian, its pixels decoded by decodeFrames (the decoder the frames
// resource, volumes and pre-labelling use): what WADO-RS answers when a client asks for uncompressed instances,
// as every client does by default (PS3.18 8.7.3.5.2). dcmjs-codecs' Transcoder did this before and refused what
// the decoder reads (1-bit segmentations, JPEG frames split over several fragments), turned signed attributes of
// Implicit VR files unsigned, and gave monochrome images a Planar Configuration.
import { createHash } from 'node:crypto';
import { DicomRejection, EXPLICIT_VR_LITTLE_ENDIAN, ParsedDicom, readDicom, resolveImplicitVrs } from '@contour/dicom';
import { PixelDecodeError } from './pixel-decode-error';
import { decodedPhotometric, decodeFrames, nativePixelBytes } from './pixel-decoding';

type Element = { vr: string; Value?: unknown[] };
type Dataset = Record<string, Element>;

const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
const PIXEL_ELEMENTS = ['7FE00010', '7FE00008', '7FE00009'];
/** Bytes in a word of each binary VR whose words a big-endian file holds swapped (OB and UN are bytes). */
export const BINARY_WORD_BYTES: Record<string, number> = { OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };
/** Syntaxes whose pixels lost information: the converted instance says so (Lossy Image Compression, PS3.3 C.7.6.1.1.5). */
export const LOSSY_SYNTAXES = new Set(['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.81', '1.2.840.10008.1.2.4.91', '1.2.840.10008.1.2.4.112', '1.2.840.10008.1.2.4.203']);

/** Swaps the words of every binary value of a big-endian dataset (its sequences' items too) to little endian. */
function swapBinaryValues(dataset: Dataset, top = true): void {
  for (const [tag, el] of Object.entries(dataset)) {
    if (el.vr === 'SQ') {
      for (const item of (el.Value ?? []) as Dataset[]) if (item && typeof item === 'object') swapBinaryValues(item, false);
      continue;
    }
    const word = BINARY_WORD_BYTES[el.vr];
    // The top-level pixels are decoded already; an icon's (inside a sequence) are swapped like any other value.
    if (!word || (top && PIXEL_ELEMENTS.includes(tag))) continue;
    el.Value = ((el.Value ?? []) as unknown[]).map((v) => {
      if (!(v instanceof ArrayBuffer)) return v;
      const bytes = Buffer.from(new Uint8Array(v).slice());
      if (bytes.length % word !== 0) return v;
      if (word === 2) bytes.swap16();
      else if (word === 4) bytes.swap32();
      else bytes.swap64();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    });
  }
}

/** An even-length ArrayBuffer of these bytes (DICOM values have even lengths; a 1-bit image's packed bits may not). */
function evenArrayBuffer(bytes: Buffer): ArrayBuffer {
  const even = Buffer.alloc(bytes.length + (bytes.length % 2));
  bytes.copy(even);
  return even.buffer.slice(even.byteOffset, even.byteOffset + even.byteLength);
}

/**
 * The instance as Explicit VR Little Endian: every attribute kept, "US or SS" attributes of an Implicit VR file given
 * the VR their Pixel Representation says, binary values of a big-endian file swapped, and the pixels decoded (1-bit
 * images packed, colour stored as YCbCr given as RGB with samples interleaved, as the frames resource and the
 * metadata describe them). An instance without pixels (a report, a structure set, a waveform) is re-encoded only.
 * @throws PixelDecodeError when the pixels do not decode.
 */
export async function toExplicitVrLittleEndian(file: Buffer, parsed: ParsedDicom = readDicom(file)): Promise<Buffer> {
  const ts = parsed.transferSyntaxUid;
  const dicomDict = parsed.dict as unknown as { meta: Dataset; dict: Dataset; write(options?: unknown): ArrayBuffer };
  const dataset = dicomDict.dict;
  const pixelTag = PIXEL_ELEMENTS.find((t) => dataset[t]);
  if (pixelTag) {
    const decoded = await decodeFrames({ buffer: file, parsed }, { untileMosaic: false });
    const bytes = nativePixelBytes(decoded.bitsAllocated, decoded.data);
    const vr = pixelTag === '7FE00008' ? 'OF' : pixelTag === '7FE00009' ? 'OD' : decoded.bitsAllocated <= 8 ? 'OB' : 'OW';
    dataset[pixelTag] = { vr, Value: [evenArrayBuffer(bytes)] };
    // The Extended Offset Table and its lengths go with encapsulated pixels only.
    for (const tag of ['7FE00001', '7FE00002', '7FE00003']) delete dataset[tag];
    // As the metadata describes it (decodedPhotometric): JPEG 2000 colour stored as YBR_ICT/YBR_RCT decodes to RGB.
    const stored = String((dataset['00280004']?.Value ?? [])[0] ?? '').trim() || undefined;
    dataset['00280004'] = { vr: 'CS', Value: [decodedPhotometric({ photometric: stored, samplesPerPixel: decoded.samplesPerPixel, bitsAllocated: decoded.bitsAllocated, transferSyntaxUid: ts })] };
    if (decoded.samplesPerPixel > 1) dataset['00280006'] = { vr: 'US', Value: [0] };
    else delete dataset['00280006'];
    if (LOSSY_SYNTAXES.has(ts)) dataset['00282110'] = { vr: 'CS', Value: ['01'] };
  }
  if (ts === IMPLICIT_VR_LITTLE_ENDIAN) resolveImplicitVrs(dataset);
  if (ts === EXPLICIT_VR_BIG_ENDIAN) swapBinaryValues(dataset);
  dicomDict.meta['00020010'] = { vr: 'UI', Value: [EXPLICIT_VR_LITTLE_ENDIAN] };
  return Buffer.from(dicomDict.write());
}

/**
 * A dataset as comparable text: every public element but group lengths, in tag order, binary values by their SHA-256
 * (a cine of hundreds of megabytes as base64 passed V8's string limit). Private elements are left out: a file with
 * implicit VRs holds them as UN bytes where an explicit one has their own VRs, so the same object compared different.
 */
function canonicalText(dataset: Dataset): string {
  const entries = Object.keys(dataset)
    .filter((tag) => !tag.endsWith('0000') && parseInt(tag.slice(0, 4), 16) % 2 === 0)
    .sort()
    .map((tag) => {
      const el = dataset[tag];
      const values = (el.Value ?? []).map((v) => (v instanceof ArrayBuffer ? createHash('sha256').update(new Uint8Array(v)).digest('hex') : el.vr === 'SQ' && v && typeof v === 'object' ? canonicalText(v as Dataset) : v));
      return [tag, values];
    });
  return JSON.stringify(entries);
}

/**
 * Whether two files hold the same DICOM object whatever their encoding: the same public attributes with the same
 * values and the same decoded pixels, compared in one form (Explicit VR Little Endian, as toExplicitVrLittleEndian
 * writes it). The same image in another transfer syntax, or with implicit instead of explicit VRs, is the same; another
 * patient, study, window or any pixel is not (the pixels alone decided before: a copy with other attributes was taken
 * for the same object, and one without pixels never was). A file that cannot be read or decoded is not shown the
 * same; any other failure (a codec that did not load, memory) is thrown, so the job is tried again rather than a true
 * duplicate quarantined as a conflict.
 */
export async function sameDicomContent(a: Buffer, b: Buffer): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([a, b].map(async (file) => canonicalText((readDicom(await toExplicitVrLittleEndian(file)).dict as unknown as { dict: Dataset }).dict)));
    return x === y;
  } catch (e) {
    if (e instanceof DicomRejection || e instanceof PixelDecodeError) return false;
    throw e;
  }
}
