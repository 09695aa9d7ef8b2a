// Writing a modified dataset without touching its pixels. dcmjs re-encodes everything it writes, and for
// encapsulated pixel data without a Basic Offset Table it re-splits fragments into frames on write. So the
// header is written by dcmjs and the original Pixel Data element is copied across byte for byte.
import * as dcmjs from 'dcmjs';

const PIXEL_DATA = '7FE00010';
export const DEFLATED_EXPLICIT_LE = '1.2.840.10008.1.2.1.99';
const BIG_ENDIAN = '1.2.840.10008.1.2.2';
const IMPLICIT_LE = '1.2.840.10008.1.2';

/**
 * Byte offset of the top-level Pixel Data element in a Part 10 file, or -1. Searches forward with Buffer's
 * native search and takes the first element whose header fits the file and after which the dataset ends (or
 * only trailing elements follow: digital signatures, padding): icon images nested before it carry Pixel Data
 * too, but a sequence goes on after theirs. Searching backwards from the end instead walked through every
 * pixel byte (about 1 ms of a 512 KB CT slice, the largest single cost of ingest).
 */
export function pixelDataOffset(file: Buffer, transferSyntaxUid: string): number {
  if (transferSyntaxUid === DEFLATED_EXPLICIT_LE) return -1;
  const big = transferSyntaxUid === BIG_ENDIAN;
  const implicit = transferSyntaxUid === IMPLICIT_LE;
  const tag = big ? Buffer.from([0x7f, 0xe0, 0x00, 0x10]) : Buffer.from([0xe0, 0x7f, 0x10, 0x00]);
  for (let at = file.indexOf(tag, 132); at >= 0; at = file.indexOf(tag, at + 1)) {
    const headerLength = implicit ? 8 : 12;
    if (at + headerLength > file.length) break;
    if (!implicit) {
      const vr = file.toString('latin1', at + 4, at + 6);
      if (vr !== 'OB' && vr !== 'OW') continue;
    }
    const len = implicit ? file.readUInt32LE(at + 4) : big ? file.readUInt32BE(at + 8) : file.readUInt32LE(at + 8);
    if (len !== 0xffffffff && at + headerLength + len > file.length) continue;
    if (endsDataset(file, pixelDataEnd(file, at, transferSyntaxUid), big)) return at;
  }
  return -1;
}

/** Nothing but trailing elements (group above Pixel Data's, not an item delimiter) from `end` on. */
function endsDataset(file: Buffer, end: number, big: boolean): boolean {
  if (end + 4 > file.length) return true;
  const group = big ? file.readUInt16BE(end) : file.readUInt16LE(end);
  return group > 0x7fe0 && group !== 0xfffe;
}

/** End (exclusive) of the Pixel Data element starting at `at`: its value, or its encapsulated fragments. */
export function pixelDataEnd(file: Buffer, at: number, transferSyntaxUid: string): number {
  const big = transferSyntaxUid === BIG_ENDIAN;
  const headerLength = transferSyntaxUid === IMPLICIT_LE ? 8 : 12;
  const len = transferSyntaxUid === IMPLICIT_LE ? file.readUInt32LE(at + 4) : big ? file.readUInt32BE(at + 8) : file.readUInt32LE(at + 8);
  if (len !== 0xffffffff) return Math.min(file.length, at + headerLength + len);
  // Encapsulated: items (FFFE,E000) until the sequence delimiter (FFFE,E0DD); a file cut short ends at EOF.
  let p = at + headerLength;
  while (p + 8 <= file.length) {
    const group = file.readUInt16LE(p);
    const element = file.readUInt16LE(p + 2);
    const itemLength = file.readUInt32LE(p + 4);
    if (group === 0xfffe && element === 0xe0dd) return p + 8;
    if (group !== 0xfffe || element !== 0xe000) return p;
    p += 8 + itemLength;
  }
  return Math.min(p, file.length);
}

/** The transfer syntax of what writePreservingPixelData writes for a file received in `transferSyntaxUid`. */
export function storedTransferSyntax(transferSyntaxUid: string): string {
  return transferSyntaxUid === DEFLATED_EXPLICIT_LE ? '1.2.840.10008.1.2.1' : transferSyntaxUid;
}

/**
 * Writes `dict` as a Part 10 file. When `original` holds the same Pixel Data (same transfer syntax, pixels
 * unchanged), its bytes are reused; deflated files are written inflated, as Explicit VR Little Endian.
 */
export function writePreservingPixelData(dict: dcmjs.data.DicomDict, original: Buffer, transferSyntaxUid: string): Buffer {
  if (transferSyntaxUid === DEFLATED_EXPLICIT_LE) {
    // dcmjs writes the dataset uncompressed while keeping the deflated label; label it truthfully instead.
    dict.meta['00020010'] = { vr: 'UI', Value: ['1.2.840.10008.1.2.1'] };
    return Buffer.from(dict.write());
  }
  const at = original ? pixelDataOffset(original, transferSyntaxUid) : -1;
  if (at < 0 || !dict.dict[PIXEL_DATA]) return Buffer.from(dict.write());
  const withoutPixels = new dcmjs.data.DicomDict(dict.meta);
  // Elements after Pixel Data (trailing padding, digital signatures) are dropped: the signatures no longer
  // match a de-identified file anyway.
  withoutPixels.dict = Object.fromEntries(Object.entries(dict.dict).filter(([t]) => t < PIXEL_DATA));
  return Buffer.concat([Buffer.from(withoutPixels.write()), original.subarray(at, pixelDataEnd(original, at, transferSyntaxUid))]);
}
