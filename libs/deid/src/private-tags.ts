// Private elements (odd groups): PS3.15 E.1-1 says remove them all ("X"), unless the Retain Safe Private Option
// applies to them. Contour keeps a short list of private elements it knows to be safe and needs, identified
// the only reliable way: by private creator string + group + element offset. The element number of a private
// element is 'gggg,xxEE' where xx is the block its creator (gggg,00xx) reserved in THIS file, which varies from
// file to file; only the creator string and the low byte EE are stable.
//
// What makes an entry safe: it is numeric (or a short coded string) by the vendor's own dictionary, so it
// cannot carry a name, ID or date, and it is needed to interpret the pixels correctly. As a belt-and-braces
// check the element must still have one of the expected VRs (or UN, for implicit-VR files) and be short.
//
// Deliberately NOT on the list: the Siemens CSA headers (0029,xx10 / xx20 "SIEMENS CSA HEADER") although
// mosaic and diffusion decoding use them, because they are free-form binary blobs that can hold the patient's
// name, protocol comments and dates; and every vendor "comment"/"text" element.

export interface SafePrivateElement {
  creator: string;
  group: number;
  /** The low byte EE of the element number 'xxEE'. */
  offset: number;
  name: string;
  vrs: readonly string[];
  why: string;
  /** The values a coded string may take (the vendor's defined terms); any other is not kept. */
  terms?: readonly string[];
}

export const SAFE_PRIVATE_ELEMENTS: readonly SafePrivateElement[] = [
  { creator: 'SIEMENS MR HEADER', group: 0x0019, offset: 0x0a, name: 'NumberOfImagesInMosaic', vrs: ['US'], why: 'needed to split a Siemens mosaic image into its slices' },
  { creator: 'SIEMENS MR HEADER', group: 0x0019, offset: 0x0c, name: 'B_value', vrs: ['IS'], why: 'diffusion b-value, needed to analyse diffusion-weighted series' },
  { creator: 'SIEMENS MR HEADER', group: 0x0019, offset: 0x0d, name: 'DiffusionDirectionality', vrs: ['CS'], why: 'diffusion encoding type (coded string)', terms: ['DIRECTIONAL', 'ISOTROPIC', 'NONE', 'BMATRIX'] },
  { creator: 'SIEMENS MR HEADER', group: 0x0019, offset: 0x0e, name: 'DiffusionGradientDirection', vrs: ['FD'], why: 'diffusion gradient vector' },
  { creator: 'Philips MR Imaging DD 001', group: 0x2005, offset: 0x0d, name: 'ScaleIntercept', vrs: ['FL'], why: 'Philips floating-point rescale intercept, needed for quantitative MR values' },
  { creator: 'Philips MR Imaging DD 001', group: 0x2005, offset: 0x0e, name: 'ScaleSlope', vrs: ['FL'], why: 'Philips floating-point rescale slope, needed for quantitative MR values' },
  { creator: 'GEMS_PARM_01', group: 0x0043, offset: 0x39, name: 'SlopInt6-9', vrs: ['IS'], why: 'GE MR: first value is the diffusion b-value' },
  { creator: 'GEMS_ACQU_01', group: 0x0019, offset: 0xbb, name: 'UserData20', vrs: ['DS'], why: 'GE MR: diffusion gradient direction, x' },
  { creator: 'GEMS_ACQU_01', group: 0x0019, offset: 0xbc, name: 'UserData21', vrs: ['DS'], why: 'GE MR: diffusion gradient direction, y' },
  { creator: 'GEMS_ACQU_01', group: 0x0019, offset: 0xbd, name: 'UserData22', vrs: ['DS'], why: 'GE MR: diffusion gradient direction, z' },
];

/** Longest value (in bytes, or characters for text) a safe private element may have: all of them are a few numbers. */
const MAX_SAFE_VALUE_BYTES = 64;

export function isPrivateGroup(tag: string): boolean {
  return parseInt(tag.slice(0, 4), 16) % 2 === 1;
}

/** (gggg,0010)-(gggg,00FF) in a private group reserve blocks of elements; they hold the creator string. */
export function isPrivateCreatorTag(tag: string): boolean {
  const element = parseInt(tag.slice(4, 8), 16);
  return isPrivateGroup(tag) && element >= 0x10 && element <= 0xff;
}

/** For a private data element 'ggggxxEE' (xx >= 0x10), the tag of the creator element that reserved block xx. */
export function privateCreatorTagOf(tag: string): string | undefined {
  const block = parseInt(tag.slice(4, 6), 16);
  if (!isPrivateGroup(tag) || block < 0x10) return undefined;
  return `${tag.slice(0, 4)}00${tag.slice(4, 6)}`.toUpperCase();
}

export function findSafePrivateElement(creator: string | undefined, tag: string): SafePrivateElement | undefined {
  if (!creator) return undefined;
  const group = parseInt(tag.slice(0, 4), 16);
  const offset = parseInt(tag.slice(6, 8), 16);
  const c = creator.trim();
  return SAFE_PRIVATE_ELEMENTS.find((e) => e.creator === c && e.group === group && e.offset === offset);
}

/** Bytes per value of the binary VRs on the list (an implicit-VR file gives their values as UN bytes). */
const BINARY_SIZES: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8 };
const NUMBER_TEXT: Record<string, RegExp> = { IS: /^[+-]?\d{1,12}$/, DS: /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/ };

/** Whether each value of a text element is of the kind the entry expects: a number for IS/DS, a defined term for CS. */
function textValuesFit(entry: SafePrivateElement, vr: string, values: string[]): boolean {
  return values.every((raw) => {
    const v = raw.trim();
    if (v === '') return true;
    if (NUMBER_TEXT[vr]) return NUMBER_TEXT[vr].test(v);
    if (vr === 'CS') return entry.terms ? entry.terms.includes(v) : /^[A-Z0-9 _]{1,16}$/.test(v);
    return false;
  });
}

/**
 * The belt-and-braces check: a safe-listed slot holding something unexpected is not kept: another VR, a long value,
 * or a value not of the entry's kind (a coded string that is not one of its terms, an IS or DS that is not a number,
 * binary values of the wrong size). A slot holding "MRN4455667" as its diffusion directionality was kept.
 */
export function looksLikeSafeValue(entry: SafePrivateElement, element: { vr: string; Value?: unknown[] }): boolean {
  if (element.vr !== 'UN' && !entry.vrs.includes(element.vr)) return false;
  let size = 0;
  for (const v of element.Value ?? []) {
    if (v instanceof ArrayBuffer) size += v.byteLength;
    else if (ArrayBuffer.isView(v)) size += v.byteLength;
    else size += String(v).length + 1;
  }
  if (size > MAX_SAFE_VALUE_BYTES) return false;
  const values = element.Value ?? [];
  if (element.vr !== 'UN') {
    if (BINARY_SIZES[element.vr]) return values.every((v) => typeof v === 'number' || v instanceof ArrayBuffer || ArrayBuffer.isView(v));
    return textValuesFit(entry, element.vr, values.map(String));
  }
  // UN: the bytes as the entry's (first) VR would hold them.
  const bytes = Buffer.concat(values.map((v) => (v instanceof ArrayBuffer ? Buffer.from(v) : ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(String(v), 'latin1'))));
  const vr = entry.vrs[0];
  if (BINARY_SIZES[vr]) return bytes.length % BINARY_SIZES[vr] === 0;
  const text = bytes.toString('latin1').replace(/[\0 ]+$/, '');
  return /^[\x20-\x7e\\]*$/.test(text) && textValuesFit(entry, vr, text.split('\\'));
}
