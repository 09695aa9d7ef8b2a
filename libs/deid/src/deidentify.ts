// De-identifies one DICOM instance per PS3.15 Annex E (Basic Application Level Confidentiality Profile and the
// options in options.ts), working on dcmjs's tag-keyed dictionary so private and unknown elements are seen too.
//
// Purity: the input dict is never modified. The result is a new DicomDict; elements that were not changed
// (pixel data included) are the same objects as in the input, so treat both as read-only afterwards.
//
// How the Basic Profile's compound codes are resolved. They mean "the first action unless the IOD needs the
// next one to stay conformant", and which Type an attribute has depends on the IOD, which a generic pass does
// not know. Contour picks, for each, the choice that is conformant whatever the Type and never keeps an
// original value:
//   X/Z    -> Z (an empty value is allowed wherever X or Z is);
//   X/D    -> D if the element has a value (it may be Type 1 here), X if it is empty; sequences: X;
//   Z/D    -> D if the element has a value, Z if it is already empty; sequences: Z (no items);
//   X/Z/D  -> as Z/D;
//   X/Z/U* -> sequences are kept and their items processed, so the UIDs inside are remapped (U) and
//             references stay resolvable; a non-sequence UI element is remapped, anything else emptied.
// Sequences under a plain D (Content Sequence, Graphic Annotation Sequence, Verifying Observer Sequence...)
// keep their items, which are processed with the table, and free text inside them that the table does not
// name (LT, ST, UT, UC, PN) is replaced by the dummy. Under Clean Descriptors, sequences marked C (reason
// for visit codes, request attributes...) keep their items and every text value inside is cleaned, except the
// identifiers of coded entries (code value, scheme...), which come from code dictionaries. A D on a UI element
// remaps it like U (a made-up UID would break references for nothing).
//
// Contour-specific decisions, on top of the table:
// - Patient Name and Patient ID are set to the patient pseudonym (Contour groups studies by patient), also when
//   absent; Patient Birth Date is emptied even with Retain Patient Characteristics (the age is what is kept).
// - Group length elements (gggg,0000) are removed: they would be wrong once elements change.
// - An overlay group (60xx) whose Overlay Data is removed is removed whole (the rest describes missing data).
// - UI elements the table does not list are remapped like U (Table Frame of Reference UID, SOP Instance UID of
//   Concatenation Source, Multi-frame Source SOP Instance UID... name original objects), except those whose tag
//   names a class, syntax, coding scheme or software (CLASS_UID_TAGS: SOP Class UIDs, Coding Scheme UID,
//   Creator-Version UID...), which are kept: they identify no patient. Standard UIDs (1.2.840.10008.*) are kept
//   wherever they are.
// - File Meta: Media Storage SOP Instance UID follows the new SOP Instance UID; the Source/Sending/Receiving AE
//   titles and Private Information are dropped (they name the sending site, like Station AE Title).
import * as dcmjs from 'dcmjs';
import { CONTOUR_IMPLEMENTATION } from '@contour/dicom';
import { burnedInFlags } from './burned-in';
import { type CleanVerdict, isMatchableIdentifier, makeDescriptorCleaner, makeIdentifierMatcher } from './clean-descriptor';
import { shiftDate, shiftDateTime } from './date-shift';
import { DUMMY_TEXT, dummyValue } from './dummy-values';
import { assertSecret, type DeidContext, type DeidOptions } from './options';
import { findSafePrivateElement, isPrivateCreatorTag, isPrivateGroup, looksLikeSafeValue, privateCreatorTagOf } from './private-tags';
import { findProfileRow, PROFILE_EDITION, type ProfileRow } from './profile-table';
import { dateShiftDays as computeDateShiftDays, patientPseudonym } from './pseudonym';
import type { DeidAction, DeidReport, DeidReportEntry } from './report';
import { isWellKnownUid, normalizeUid, remapUid } from './uid-remap';

/** One element of dcmjs's tag-keyed dictionary. */
export interface DeidElement {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
  _rawValue?: unknown;
}
export type DeidDataset = Record<string, DeidElement>;
/** The shape of a dcmjs DicomDict that de-identification reads (a hand-built object will do). */
export interface DicomDictLike {
  meta: Record<string, DeidElement>;
  dict: DeidDataset;
}

/** The identifying values that were replaced, for the re-identification key table the caller keeps apart. */
export interface DeidOriginals {
  PatientName?: string;
  PatientID?: string;
  IssuerOfPatientID?: string;
  PatientBirthDate?: string;
  AccessionNumber?: string;
  StudyInstanceUID?: string;
  SeriesInstanceUID?: string;
  SOPInstanceUID?: string;
  InstitutionName?: string;
}

export interface DeidResult {
  /** The de-identified instance: write it with `Buffer.from(result.dict.write())`. */
  dict: dcmjs.data.DicomDict;
  report: DeidReport;
  /** 'burned-in-annotation' / 'review-burned-in' (burned-in.ts): the pixels may still identify the patient. */
  flags: string[];
  pseudonym: string;
  /** The shift applied to dates, in days; null when dates were not shifted (option off). */
  dateShiftDays: number | null;
  originals: DeidOriginals;
}

export const PROFILE_NAME = 'DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile';

const FREE_TEXT_VRS = new Set(['LT', 'ST', 'UT', 'UC', 'PN']);
/** Narrative text: cleaned with the narrative rules too (clean-descriptor.ts): by VR, and these LO attributes about the patient. */
const NARRATIVE_VRS = new Set(['LT', 'ST', 'UT', 'UC']);
const NARRATIVE_TAGS = new Set([
  '00102000', // Medical Alerts
  '00102110', // Allergies
  '00380040', // Discharge Diagnosis Description
  '00380050', // Special Needs
  '00380062', // Service Episode Description
  '00380500', // Patient State
  '00400012', // Pre-Medication
]);
/**
 * Text the table does not name, kept as it is unless it holds one of the dataset's own identifiers (then replaced):
 * Text Value (0040,A160) outside a content sequence, Overlay Description, a Code Meaning, a name in an attribute the
 * table lacks. Code identifiers and coded strings (CS: defined terms, which a surname such as "Head" would hit) are
 * left alone.
 */
const SWEPT_VRS = new Set(['LO', 'SH', 'ST', 'LT', 'UT', 'UC', 'PN']);
const CLEANABLE_TEXT_VRS = new Set(['LO', 'LT', 'SH', 'ST', 'UT', 'UC', 'CS', 'AE']);
/**
 * Coded-entry identifiers (Code Value, Coding Scheme Designator and Version, Long/URN Code Value, Context
 * Identifier, Mapping Resource): they come from code dictionaries, not from the patient, and a SNOMED code is a
 * long number the clean rule would take for an ID. Code Meaning is still cleaned.
 */
const CODE_IDENTIFIER_TAGS = new Set(['00080100', '00080102', '00080103', '00080105', '0008010F', '00080119', '00080120']);
/** Elements this pass writes itself at the top level (PS3.15 E.1.1 requires them after de-identification). */
const RECORD_TAGS = new Set(['00120062', '00120063', '00120064', '00280303']);
/** Elements whose values are collected as the dataset's own identifiers for the clean rule. */
const IDENTIFIER_TAGS = new Set([
  '00100020', '00101000', '00100021', '00080050', '00200010', '00080080', '00080081', '00081010', '00081040',
  '00400009', '00401001', '00400253', '00120040', '00120042', '00380010', '00380060', '00101040', '00102154',
]);
const META_SITE_TAGS: Record<string, string> = {
  '00020016': 'SourceApplicationEntityTitle',
  '00020017': 'SendingApplicationEntityTitle',
  '00020018': 'ReceivingApplicationEntityTitle',
  '00020100': 'PrivateInformationCreatorUID',
  '00020102': 'PrivateInformation',
};

type Inherited = 'none' | 'dummy-text' | 'clean-text';

interface Walk {
  options: DeidOptions;
  secret: string;
  pseudonym: string;
  shiftDays: number;
  clean: (value: string, narrative?: boolean) => CleanVerdict;
  /** Whether a text holds one of the dataset's own identifiers (clean-descriptor.ts). */
  hasIdentifier: (value: string) => boolean;
  entries: DeidReportEntry[];
}

function formatTag(tag: string): string {
  const t = tag.toUpperCase();
  return `${t.slice(0, 4)},${t.slice(4, 8)}`;
}

function keywordOf(tag: string, row?: ProfileRow): string {
  if (row && !row.tag.includes('X')) return row.keyword;
  const entry = dcmjs.data.DicomMetaDictionary.dictionary[`(${formatTag(tag)})`];
  return entry?.name ?? row?.keyword ?? '';
}

function pnText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') {
    const pn = v as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
    return [pn.Alphabetic, pn.Ideographic, pn.Phonetic].filter((s) => s).join('=');
  }
  return String(v);
}

function isEmptyValue(v: unknown): boolean {
  if (v === null || v === undefined || v === '') return true;
  if (typeof v === 'string') return v.trim() === '';
  if (v instanceof ArrayBuffer) return v.byteLength === 0;
  if (typeof v === 'object' && !ArrayBuffer.isView(v) && !Array.isArray(v)) return pnText(v).replace(/[=^\s]/g, '') === '';
  return false;
}

function isEmpty(el: DeidElement): boolean {
  return !el.Value || el.Value.length === 0 || el.Value.every(isEmptyValue);
}

function firstString(el: DeidElement | undefined): string | undefined {
  const v = el?.Value?.[0];
  if (v === undefined || v === null) return undefined;
  const s = (el!.vr === 'PN' ? pnText(v) : String(v)).trim();
  return s === '' ? undefined : s;
}

/**
 * Name components worth matching in descriptors: family, given and middle names (not prefixes like "Mr"), in any
 * script: "Παπαδόπουλος" and "王" (one ideograph) count (only ASCII letters did, so a name in Chinese, Greek or
 * Cyrillic was never found in a study description).
 */
function nameParts(v: unknown): string[] {
  return pnText(v)
    .split('=')
    .flatMap((group) => group.split('^').slice(0, 3))
    .flatMap((part) => part.split(/[\s,\u3000]+/))
    .filter(isMatchableIdentifier);
}

function collectIdentifiers(ds: DeidDataset, out: Set<string>): void {
  for (const [tag, el] of Object.entries(ds)) {
    const t = tag.toUpperCase();
    if (el.vr === 'SQ') {
      for (const item of (el.Value ?? []) as DeidDataset[]) if (item && typeof item === 'object') collectIdentifiers(item, out);
    } else if (el.vr === 'PN') {
      for (const v of el.Value ?? []) for (const p of nameParts(v)) out.add(p);
    } else if (IDENTIFIER_TAGS.has(t)) {
      for (const v of el.Value ?? []) if (typeof v === 'string' && v.trim()) out.add(v.trim());
    }
  }
}

function record(walk: Walk, path: string, tag: string, keyword: string, action: DeidAction, reason: string): void {
  walk.entries.push({ tag: formatTag(tag), path, keyword, action, reason });
}

/**
 * UI attributes whose values name a class, a transfer syntax, a coding scheme or a piece of software rather than an
 * object: kept when the table does not list them (any other unlisted UID is remapped). Standard UIDs are kept anyway.
 */
const CLASS_UID_TAGS = new Set([
  '00020002', // Media Storage SOP Class UID
  '00020010', // Transfer Syntax UID
  '00020012', // Implementation Class UID
  '00041510', // Referenced SOP Class UID in File
  '0004151A', // Referenced Related General SOP Class UID in File
  '00041512', // Referenced Transfer Syntax UID in File
  '00080016', // SOP Class UID
  '0008001A', // Related General SOP Class UID
  '0008001B', // Original Specialized SOP Class UID
  '0008010C', // Coding Scheme UID
  '0008010D', // Context Group Extension Creator UID
  '00080117', // Context UID
  '00080118', // Mapping Resource UID
  '00081150', // Referenced SOP Class UID
  '00089123', // Creator-Version UID
  '0040DB0C', // Template Extension Organization UID
  '0040DB0D', // Template Extension Creator UID
  '04000010', // MAC Calculation Transfer Syntax UID
  '04000510', // Encrypted Content Transfer Syntax UID
]);

function remapValues(el: DeidElement, secret: string): { element: DeidElement; changed: boolean } {
  let changed = false;
  const Value = (el.Value ?? []).map((v) => {
    if (typeof v !== 'string') return v;
    const uid = normalizeUid(v);
    if (!uid || isWellKnownUid(uid)) return v;
    changed = true;
    return remapUid(uid, secret);
  });
  return { element: { vr: el.vr, Value }, changed };
}

/** Which option, if any, overrides the Basic Profile for this row. */
function optionFor(row: ProfileRow, o: DeidOptions): { kind: 'keep' | 'shift' | 'clean'; reason: string } | undefined {
  if (o.retainDeviceIdentity && row.options.retainDeviceIdentity === 'K') return { kind: 'keep', reason: 'Retain Device Identity option' };
  if (o.retainPatientCharacteristics && row.options.retainPatientCharacteristics === 'K') return { kind: 'keep', reason: 'Retain Patient Characteristics option' };
  if (o.retainLongitudinalTemporal && row.options.retainLongitudinalTemporal === 'C') return { kind: 'shift', reason: 'Retain Longitudinal Temporal Information Modified Dates option' };
  if (o.retainPatientCharacteristics && row.options.retainPatientCharacteristics === 'C') return { kind: 'clean', reason: 'Retain Patient Characteristics option (clean)' };
  if (o.cleanDescriptors && row.options.cleanDescriptors === 'C') return { kind: 'clean', reason: 'Clean Descriptors option' };
  return undefined;
}

type Resolved = { code: 'X' | 'Z' | 'D' | 'U' | 'K' | 'C' | 'U*'; note?: string };

function resolveCompound(code: ProfileRow['basic'], el: DeidElement): Resolved {
  const sq = el.vr === 'SQ';
  const empty = isEmpty(el);
  switch (code) {
    case 'X/Z':
      return { code: 'Z', note: 'resolved to Z: an empty value is conformant wherever X or Z is' };
    case 'X/D':
      if (sq) return { code: 'X', note: 'resolved to X for a sequence' };
      return empty ? { code: 'X', note: 'resolved to X: the value was empty' } : { code: 'D', note: 'resolved to D: the value may be Type 1 in this IOD' };
    case 'Z/D':
    case 'X/Z/D':
      if (sq) return { code: 'Z', note: 'resolved to Z: sequence emptied' };
      return empty ? { code: 'Z', note: 'resolved to Z: the value was already empty' } : { code: 'D', note: 'resolved to D: the value may be Type 1 in this IOD' };
    case 'X/Z/U*':
      if (sq) return { code: 'U*', note: 'resolved to U*: items kept, UIDs inside remapped' };
      return el.vr === 'UI' ? { code: 'U' } : { code: 'Z', note: 'resolved to Z: not a UID' };
    default:
      return { code };
  }
}

function cleanElement(el: DeidElement, walk: Walk, tag: string): { element: DeidElement; verdict: CleanVerdict } {
  if (el.vr === 'PN') {
    // A person name cannot be "cleaned" into something of similar meaning that is not a name.
    return isEmpty(el) ? { element: el, verdict: { keep: true } } : { element: { vr: 'PN', Value: dummyValue('PN') }, verdict: { keep: false, reason: 'a person name' } };
  }
  if (!CLEANABLE_TEXT_VRS.has(el.vr)) return { element: el, verdict: { keep: true } };
  const narrative = NARRATIVE_VRS.has(el.vr) || NARRATIVE_TAGS.has(tag.toUpperCase());
  for (const v of el.Value ?? []) {
    if (typeof v !== 'string') continue;
    const verdict = walk.clean(v, narrative);
    if (!verdict.keep) return { element: { vr: el.vr, Value: [DUMMY_TEXT] }, verdict };
  }
  return { element: el, verdict: { keep: true } };
}

function holdsIdentifier(el: DeidElement, walk: Walk): boolean {
  return (el.Value ?? []).some((v) => {
    const text = el.vr === 'PN' ? pnText(v) : typeof v === 'string' ? v : '';
    return text !== '' && walk.hasIdentifier(text);
  });
}

function processItems(el: DeidElement, walk: Walk, path: string, inherited: Inherited): DeidElement {
  const items = ((el.Value ?? []) as DeidDataset[]).map((item, i) => (item && typeof item === 'object' ? processDataset(item, walk, `${path}[${i}].`, inherited, false) : item));
  return { vr: 'SQ', Value: items };
}

function processPrivate(ds: DeidDataset, tags: string[], out: DeidDataset, walk: Walk, prefix: string): void {
  const keptBlocks = new Set<string>();
  const byUpper = new Map(Object.keys(ds).map((k) => [k.toUpperCase(), k]));
  const creatorOf = (tag: string) => {
    const key = byUpper.get(privateCreatorTagOf(tag) ?? '');
    return key ? firstString(ds[key]) : undefined;
  };
  for (const tag of tags) {
    if (isPrivateCreatorTag(tag)) continue;
    const el = ds[tag];
    const creator = creatorOf(tag);
    const safe = findSafePrivateElement(creator, tag);
    const keyword = safe ? safe.name : `private (${creator ?? 'no creator'})`;
    if (walk.options.keepSafePrivateTags && safe && looksLikeSafeValue(safe, el) && !holdsIdentifier(el, walk)) {
      out[tag] = el;
      keptBlocks.add(privateCreatorTagOf(tag)!);
      record(walk, prefix + formatTag(tag), tag, keyword, 'private-kept', `Safe private element (${safe.creator}, ${safe.name}): ${safe.why}`);
    } else {
      const why = !safe
        ? 'PS3.15 E.1-1 basic profile: X (private attribute)'
        : walk.options.keepSafePrivateTags
          ? 'PS3.15 E.1-1 basic profile: X (safe-listed slot, but its VR or value is not of the expected kind)'
          : 'PS3.15 E.1-1 basic profile: X (private attribute; safe private elements not kept by option)';
      record(walk, prefix + formatTag(tag), tag, keyword, 'private-removed', why);
    }
  }
  for (const tag of tags) {
    if (!isPrivateCreatorTag(tag)) continue;
    const creator = firstString(ds[tag]) ?? '';
    if (keptBlocks.has(tag.toUpperCase())) {
      out[tag] = ds[tag];
      record(walk, prefix + formatTag(tag), tag, `private creator (${creator})`, 'private-kept', 'Private creator of a block with kept safe elements');
    } else {
      record(walk, prefix + formatTag(tag), tag, `private creator (${creator})`, 'private-removed', 'PS3.15 E.1-1 basic profile: X (private creator of a removed block)');
    }
  }
}

function processDataset(ds: DeidDataset, walk: Walk, prefix: string, inherited: Inherited, top: boolean): DeidDataset {
  const out: DeidDataset = {};
  const tags = Object.keys(ds).sort();
  processPrivate(ds, tags.filter((t) => isPrivateGroup(t) && parseInt(t.slice(4, 8), 16) !== 0), out, walk, prefix);

  const droppedOverlayGroups = new Set(
    tags
      .map((t) => t.toUpperCase())
      .filter((t) => (parseInt(t.slice(0, 4), 16) & 0xff01) === 0x6000 && t.endsWith('3000'))
      .map((t) => t.slice(0, 4)),
  );

  for (const tag of tags) {
    const T = tag.toUpperCase();
    const el = ds[tag];
    const path = prefix + formatTag(T);
    const element = parseInt(T.slice(4, 8), 16);
    if (isPrivateGroup(T) && element !== 0) continue; // done above

    if (element === 0) {
      record(walk, path, T, 'GroupLength', 'removed', 'Group length: wrong once elements change (retired in datasets)');
      continue;
    }
    if (top && RECORD_TAGS.has(T)) {
      record(walk, path, T, keywordOf(T), 'dummy', "Contour: replaced by this de-identification's own record (PS3.15 E.1.1)");
      continue;
    }
    if (T === '00100010' || T === '00100020') {
      out[tag] = T === '00100010' ? { vr: 'PN', Value: [{ Alphabetic: walk.pseudonym }] } : { vr: el.vr || 'LO', Value: [walk.pseudonym] };
      record(walk, path, T, keywordOf(T), 'dummy', `Contour: patient pseudonym (PS3.15 E.1-1 basic profile: ${T === '00100010' ? 'Z' : 'Z/D'}, replaced by a consistent pseudonym)`);
      continue;
    }
    if (T === '00100030') {
      // Birth date goes even with Retain Patient Characteristics: age (kept by that option) carries what matters.
      out[tag] = { vr: 'DA', Value: [] };
      record(walk, path, T, 'PatientBirthDate', 'emptied', 'PS3.15 E.1-1 basic profile: Z');
      continue;
    }
    const group = T.slice(0, 4);
    if (droppedOverlayGroups.has(group) && !T.endsWith('3000') && !T.endsWith('4000')) {
      record(walk, path, T, keywordOf(T), 'removed', 'Overlay Data (60xx,3000) is X in E.1-1; the rest of its overlay group is meaningless without it');
      continue;
    }

    const found = findProfileRow(T);
    if (!found) {
      if (el.vr === 'SQ') out[tag] = processItems(el, walk, path, inherited);
      else if (el.vr === 'UI' && !CLASS_UID_TAGS.has(T) && !isEmpty(el)) {
        const { element: remapped, changed } = remapValues(el, walk.secret);
        out[tag] = remapped;
        if (changed) record(walk, path, T, keywordOf(T), 'replaced-uid', 'Contour: a UID the table does not list, remapped like U (it may name an original object)');
      }
      else if (inherited === 'dummy-text' && FREE_TEXT_VRS.has(el.vr) && !isEmpty(el)) {
        out[tag] = { vr: el.vr, Value: dummyValue(el.vr) };
        record(walk, path, T, keywordOf(T), 'dummy', 'PS3.15 E.1-1 basic profile: D on the enclosing sequence (free text replaced)');
      } else if (inherited === 'clean-text' && (CLEANABLE_TEXT_VRS.has(el.vr) || el.vr === 'PN') && !CODE_IDENTIFIER_TAGS.has(T) && !isEmpty(el)) {
        const { element: cleaned, verdict } = cleanElement(el, walk, T);
        out[tag] = cleaned;
        record(walk, path, T, keywordOf(T), 'cleaned', `Clean Descriptors option on the enclosing sequence: ${verdict.keep ? 'kept (no identifying token)' : `replaced (${verdict.reason})`}`);
      } else if (SWEPT_VRS.has(el.vr) && !CODE_IDENTIFIER_TAGS.has(T) && holdsIdentifier(el, walk)) {
        out[tag] = { vr: el.vr, Value: dummyValue(el.vr) };
        record(walk, path, T, keywordOf(T), 'dummy', "Contour: not in E.1-1, but its text holds an identifier of this dataset (a name, ID or institution): replaced");
      } else out[tag] = el;
      continue;
    }
    applyRow(tag, el, found.row, found.source, out, walk, path, inherited);
  }
  return out;
}

function applyRow(tag: string, el: DeidElement, row: ProfileRow, source: 'table' | 'contour', out: DeidDataset, walk: Walk, path: string, inherited: Inherited): void {
  const T = tag.toUpperCase();
  const keyword = keywordOf(T, row);
  const base = source === 'table' ? `PS3.15 E.1-1 basic profile: ${row.basic}` : `Contour addition (not in E.1-1): ${row.basic}`;

  const option = optionFor(row, walk.options);
  if (option?.kind === 'keep') {
    out[tag] = el;
    record(walk, path, T, keyword, 'kept-by-option', option.reason);
    return;
  }
  if (option?.kind === 'shift') {
    if (isEmpty(el) || (el.vr !== 'DA' && el.vr !== 'DT')) {
      // TM (and the UTC offset) carry no calendar date, so keeping them reveals nothing the shift hides.
      out[tag] = el;
      record(walk, path, T, keyword, 'kept-by-option', `${option.reason}${isEmpty(el) ? ' (empty)' : ` (${el.vr} kept, only dates are shifted)`}`);
      return;
    }
    const shift = el.vr === 'DA' ? shiftDate : shiftDateTime;
    const shifted = (el.Value ?? []).map((v) => (typeof v === 'string' && v.trim() ? shift(v, walk.shiftDays) : v));
    if (shifted.every((v) => v !== undefined)) {
      out[tag] = { vr: el.vr, Value: shifted };
      record(walk, path, T, keyword, 'shifted', `${option.reason} (${walk.shiftDays} days)`);
      return;
    }
    // Not a full date (partial DT, range, malformed): it cannot be shifted, so the Basic Profile applies.
    applyBasic(tag, el, row, out, walk, path, inherited, keyword, `${base}; not a full date, could not be shifted`);
    return;
  }
  if (option?.kind === 'clean') {
    if (el.vr === 'SQ') {
      out[tag] = processItems(el, walk, path, 'clean-text');
      record(walk, path, T, keyword, 'cleaned', `${option.reason}: sequence kept, text inside cleaned`);
      return;
    }
    const { element: cleaned, verdict } = cleanElement(el, walk, T);
    out[tag] = cleaned;
    record(walk, path, T, keyword, 'cleaned', `${option.reason}: ${verdict.keep ? 'kept (no identifying token)' : `replaced (${verdict.reason})`}`);
    return;
  }
  applyBasic(tag, el, row, out, walk, path, inherited, keyword, base);
}

function applyBasic(tag: string, el: DeidElement, row: ProfileRow, out: DeidDataset, walk: Walk, path: string, inherited: Inherited, keyword: string, base: string): void {
  const T = tag.toUpperCase();
  const { code, note } = resolveCompound(row.basic, el);
  const reason = note ? `${base} (${note})` : base;
  switch (code) {
    case 'K':
      out[tag] = el;
      return;
    case 'X':
      record(walk, path, T, keyword, 'removed', reason);
      return;
    case 'Z':
      out[tag] = { vr: el.vr, Value: [] };
      record(walk, path, T, keyword, 'emptied', reason);
      return;
    case 'U*':
      out[tag] = processItems(el, walk, path, inherited);
      return;
    case 'C': {
      const { element: cleaned, verdict } = cleanElement(el, walk, T);
      out[tag] = cleaned;
      record(walk, path, T, keyword, 'cleaned', `${reason}: ${verdict.keep ? 'kept' : `replaced (${verdict.reason})`}`);
      return;
    }
    case 'U':
    case 'D': {
      if (el.vr === 'SQ') {
        out[tag] = processItems(el, walk, path, 'dummy-text');
        record(walk, path, T, keyword, 'dummy', `${reason} (sequence kept; its items de-identified and free text in them replaced)`);
        return;
      }
      if (el.vr === 'UI') {
        if (isEmpty(el)) {
          // A UID cannot be faked without inventing a reference; an empty one reveals nothing.
          out[tag] = el;
          return;
        }
        const { element: remapped, changed } = remapValues(el, walk.secret);
        out[tag] = remapped;
        if (changed) record(walk, path, T, keyword, 'replaced-uid', reason);
        return;
      }
      out[tag] = { vr: el.vr, Value: dummyValue(el.vr) };
      record(walk, path, T, keyword, 'dummy', reason);
      return;
    }
  }
}

function methodRecord(options: DeidOptions): { methods: string[]; codes: [string, string][] } {
  // De-identification Method is LO (64 characters per value), hence one value per profile/option.
  const methods = [`PS3.15 ${PROFILE_EDITION} Annex E Basic Application Confidentiality Profile`];
  const codes: [string, string][] = [['113100', 'Basic Application Confidentiality Profile']];
  const add = (on: boolean, code: string, meaning: string) => {
    if (!on) return;
    methods.push(meaning);
    codes.push([code, meaning]);
  };
  add(options.cleanDescriptors, '113105', 'Clean Descriptors Option');
  add(options.retainLongitudinalTemporal, '113107', 'Retain Longitudinal Temporal Information Modified Dates Option');
  add(options.retainPatientCharacteristics, '113108', 'Retain Patient Characteristics Option');
  add(options.retainDeviceIdentity, '113109', 'Retain Device Identity Option');
  add(options.keepSafePrivateTags, '113111', 'Retain Safe Private Option');
  return { methods, codes };
}

/**
 * De-identifies one instance. See the file header for what is decided beyond the table; `options` are the
 * Annex E options (options.ts), `context.secret` the deployment secret all pseudonyms/UIDs/shifts derive from.
 */
export function deidentify(dict: DicomDictLike, options: DeidOptions, context: DeidContext): DeidResult {
  assertSecret(context.secret);
  const ds = dict.dict;
  const at = (tag: string) => ds[tag];

  const patientId = firstString(at('00100020'));
  const issuer = firstString(at('00100021'));
  const name = firstString(at('00100010'));
  const birthDate = firstString(at('00100030'));
  const originals: DeidOriginals = {
    PatientName: name,
    PatientID: patientId,
    IssuerOfPatientID: issuer,
    PatientBirthDate: birthDate,
    AccessionNumber: firstString(at('00080050')),
    StudyInstanceUID: firstString(at('0020000D')),
    SeriesInstanceUID: firstString(at('0020000E')),
    SOPInstanceUID: firstString(at('00080018')),
    InstitutionName: firstString(at('00080080')),
  };
  // The pseudonym keys on what identifies the patient. Without a Patient ID, name + birth date is the next best
  // thing; with neither, the study stands alone (its own pseudonym) rather than merging with other anonymous ones.
  const pseudonymKey = patientId ?? (name ? `name:${name}|${birthDate ?? ''}` : `study:${originals.StudyInstanceUID ?? ''}`);
  const pseudonym = patientPseudonym(context.secret, pseudonymKey, issuer ?? '');
  const shiftDays = computeDateShiftDays(context.secret, pseudonym);

  const identifiers = new Set<string>();
  collectIdentifiers(ds, identifiers);
  const hasIdentifier = makeIdentifierMatcher(identifiers);
  const walk: Walk = { options, secret: context.secret, pseudonym, shiftDays, clean: makeDescriptorCleaner(hasIdentifier), hasIdentifier, entries: [] };

  const flags = burnedInFlags({
    burnedInAnnotation: firstString(at('00280301')),
    modality: firstString(at('00080060')),
    sopClassUid: firstString(at('00080016')),
    imageType: (at('00080008')?.Value ?? []).map(String),
  });

  const outDs = processDataset(ds, walk, '', 'none', true);
  if (!('00100010' in outDs)) outDs['00100010'] = { vr: 'PN', Value: [{ Alphabetic: pseudonym }] };
  if (!('00100020' in outDs)) outDs['00100020'] = { vr: 'LO', Value: [pseudonym] };
  const { methods, codes } = methodRecord(options);
  outDs['00120062'] = { vr: 'CS', Value: ['YES'] };
  outDs['00120063'] = { vr: 'LO', Value: methods };
  outDs['00120064'] = {
    vr: 'SQ',
    Value: codes.map(([value, meaning]) => ({
      '00080100': { vr: 'SH', Value: [value] },
      '00080102': { vr: 'SH', Value: ['DCM'] },
      '00080104': { vr: 'LO', Value: [meaning] },
    })),
  };
  outDs['00280303'] = { vr: 'CS', Value: [options.retainLongitudinalTemporal ? 'MODIFIED' : 'REMOVED'] };

  const meta: Record<string, DeidElement> = {};
  for (const [tag, el] of Object.entries(dict.meta ?? {})) {
    const T = tag.toUpperCase();
    if (T in META_SITE_TAGS) {
      record(walk, `meta:${formatTag(T)}`, T, META_SITE_TAGS[T], 'removed', 'Contour: File Meta names the sending site (cf. Station AE Title, X in E.1-1)');
    } else if (T === '00020003') {
      const original = originals.SOPInstanceUID ?? firstString(el);
      if (original && !isWellKnownUid(original)) {
        meta[tag] = { vr: 'UI', Value: [remapUid(original, context.secret)] };
        record(walk, `meta:${formatTag(T)}`, T, 'MediaStorageSOPInstanceUID', 'replaced-uid', 'PS3.15 E.1-1 basic profile: U (follows SOP Instance UID)');
      } else meta[tag] = el;
    } else if (T === '00020012' || T === '00020013') {
      // Contour writes the de-identified file: it names itself as the implementation (PS3.10 7.1), so the same object
      // received through two doors (an upload and a C-STORE, whose File Meta differ) is stored as the same bytes.
      meta[tag] = T === '00020012' ? { vr: 'UI', Value: [CONTOUR_IMPLEMENTATION.classUid] } : { vr: 'SH', Value: [CONTOUR_IMPLEMENTATION.versionName] };
    } else meta[tag] = el;
  }

  const out = new dcmjs.data.DicomDict(meta);
  out.dict = outDs;
  return {
    dict: out,
    report: { profile: PROFILE_NAME, edition: PROFILE_EDITION, options: { ...options }, entries: walk.entries },
    flags,
    pseudonym,
    dateShiftDays: options.retainLongitudinalTemporal ? shiftDays : null,
    originals,
  };
}
