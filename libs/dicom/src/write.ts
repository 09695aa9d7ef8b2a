// Writing a modified dataset without touching its pixels. dcmjs re-encodes everything it writes, and for
// encapsulated pixel data without a Basic Offset Table it re-splits fragments into frames on write. So the
// header is written by dcmjs and the original Pixel Data element is copied across byte for byte.
import * as dcmjs from 'dcmjs';

const PIXEL_DATA = '7FE00010';
export const DEFLATED_EXPLICIT_LE = '1.2.840.10008.1.2.1.99';
const BIG_ENDIAN = '1.2.840.10008.1.2.2';
const IMPLICIT_LE = '1.2.840.10008.1.2';

/**
 * Byte offset of the top-level Pixel Data element in a Part 10 file, or -1. Searches from the end (nested
 * icon images also carry Pixel Data) and checks the element's header against the rest of the file.
 */
export function pixelDataOffset(file: Buffer, transferSyntaxUid: string): number {
  if (transferSyntaxUid === DEFLATED_EXPLICIT_LE) return -1;
  const big = transferSyntaxUid === BIG_ENDIAN;
  const tag = big ? Buffer.from([0x7f, 0xe0, 0x00, 0x10]) : Buffer.from([0xe0, 0x7f, 0x10, 0x00]);
  let at = file.lastIndexOf(tag);
  while (at >= 132) {
    if (transferSyntaxUid === IMPLICIT_LE) {
      const len = file.readUInt32LE(at + 4);
      if (len === 0xffffffff || at + 8 + len <= file.length) return at;
    } else {
      const vr = file.toString('latin1', at + 4, at + 6);
      if (vr === 'OB' || vr === 'OW') {
        const len = big ? file.readUInt32BE(at + 8) : file.readUInt32LE(at + 8);
        if (len === 0xffffffff || at + 12 + len <= file.length) return at;
      }
    }
    at = file.lastIndexOf(tag, at - 1);
  }
  return -1;
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
