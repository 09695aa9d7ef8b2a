// WADO-RS metadata: a stored (de-identified) file's attributes as DICOM JSON (PS3.18 F.2), describing the
// pixels as the frames resource serves them, with binary values larger than INLINE_LIMIT given as a BulkDataURI
// (PS3.18 F.2.6) that the bulkdata resource answers, pixel data included (decoded, as the frames resource serves it).
import * as dcmjs from 'dcmjs';
import { resolveImplicitVrs, toArrayBuffer } from '@contour/dicom';
import { BINARY_WORD_BYTES, decodedPhotometric, LOSSY_SYNTAXES } from '@contour/volume';

type Element = { vr: string; Value?: unknown[]; InlineBinary?: string; BulkDataURI?: string };
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const INLINE_LIMIT = 4096;
const PIXEL_DATA = '7FE00010';
const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';

/**
 * Where a bulk data value is inside a dataset: its tag, or for a value inside a sequence the sequence's tag, the
 * item's index (from 0) and the tag inside it, joined by dots (54000100.1.54001010). One URL path segment.
 */
export type BulkDataPath = { tag: string; item?: number }[];

export function formatBulkDataPath(path: BulkDataPath): string {
  return path.map((step) => (step.item === undefined ? step.tag : `${step.tag}.${step.item}`)).join('.');
}

/** Reads a bulk data path; null when it is not one (tags are 8 hex digits, items whole numbers). */
export function parseBulkDataPath(text: string): BulkDataPath | null {
  if (!/^[0-9A-Fa-f]{8}(\.\d{1,6}\.[0-9A-Fa-f]{8})*$/.test(text)) return null;
  const parts = text.split('.');
  const path: BulkDataPath = [];
  for (let i = 0; i < parts.length; i += 2) path.push({ tag: parts[i].toUpperCase(), ...(i + 1 < parts.length ? { item: Number(parts[i + 1]) } : {}) });
  return path;
}

function readFile(file: Buffer) {
  const dict = dcmjs.data.DicomMessage.readFile(toArrayBuffer(file), { ignoreErrors: true, untilTag: null, includeUntilTagValue: false, noCopy: false, forceStoreRaw: false });
  const transferSyntax = String((dict.meta['00020010']?.Value ?? [])[0] ?? '').replace(/\0/g, '').trim();
  // An Implicit VR file does not say whether a pixel value attribute is US or SS, nor that a Private Creator is LO.
  if (transferSyntax === IMPLICIT_VR_LITTLE_ENDIAN) resolveImplicitVrs(dict.dict as Record<string, Element>);
  return { dict: dict.dict as Record<string, Element>, transferSyntax, bigEndian: transferSyntax === EXPLICIT_VR_BIG_ENDIAN };
}

/** A binary element's value as served: one buffer, little endian. */
function bytesOf(el: Element, bigEndian: boolean): Buffer {
  const buffers = (el.Value ?? []) as ArrayBuffer[];
  const bytes = Buffer.concat(buffers.filter((b) => b instanceof ArrayBuffer).map((b) => Buffer.from(b)));
  const word = BINARY_WORD_BYTES[el.vr] ?? 1;
  if (bigEndian && word > 1) {
    if (word === 2) bytes.swap16();
    else if (word === 4) bytes.swap32();
    else bytes.swap64();
  }
  return bytes;
}

function convert(dict: Record<string, Element>, instanceUrl: string, bigEndian: boolean, parent: BulkDataPath): Record<string, Element> {
  const out: Record<string, Element> = {};
  for (const tag of Object.keys(dict).sort()) {
    const el = dict[tag];
    if (tag === PIXEL_DATA && parent.length === 0) {
      out[tag] = { vr: el.vr, BulkDataURI: `${instanceUrl}/bulkdata/${PIXEL_DATA}` };
      continue;
    }
    if (BINARY_VRS.has(el.vr)) {
      const bytes = bytesOf(el, bigEndian);
      if (bytes.length === 0) out[tag] = { vr: el.vr };
      else if (bytes.length <= INLINE_LIMIT) out[tag] = { vr: el.vr, InlineBinary: bytes.toString('base64') };
      else out[tag] = { vr: el.vr, BulkDataURI: `${instanceUrl}/bulkdata/${formatBulkDataPath([...parent, { tag }])}` };
      continue;
    }
    if (el.vr === 'SQ') {
      out[tag] = { vr: 'SQ', Value: ((el.Value ?? []) as Record<string, Element>[]).map((item, i) => convert(item, instanceUrl, bigEndian, [...parent, { tag, item: i }])) };
      continue;
    }
    const values = jsonValues(el.vr, el.Value ?? []);
    out[tag] = values ? { vr: el.vr, Value: values } : { vr: el.vr };
  }
  return out;
}

/** A PN value without any component (dcmjs reads an empty name as { Alphabetic: '' }). */
const emptyName = (v: unknown) => typeof v === 'object' && v !== null && Object.values(v).every((c) => c === '' || c === null || c === undefined);

/**
 * An element's values as DICOM JSON has them (PS3.18 F.2): an empty value is null, and an element whose values are
 * all empty has no Value at all (F.2.5; `"Value": [""]` broke clients' date and number parsing); AT values are
 * 8 hex digits (F.2.3.1), not numbers. null when there is no Value to give.
 */
export function jsonValues(vr: string, values: unknown[]): unknown[] | null {
  const out = values.map((v) => {
    if (v === undefined || v === null || v === '' || (typeof v === 'number' && Number.isNaN(v))) return null;
    if (vr === 'PN' && emptyName(v)) return null;
    if (vr === 'AT' && typeof v === 'number') return (v >>> 0).toString(16).toUpperCase().padStart(8, '0');
    return v;
  });
  return out.some((v) => v !== null) ? out : null;
}

const first = (el: Element | undefined) => (el?.Value ?? [])[0];

/**
 * The frames resource serves every image decoded (Explicit VR Little Endian, samples interleaved): colour stored as
 * YCbCr (a JPEG baseline ultrasound's YBR_FULL_422...) comes out RGB. The metadata says what is served, as a
 * transcoded instance's header does, or a client converts RGB frames from YCbCr a second time. An instance
 * retrieved as stored (transfer-syntax=*) keeps its own header.
 */
function describeServedPixels(json: Record<string, Element>, transferSyntaxUid: string): void {
  const samplesPerPixel = Number(first(json['00280002']) ?? 1);
  const stored = first(json['00280004']);
  if (!json[PIXEL_DATA] || typeof stored !== 'string') return;
  const bitsAllocated = Number(first(json['00280100']));
  const served = decodedPhotometric({ photometric: stored, samplesPerPixel, bitsAllocated, transferSyntaxUid });
  if (served !== stored.trim()) json['00280004'] = { vr: 'CS', Value: [served] };
  // As an instance converted to Explicit VR Little Endian says (toExplicitVrLittleEndian): Planar Configuration for
  // colour only, Lossy Image Compression once lossy, pixel words for more than 8 bits, no offset table.
  if (samplesPerPixel > 1) json['00280006'] = { vr: 'US', Value: [0] };
  else delete json['00280006'];
  if (LOSSY_SYNTAXES.has(transferSyntaxUid)) json['00282110'] = { vr: 'CS', Value: ['01'] };
  if (json[PIXEL_DATA] && json[PIXEL_DATA].vr !== 'OF' && json[PIXEL_DATA].vr !== 'OD') json[PIXEL_DATA] = { ...json[PIXEL_DATA], vr: bitsAllocated > 8 ? 'OW' : 'OB' };
  for (const tag of ['7FE00001', '7FE00002', '7FE00003']) delete json[tag];
}

export function dicomJsonOf(file: Buffer, instanceUrl: string): Record<string, Element> {
  const { dict, transferSyntax, bigEndian } = readFile(file);
  const json = convert(dict, instanceUrl, bigEndian, []);
  describeServedPixels(json, transferSyntax);
  return json;
}

/** A bulk data path naming the instance's Pixel Data, which is served decoded (as its frames are). */
export function isPixelDataPath(path: BulkDataPath): boolean {
  return path.length === 1 && path[0].tag === PIXEL_DATA;
}

/**
 * The binary value at a bulk data path, as served (little endian); null when there is none (no such element,
 * item or sequence, or an element that is not binary). Not for the Pixel Data (isPixelDataPath): it is decoded.
 */
export function bulkDataOf(file: Buffer, path: BulkDataPath): Buffer | null {
  if (isPixelDataPath(path)) return null;
  const { dict, bigEndian } = readFile(file);
  let dataset: Record<string, Element> | undefined = dict;
  for (const [i, step] of path.entries()) {
    const el: Element | undefined = dataset?.[step.tag];
    if (!el) return null;
    if (i === path.length - 1) return BINARY_VRS.has(el.vr) ? bytesOf(el, bigEndian) : null;
    if (el.vr !== 'SQ' || step.item === undefined) return null;
    dataset = (el.Value as Record<string, Element>[] | undefined)?.[step.item];
  }
  return null;
}
