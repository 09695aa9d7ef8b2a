// Reads a DICOM Part 10 file with dcmjs and turns every way it can be broken into a reason a person can act on.
import * as dcmjs from 'dcmjs';
import './dcmjs-charset';

/** The transfer syntax WADO-RS serves by default (PS3.18 8.7.3.5.2), and what Contour converts instances to. */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

export type RejectionCode =
  | 'empty'
  | 'not-dicom'
  | 'no-file-meta'
  | 'missing-transfer-syntax'
  | 'truncated'
  | 'invalid-vr'
  | 'invalid-value'
  | 'corrupt-structure'
  | 'missing-uid'
  | 'missing-pixel-data'
  | 'unsupported-transfer-syntax'
  | 'corrupt-pixel-data'
  | 'inconsistent-geometry'
  | 'unexpected-modality'
  | 'conflicting-duplicate';

/** A file Contour will not store as-is. The message says what is wrong and what to do about it. */
export class DicomRejection extends Error {
  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message);
    this.name = 'DicomRejection';
  }
}

export interface ParsedDicom {
  dict: dcmjs.data.DicomDict;
  /** Naturalized main dataset (keyword -> value). */
  dataset: Record<string, any>;
  transferSyntaxUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality: string;
  /** Problems dcmjs tolerated but reported (e.g. an unknown VR it read as UN). */
  warnings: string[];
  /** Read with `untilPixelData`: the Pixel Data element (and anything after it) is not in `dict`. */
  headerOnly?: boolean;
}

export interface ReadDicomOptions {
  /**
   * Stop before the Pixel Data element: the header only, without dcmjs copying the pixels (decodeFrames reads
   * native pixels straight from the file then; others re-read the file whole).
   */
  untilPixelData?: boolean;
}

const validationLog = dcmjs.log.getLogger('validation.dcmjs');
dcmjs.log.setLevel('silent');

export function toArrayBuffer(buffer: Buffer): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}

/** Runs dcmjs with its validation log captured instead of printed. dcmjs is synchronous, so this is safe. */
export function withCapturedWarnings<T>(fn: () => T): { value: T; warnings: string[] } {
  const warnings: string[] = [];
  const { error, warn } = validationLog;
  validationLog.error = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
  validationLog.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
  try {
    return { value: fn(), warnings };
  } finally {
    validationLog.error = error;
    validationLog.warn = warn;
  }
}

const looksLikeText = (b: Buffer) => b.subarray(0, 512).every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127));

const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;
const IS = /^[+-]?[0-9]{1,12}$/;
const DS = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const VALUE_CHECKS: Record<string, (v: string) => boolean> = {
  UI: (v) => v.length <= 64 && UID.test(v),
  IS: (v) => IS.test(v),
  DS: (v) => v.length <= 16 && DS.test(v),
};

/**
 * A library's error message as a quarantine reason may quote it: without the values it names. dcmjs says "Value
 * exceeds max length, vr: AS, value: MRN4455667, length: 10" when a file's Patient's Age holds an ID; reasons are
 * shown to project managers, who never see a file's original values.
 */
export function withoutQuotedValues(message: string): string {
  return message.replace(/(\bvalue:\s*)[\s\S]*?(?=,\s*length:|$)/gi, '$1(not shown)');
}

/** Why a value breaks its VR, without the value (it may be an identifier: reasons are shown to managers). */
function whyInvalid(vr: string, v: string): string {
  if (vr === 'UI') {
    if (v.length > 64) return 'is longer than 64 characters';
    if (/[^0-9.]/.test(v)) return 'holds characters other than digits and dots';
    if (/(^|\.)(\.|$)/.test(v)) return 'has an empty component';
    return 'has a component with a leading zero';
  }
  if (vr === 'IS') return /^[+-]?[0-9]+$/.test(v) ? 'has more than 12 digits' : 'is not a whole number';
  return v.length > 16 ? 'is longer than 16 characters' : 'is not a decimal number';
}

const nameOf = (tag: string) => dcmjs.data.DicomMetaDictionary.dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`]?.name ?? 'an attribute';

/** Top-level values that are not what their VR allows (e.g. IS "1A", a UID component with a leading zero). */
export function invalidValues(dict: Record<string, { vr: string; Value?: unknown[]; _rawValue?: unknown[] }>, depth = 0): string[] {
  const problems: string[] = [];
  for (const [tag, el] of Object.entries(dict)) {
    if (el.vr === 'SQ' && depth < 4) {
      for (const item of (el.Value ?? []) as Record<string, { vr: string; Value?: unknown[] }>[]) if (item && typeof item === 'object') problems.push(...invalidValues(item, depth + 1));
      continue;
    }
    const check = VALUE_CHECKS[el.vr];
    if (!check || !el.Value) continue;
    // dcmjs turns IS/DS text into numbers (parseInt("1A") is 1): check the text it kept.
    for (const raw of el._rawValue ?? el.Value) {
      if (raw === null || raw === undefined) continue;
      if (typeof raw === 'number') {
        // dcmjs turns IS/DS text into numbers: text that was not a number becomes NaN.
        if (Number.isNaN(raw)) problems.push(`${el.vr} value that is not a number in ${nameOf(tag)} (${tag.slice(0, 4)},${tag.slice(4)})`);
        continue;
      }
      const v = String(raw).replace(/\0/g, '').trim();
      if (v !== '' && !check(v)) {
        problems.push(`the ${el.vr} value in ${nameOf(tag)} (${tag.slice(0, 4)},${tag.slice(4)}) ${whyInvalid(el.vr, v)}`);
      }
    }
  }
  return problems;
}

export function readDicom(buffer: Buffer, options: ReadDicomOptions = {}): ParsedDicom {
  if (buffer.length === 0) throw new DicomRejection('empty', 'The file is empty (0 bytes): the transfer was probably interrupted; send it again');
  const hasPreamble = buffer.length >= 132 && buffer.toString('latin1', 128, 132) === 'DICM';
  if (!hasPreamble) {
    // A bare dataset starts with a group 0x0002/0x0008 tag (possibly after a stray byte, as some writers
    // leave); anything else is not DICOM at all.
    const looksLikeDataset = [0, 1].some((o) => {
      if (buffer.length < o + 8) return false;
      const group = buffer.readUInt16LE(o);
      const vr = buffer.toString('latin1', o + 4, o + 6);
      return (group === 0x0008 || group === 0x0002) && (/^[A-Z]{2}$/.test(vr) || buffer.readUInt32LE(o + 4) < 1024);
    });
    if (looksLikeDataset) {
      throw new DicomRejection(
        'no-file-meta',
        'The file is a raw DICOM dataset without the 128-byte preamble and File Meta Information (not a DICOM Part 10 file): export it again from the source as a standard .dcm file',
      );
    }
    throw new DicomRejection(
      'not-dicom',
      // A zip named .dcm, or a zip inside a zip: only a zip uploaded as itself is unpacked.
      buffer.length >= 4 && buffer.readUInt32LE(0) === 0x04034b50
        ? 'The file is a zip archive, not DICOM: a zip named .dcm or packed inside another zip is not unpacked; upload the zip itself (named .zip) or the files in it'
        : looksLikeText(buffer)
        ? 'The file is text, not DICOM: upload the .dcm image files instead'
        : 'The file is not DICOM (no "DICM" marker at byte 128): check that you uploaded image files',
    );
  }
  let result: { value: dcmjs.data.DicomDict; warnings: string[] };
  try {
    // dcmjs only reads its input (values are copied out): a Buffer that spans its whole ArrayBuffer (what
    // fs.readFile and the blob store return for anything but tiny files) is handed over without a copy.
    const input = buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength ? (buffer.buffer as ArrayBuffer) : toArrayBuffer(buffer);
    result = withCapturedWarnings(() => dcmjs.data.DicomMessage.readFile(input, { ignoreErrors: false, untilTag: options.untilPixelData ? '7FE00010' : null, includeUntilTagValue: false, noCopy: false, forceStoreRaw: false }));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/reading 'Value'/.test(message) || /TransferSyntax/i.test(message)) {
      throw new DicomRejection('missing-transfer-syntax', 'The File Meta Information has no Transfer Syntax UID (0002,0010), so the pixel encoding is unknown: re-export the file from the source');
    }
    if (/more than currently allocated|out of range|outside the bounds|offset is out of bounds/i.test(message)) {
      throw new DicomRejection('truncated', 'The file ends in the middle of a data element (truncated): the transfer was probably interrupted; send it again');
    }
    throw new DicomRejection('corrupt-structure', `The DICOM structure could not be read (${withoutQuotedValues(message)}): the file is damaged; re-export it from the source`);
  }
  const dict = result.value;
  const ts = dict.meta['00020010']?.Value?.[0] as string | undefined;
  if (!ts) {
    throw new DicomRejection('missing-transfer-syntax', 'The File Meta Information has no Transfer Syntax UID (0002,0010), so the pixel encoding is unknown: re-export the file from the source');
  }
  // dcmjs also reports the dictionary's ambiguous VRs ("xs", "ox") of implicit-VR files, which it resolves
  // itself; only a VR it cannot resolve (read as UN) means the file is corrupt.
  const invalidVr = result.warnings.find((w) => /Invalid vr type[\s\S]*using UN/i.test(w));
  if (invalidVr) {
    const vr = /Invalid vr type ([\s\S]*?) - using UN/i.exec(invalidVr)?.[1] ?? '';
    const shown = /^[A-Za-z]{2}$/.test(vr) ? `"${vr}"` : `(bytes ${Buffer.from(vr, 'latin1').toString('hex') || 'none'})`;
    throw new DicomRejection('invalid-vr', `The file contains a data element with an invalid value representation ${shown}: the file is corrupt (often a sequence encoded in the wrong transfer syntax); re-export it from the source`);
  }
  const badValues = invalidValues(dict.dict);
  if (badValues.length) {
    throw new DicomRejection(
      'invalid-value',
      `The file has values that break their DICOM value representation: ${badValues.slice(0, 5).join('; ')}${badValues.length > 5 ? ` and ${badValues.length - 5} more` : ''}. The sender wrote an invalid file; fix its export and send it again`,
    );
  }
  const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
  const required: [string, string][] = [
    ['SOPClassUID', '(0008,0016)'],
    ['SOPInstanceUID', '(0008,0018)'],
    ['StudyInstanceUID', '(0020,000D)'],
    ['SeriesInstanceUID', '(0020,000E)'],
  ];
  const missing = required.filter(([k]) => typeof dataset[k] !== 'string' || !dataset[k]);
  if (missing.length) {
    throw new DicomRejection('missing-uid', `The file lacks ${missing.map(([k, t]) => `${k} ${t}`).join(', ')}, so it cannot be placed in a study and series`);
  }
  return {
    dict,
    dataset,
    transferSyntaxUid: ts.replace(/\0/g, '').trim(),
    sopClassUid: dataset.SOPClassUID,
    sopInstanceUid: dataset.SOPInstanceUID,
    studyInstanceUid: dataset.StudyInstanceUID,
    seriesInstanceUid: dataset.SeriesInstanceUID,
    modality: typeof dataset.Modality === 'string' && dataset.Modality ? dataset.Modality : 'OT',
    warnings: result.warnings,
    ...(options.untilPixelData ? { headerOnly: true } : {}),
  };
}
