// Attributes whose VR is "US or SS" (PS3.6): signed when Pixel Representation is 1. An Implicit VR file does not
// say which, and dcmjs reads them as US, so a CT's Pixel Padding Value of -2000 came out as 63536 wherever the
// file was re-encoded with explicit VRs (a converted instance, its DICOM JSON): a viewer then masks the wrong value.
type Element = { vr: string; Value?: unknown[] };
type Dataset = Record<string, Element>;

/**
 * The "US or SS" attributes that follow the Pixel Representation of their dataset (PS3.3 C.7.6.3.1.5 and
 * C.7.5.1.1.2): smallest/largest pixel values (image, series, plane, and the retired valid range) and the pixel
 * padding value and range limit. LUT descriptors are left alone: their first and third values are always US.
 */
export const PIXEL_REPRESENTATION_VRS = ['00280104', '00280105', '00280106', '00280107', '00280108', '00280109', '00280110', '00280111', '00280120', '00280121'];

/**
 * Gives the "US or SS" attributes of a dataset read with implicit VRs the VR its Pixel Representation says, with
 * their values as that VR reads the same bytes (a US 63536 under Pixel Representation 1 is SS -2000). Items of
 * sequences (an icon image) follow their own Pixel Representation, else their parent's. Changes `dataset` in place.
 */
export function resolveAmbiguousVrs(dataset: Dataset, inheritedPixelRepresentation = 0): void {
  const own = Number((dataset['00280103']?.Value ?? [])[0]);
  const pixelRepresentation = Number.isFinite(own) && dataset['00280103']?.Value?.length ? own : inheritedPixelRepresentation;
  for (const tag of PIXEL_REPRESENTATION_VRS) {
    const el = dataset[tag];
    if (!el || (el.vr !== 'US' && el.vr !== 'SS')) continue;
    const signed = pixelRepresentation === 1;
    el.vr = signed ? 'SS' : 'US';
    el.Value = (el.Value ?? []).map((v) => (typeof v !== 'number' ? v : signed ? (v >= 0x8000 && v <= 0xffff ? v - 0x10000 : v) : v < 0 && v >= -0x8000 ? v + 0x10000 : v));
  }
  for (const el of Object.values(dataset)) {
    if (el.vr !== 'SQ') continue;
    for (const item of (el.Value ?? []) as Dataset[]) if (item && typeof item === 'object') resolveAmbiguousVrs(item, pixelRepresentation);
  }
}

/** A Private Creator element (gggg,0010-00FF of an odd group): its VR is LO (PS3.5 7.8.1). */
export function isPrivateCreator(tag: string): boolean {
  const group = parseInt(tag.slice(0, 4), 16);
  const element = parseInt(tag.slice(4), 16);
  return group % 2 === 1 && element >= 0x10 && element <= 0xff;
}

/**
 * Gives the Private Creators of a dataset read with implicit VRs their VR, LO, and their text: dcmjs reads those of
 * a group it takes for pixel data (7FDD, 7FDF of an ultrasound) as OW bytes, which an explicit encoding wrote as OW.
 * Items of sequences too. Changes `dataset` in place.
 */
export function resolvePrivateCreators(dataset: Dataset): void {
  for (const [tag, el] of Object.entries(dataset)) {
    if (el.vr === 'SQ') {
      for (const item of (el.Value ?? []) as Dataset[]) if (item && typeof item === 'object') resolvePrivateCreators(item);
      continue;
    }
    if (!isPrivateCreator(tag) || el.vr === 'LO') continue;
    const values = (el.Value ?? []) as unknown[];
    const text = values.map((v) => (v instanceof ArrayBuffer ? Buffer.from(v).toString('latin1') : typeof v === 'string' ? v : '')).join('');
    const trimmed = text.replace(/[\0 ]+$/, '');
    el.vr = 'LO';
    el.Value = trimmed ? [trimmed] : [];
  }
}

/** What an Implicit VR file leaves unsaid, resolved: "US or SS" attributes and Private Creators. In place. */
export function resolveImplicitVrs(dataset: Dataset): void {
  resolveAmbiguousVrs(dataset);
  resolvePrivateCreators(dataset);
}
