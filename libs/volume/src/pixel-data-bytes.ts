// Looks at the Pixel Data element in the original file bytes. dcmjs hides two kinds of damage: it zero-pads a
// native Pixel Data value the file cut short, and it accepts encapsulated pixel data whose Sequence Delimitation
// Item never comes. Both mean the file was truncated, and both would otherwise reach training data as images
// with a black (or garbage) bottom. So for those checks we read the element framing ourselves.

import { pixelDataOffset } from '@contour/dicom';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const ITEM = 0xe000fffe; // (FFFE,E000) read as a little-endian uint32
const PIXEL_DATA_LE = Buffer.from([0xe0, 0x7f, 0x10, 0x00]);
const PIXEL_DATA_BE = Buffer.from([0x7f, 0xe0, 0x00, 0x10]);

/**
 * Every offset where `pattern` occurs, found by Buffer's native search (the pixel data of a CT holds many
 * bytes equal to the tag's first one; stepping through them one by one in JavaScript took ~10 % of ingest).
 */
function* occurrences(file: Uint8Array, pattern: Buffer): Generator<number> {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  for (let p = bytes.indexOf(pattern); p >= 0; p = bytes.indexOf(pattern, p + 1)) yield p;
}
const SEQUENCE_DELIMITER = 0xe0ddfffe; // (FFFE,E0DD)

/** Where a native Pixel Data value starts and how many of its bytes the file really holds. */
export interface NativePixelDataBytes {
  valueOffset: number;
  declaredLength: number;
  availableLength: number;
}

/**
 * Finds the top-level native Pixel Data element whose declared length matches `expectedLength` (the only
 * reliable way to tell the real element from an icon's, or from bytes that happen to look like the tag). The
 * first match wins: the header before it holds no pixel bytes, and the search stops there instead of running on
 * through the pixel data (bytes inside it that happen to look like the tag and a matching length would only
 * mislead).
 */
export function locateNativePixelData(file: Uint8Array, expectedLength: number, opts: { bigEndian: boolean; explicitVr: boolean }): NativePixelDataBytes | undefined {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  for (const p of occurrences(file, opts.bigEndian ? PIXEL_DATA_BE : PIXEL_DATA_LE)) {
    if (p + 8 > file.byteLength) break;
    let lengthAt: number;
    if (opts.explicitVr) {
      const vr = String.fromCharCode(file[p + 4], file[p + 5]);
      if (vr !== 'OB' && vr !== 'OW' && vr !== 'UN') continue;
      lengthAt = p + 8;
    } else {
      lengthAt = p + 4;
    }
    if (lengthAt + 4 > file.byteLength) continue;
    const declared = view.getUint32(lengthAt, !opts.bigEndian);
    if (declared !== expectedLength && declared !== expectedLength + 1) continue;
    const valueOffset = lengthAt + 4;
    return { valueOffset, declaredLength: declared, availableLength: Math.min(declared, file.byteLength - valueOffset) };
  }
  return undefined;
}

export interface EncapsulatedPixelData {
  /** Basic Offset Table entries (may be empty). */
  offsets: number[];
  fragments: Uint8Array[];
  /** Byte offset of each fragment's item tag, relative to the first item after the offset table. */
  fragmentOffsets: number[];
  /** False when the file ends before the Sequence Delimitation Item (a cut-short file). */
  terminated: boolean;
  /** Set when an item is cut short by the end of the file. */
  truncatedFragment: boolean;
}

/** Reads the items of the (last, i.e. top-level) encapsulated Pixel Data element of an explicit VR LE file. */
export function readEncapsulatedPixelData(file: Uint8Array): EncapsulatedPixelData | undefined {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  // The top-level element (not an icon's), found without walking through the compressed bytes.
  const at = pixelDataOffset(Buffer.from(file.buffer, file.byteOffset, file.byteLength), EXPLICIT_LE);
  if (at < 0 || at + 16 > file.byteLength || view.getUint32(at + 8, true) !== 0xffffffff || view.getUint32(at + 12, true) !== ITEM) return undefined;
  const start = at + 12;
  const botLength = view.getUint32(start + 4, true);
  let p = start + 8;
  const offsets: number[] = [];
  if (p + botLength > file.byteLength) return { offsets, fragments: [], fragmentOffsets: [], terminated: false, truncatedFragment: true };
  for (let o = 0; o + 4 <= botLength; o += 4) offsets.push(view.getUint32(p + o, true));
  p += botLength;
  const firstItem = p;
  const fragments: Uint8Array[] = [];
  const fragmentOffsets: number[] = [];
  while (p + 8 <= file.byteLength) {
    const t = view.getUint32(p, true);
    const length = view.getUint32(p + 4, true);
    if (t === SEQUENCE_DELIMITER) return { offsets, fragments, fragmentOffsets, terminated: true, truncatedFragment: false };
    if (t !== ITEM) return { offsets, fragments, fragmentOffsets, terminated: false, truncatedFragment: false };
    if (p + 8 + length > file.byteLength) {
      return { offsets, fragments, fragmentOffsets, terminated: false, truncatedFragment: true };
    }
    fragmentOffsets.push(p - firstItem);
    fragments.push(file.subarray(p + 8, p + 8 + length));
    p += 8 + length;
  }
  return { offsets, fragments, fragmentOffsets, terminated: false, truncatedFragment: false };
}

const startsWith = (b: Uint8Array, sig: number[]) => sig.every((v, i) => b[i] === v);
/** JPEG / JPEG-LS (SOI), JPEG 2000 codestream (SOC) or JP2 file signature: the first fragment of a frame. */
export function startsFrame(fragment: Uint8Array): boolean {
  return startsWith(fragment, [0xff, 0xd8]) || startsWith(fragment, [0xff, 0x4f, 0xff, 0x51]) || startsWith(fragment, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * Groups fragments into frames: by the Basic Offset Table when there is one, one fragment per frame when the
 * counts match, everything for a single frame, and otherwise by the start-of-image markers. Returns undefined
 * when no grouping yields `frames` frames.
 */
export function groupFragmentsIntoFrames(fragments: Uint8Array[], frames: number, table?: { offsets: number[]; fragmentOffsets: number[] }): Uint8Array[] | undefined {
  if (!fragments.length) return undefined;
  if (table && table.offsets.length === frames && frames > 1) {
    const groups: Uint8Array[][] = table.offsets.map(() => []);
    let frame = -1;
    table.fragmentOffsets.forEach((offset, n) => {
      while (frame + 1 < frames && offset >= table.offsets[frame + 1]) frame++;
      if (frame >= 0) groups[frame].push(fragments[n]);
    });
    if (groups.every((g) => g.length)) return groups.map(concat);
  }
  if (fragments.length === frames) return fragments;
  if (frames === 1) return [concat(fragments)];
  const groups: Uint8Array[][] = [];
  for (const f of fragments) {
    if (startsFrame(f) || !groups.length) groups.push([f]);
    else groups[groups.length - 1].push(f);
  }
  return groups.length === frames ? groups.map(concat) : undefined;
}
