// QIDO-RS over Contour's index: matching rules of PS3.18 10.6 (single value, list of UIDs, wildcards * and ?,
// date ranges), answering DICOM JSON built from the de-identified rows: each level's default attributes, plus
// those includefield names (or all) among what the index keeps.
import { BadRequestException } from '@nestjs/common';
import * as dcmjs from 'dcmjs';

export type QidoLevel = 'study' | 'series' | 'instance';

/** The attributes Contour can match on, by keyword and tag, with the SQL column they map to. */
const MATCH_KEYS: Record<string, { tag: string; column: string; kind: 'uid' | 'text' | 'date' | 'modality' | 'int' | 'emptied' }> = {
  StudyInstanceUID: { tag: '0020000D', column: 'st.study_instance_uid', kind: 'uid' },
  PatientID: { tag: '00100020', column: 'pa.pseudonym', kind: 'text' },
  PatientName: { tag: '00100010', column: 'pa.pseudonym', kind: 'text' },
  StudyDate: { tag: '00080020', column: 'st.study_date', kind: 'date' },
  StudyDescription: { tag: '00081030', column: 'st.description', kind: 'text' },
  ModalitiesInStudy: { tag: '00080061', column: 'se.modality', kind: 'modality' },
  SeriesInstanceUID: { tag: '0020000E', column: 'se.series_instance_uid', kind: 'uid' },
  Modality: { tag: '00080060', column: 'se.modality', kind: 'modality' },
  SeriesDescription: { tag: '0008103E', column: 'se.description', kind: 'text' },
  SeriesNumber: { tag: '00200011', column: 'se.series_number', kind: 'int' },
  SOPInstanceUID: { tag: '00080018', column: 'i.sop_instance_uid', kind: 'uid' },
  SOPClassUID: { tag: '00080016', column: 'i.sop_class_uid', kind: 'uid' },
  InstanceNumber: { tag: '00200013', column: 'i.instance_number', kind: 'int' },
  // Study keys PS3.18 requires a server to match on that de-identification always empties (PS3.15 action Z): only a
  // universal match ("*") finds anything. They were a 400, which broke searches of viewers such as OHIF.
  AccessionNumber: { tag: '00080050', column: '', kind: 'emptied' },
  ReferringPhysicianName: { tag: '00080090', column: '', kind: 'emptied' },
  StudyID: { tag: '00200010', column: '', kind: 'emptied' },
};
const BY_TAG = Object.fromEntries(Object.entries(MATCH_KEYS).map(([k, v]) => [v.tag, k]));
const IGNORED = new Set(['limit', 'offset', 'includefield', 'fuzzymatching']);

/** YYYYMMDD names a day of the calendar (20201340 and 99999999 do not). */
function isCalendarDate(yyyymmdd: string): boolean {
  const [y, m, d] = [Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)), Number(yyyymmdd.slice(6, 8))];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

export interface QidoFilter {
  where: string[];
  params: unknown[];
  limit: number;
  offset: number;
}

/** Turns QIDO query parameters into SQL conditions; an unknown or malformed key is a 400 naming it. */
export function qidoFilter(query: Record<string, string | string[] | undefined>, fixed: Record<string, string>): QidoFilter {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  // PS3.18 8.3.4.1: true or false (Contour matches exactly either way, as a server without fuzzy matching may).
  if (query.fuzzymatching !== undefined && query.fuzzymatching !== 'true' && query.fuzzymatching !== 'false') {
    throw new BadRequestException(`QIDO-RS: fuzzymatching is true or false, got ${JSON.stringify(query.fuzzymatching)}`);
  }
  const all = { ...query, ...fixed };
  for (const [rawKey, rawValue] of Object.entries(all)) {
    if (rawValue === undefined || IGNORED.has(rawKey)) continue;
    const key = BY_TAG[rawKey.toUpperCase()] ?? rawKey;
    const spec = MATCH_KEYS[key];
    if (!spec) throw new BadRequestException(`QIDO-RS: Contour cannot match on "${rawKey}"; supported keys: ${Object.keys(MATCH_KEYS).join(', ')}, limit, offset, includefield`);
    const value = Array.isArray(rawValue) ? rawValue.join(',') : rawValue;
    if (value === '') continue;
    switch (spec.kind) {
      case 'uid': {
        const uids = value.split(/[,\\]/).map((u) => u.trim()).filter(Boolean);
        if (!uids.every((u) => /^[0-9.]{1,64}$/.test(u))) throw new BadRequestException(`QIDO-RS: ${key} must be UIDs (digits and dots), got "${value}"`);
        add((p) => `${spec.column} = ANY(${p})`, uids);
        break;
      }
      case 'text':
        if (/[*?]/.test(value)) add((p) => `${spec.column} ILIKE ${p}`, value.replace(/[%_]/g, '\\$&').replace(/\*/g, '%').replace(/\?/g, '_'));
        // A person's name matches in any case, as its wildcard match does (PS3.4 C.2.2.2.1 lets PN match so; an exact
        // name in another case found nothing while "name*" found it).
        else if (key === 'PatientName') add((p) => `${spec.column} ILIKE ${p}`, value.replace(/[\\%_]/g, '\\$&'));
        else add((p) => `${spec.column} = ${p}`, value);
        break;
      case 'modality':
        add((p) => `${spec.column} = ANY(${p})`, value.split(/[,\\]/).map((m) => m.trim().toUpperCase()));
        break;
      case 'int':
        // The columns are integers (IS values: at most 12 characters, within PostgreSQL's integer).
        if (!/^\d+$/.test(value) || Number(value) > 2_147_483_647) throw new BadRequestException(`QIDO-RS: ${key} must be a whole number from 0 to 2147483647, got "${value}"`);
        add((p) => `${spec.column} = ${p}`, Number(value));
        break;
      case 'emptied':
        if (!/^\*+$/.test(value)) where.push('false');
        break;
      case 'date': {
        const m = /^(\d{8})?(-)?(\d{8})?$/.exec(value);
        if (!m || (!m[1] && !m[3])) throw new BadRequestException(`QIDO-RS: ${key} must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD, got "${value}"`);
        const impossible = [m[1], m[3]].find((d) => d !== undefined && !isCalendarDate(d));
        if (impossible) throw new BadRequestException(`QIDO-RS: ${key} has ${impossible}, which is not a date (YYYYMMDD)`);
        if (!m[2]) add((p) => `${spec.column} = ${p}`, m[1]);
        else {
          if (m[1]) add((p) => `${spec.column} >= ${p}`, m[1]);
          if (m[3]) add((p) => `${spec.column} <= ${p}`, m[3]);
        }
        break;
      }
    }
  }
  const num = (v: unknown, d: number, max: number) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new BadRequestException(`QIDO-RS: limit and offset must be whole numbers`);
    return Math.min(n, max);
  };
  return { where, params, limit: num(query.limit, 200, 5000), offset: num(query.offset, 0, Number.MAX_SAFE_INTEGER) };
}

type Json = Record<string, { vr: string; Value?: unknown[] }>;
const attr = (vr: string, value: unknown): { vr: string; Value?: unknown[] } =>
  value === null || value === undefined || value === '' ? { vr } : { vr, Value: Array.isArray(value) ? value : [value] };
const count = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * Every attribute a QIDO-RS answer can hold, from what the de-identified index keeps (nothing else is kept: the
 * files are not read for a search). `level` is the deepest level the attribute belongs to: a series or instance
 * answer may carry its study's and patient's attributes, not the other way round. The empty ones are attributes
 * de-identification always empties (PS3.15 action Z) that PS3.18 lists among a study's default answer.
 */
const RETURN_KEYS: Record<string, { tag: string; vr: string; level: QidoLevel; value: (r: Record<string, any>) => unknown }> = {
  PatientName: { tag: '00100010', vr: 'PN', level: 'study', value: (r) => (r.pseudonym ? { Alphabetic: r.pseudonym } : null) },
  PatientID: { tag: '00100020', vr: 'LO', level: 'study', value: (r) => r.pseudonym },
  PatientSex: { tag: '00100040', vr: 'CS', level: 'study', value: (r) => r.sex },
  PatientAge: { tag: '00101010', vr: 'AS', level: 'study', value: (r) => r.age },
  StudyInstanceUID: { tag: '0020000D', vr: 'UI', level: 'study', value: (r) => r.study_instance_uid },
  StudyDate: { tag: '00080020', vr: 'DA', level: 'study', value: (r) => r.study_date },
  StudyDescription: { tag: '00081030', vr: 'LO', level: 'study', value: (r) => r.study_description },
  AccessionNumber: { tag: '00080050', vr: 'SH', level: 'study', value: () => null },
  ReferringPhysicianName: { tag: '00080090', vr: 'PN', level: 'study', value: () => null },
  StudyID: { tag: '00200010', vr: 'SH', level: 'study', value: () => null },
  SeriesInstanceUID: { tag: '0020000E', vr: 'UI', level: 'series', value: (r) => r.series_instance_uid },
  Modality: { tag: '00080060', vr: 'CS', level: 'series', value: (r) => r.modality },
  SeriesDescription: { tag: '0008103E', vr: 'LO', level: 'series', value: (r) => r.series_description },
  BodyPartExamined: { tag: '00180015', vr: 'CS', level: 'series', value: (r) => r.body_part },
  SeriesNumber: { tag: '00200011', vr: 'IS', level: 'series', value: (r) => r.series_number },
  FrameOfReferenceUID: { tag: '00200052', vr: 'UI', level: 'series', value: (r) => r.frame_of_reference_uid },
  SOPClassUID: { tag: '00080016', vr: 'UI', level: 'instance', value: (r) => r.sop_class_uid },
  SOPInstanceUID: { tag: '00080018', vr: 'UI', level: 'instance', value: (r) => r.sop_instance_uid },
  AvailableTransferSyntaxUID: { tag: '00083002', vr: 'UI', level: 'instance', value: (r) => r.transfer_syntax_uid },
  InstanceNumber: { tag: '00200013', vr: 'IS', level: 'instance', value: (r) => r.instance_number },
  NumberOfFrames: { tag: '00280008', vr: 'IS', level: 'instance', value: (r) => r.number_of_frames },
  Rows: { tag: '00280010', vr: 'US', level: 'instance', value: (r) => r.rows },
  Columns: { tag: '00280011', vr: 'US', level: 'instance', value: (r) => r.columns },
  ImagePositionPatient: { tag: '00200032', vr: 'DS', level: 'instance', value: (r) => r.image_position },
  ImageOrientationPatient: { tag: '00200037', vr: 'DS', level: 'instance', value: (r) => r.image_orientation },
  PixelSpacing: { tag: '00280030', vr: 'DS', level: 'instance', value: (r) => r.pixel_spacing },
};
/** Attributes that summarise the level below: only in an answer of their own level. */
const SUMMARY_KEYS: Record<string, { tag: string; vr: string; level: QidoLevel; value: (r: Record<string, any>) => unknown }> = {
  ModalitiesInStudy: { tag: '00080061', vr: 'CS', level: 'study', value: (r) => r.modalities },
  SOPClassesInStudy: { tag: '00080062', vr: 'UI', level: 'study', value: (r) => r.sop_classes },
  NumberOfStudyRelatedSeries: { tag: '00201206', vr: 'IS', level: 'study', value: (r) => count(r.series_count) },
  NumberOfStudyRelatedInstances: { tag: '00201208', vr: 'IS', level: 'study', value: (r) => count(r.instance_count) },
  NumberOfSeriesRelatedInstances: { tag: '00201209', vr: 'IS', level: 'series', value: (r) => count(r.instance_count) },
};
const RETRIEVE_URL = '00081190';
const DEPTH: Record<QidoLevel, number> = { study: 0, series: 1, instance: 2 };

/** The attributes every answer of a level holds: PS3.18's default attributes of the level that Contour has. */
const DEFAULT_KEYS: Record<QidoLevel, string[]> = {
  study: ['StudyDate', 'AccessionNumber', 'ModalitiesInStudy', 'ReferringPhysicianName', 'StudyDescription', 'PatientName', 'PatientID', 'PatientSex', 'StudyInstanceUID', 'StudyID', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances'],
  series: ['Modality', 'SeriesDescription', 'BodyPartExamined', 'StudyInstanceUID', 'SeriesInstanceUID', 'SeriesNumber', 'NumberOfSeriesRelatedInstances'],
  instance: ['SOPClassUID', 'SOPInstanceUID', 'Modality', 'AvailableTransferSyntaxUID', 'StudyInstanceUID', 'SeriesInstanceUID', 'InstanceNumber', 'NumberOfFrames', 'Rows', 'Columns'],
};

/** What an answer holds at each level, by tag: every attribute (includefield=all) or the defaults. */
function answerKeys(level: QidoLevel) {
  const all = [...Object.values(RETURN_KEYS).filter((k) => DEPTH[k.level] <= DEPTH[level]), ...Object.values(SUMMARY_KEYS).filter((k) => k.level === level)];
  const defaults = DEFAULT_KEYS[level].map((k) => RETURN_KEYS[k] ?? SUMMARY_KEYS[k]);
  return { all, defaults, byTag: new Map(all.map((k) => [k.tag, k])) };
}
const ANSWER_KEYS = { study: answerKeys('study'), series: answerKeys('series'), instance: answerKeys('instance') };

export interface IncludeFields {
  all: boolean;
  /** Tags asked for (8 upper-case hex digits); those Contour does not keep are left out of the answer. */
  tags: Set<string>;
}

const TAG = /^[0-9A-Fa-f]{8}$/;
/** A keyword of the DICOM data dictionary, or a tag, as 8 upper-case hex digits; null when it is neither. */
function tagOf(name: string): string | null {
  if (TAG.test(name)) return name.toUpperCase();
  const entry = dcmjs.data.DicomMetaDictionary.nameMap[name];
  return entry ? entry.tag.replace(/[(),]/g, '').toUpperCase() : null;
}

/**
 * Reads `includefield` (PS3.18 QIDO-RS query parameters): "all", or attributes by keyword or tag, repeated or comma-separated. A
 * sequence path (00081115.0020000E) is accepted when every part is an attribute, and answers nothing: the index
 * keeps no sequence. A name that is neither a keyword nor a tag is a 400 naming it.
 */
export function includeFieldsOf(query: Record<string, string | string[] | undefined>): IncludeFields {
  const raw = query.includefield;
  const names = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const fields: IncludeFields = { all: false, tags: new Set() };
  for (const name of names) {
    if (name.toLowerCase() === 'all') {
      fields.all = true;
      continue;
    }
    const path = name.split('.').map(tagOf);
    if (path.some((t) => t === null)) {
      throw new BadRequestException(`QIDO-RS: includefield "${name}" is neither a DICOM keyword nor a tag (8 hex digits, e.g. 00100020): check its spelling, or ask for includefield=all`);
    }
    if (path.length === 1) fields.tags.add(path[0]!);
  }
  return fields;
}

/** One QIDO-RS answer: the level's default attributes plus those asked for that the index keeps, in tag order. */
export function qidoJson(level: QidoLevel, r: Record<string, any>, retrieveUrl: string, include: IncludeFields): Json {
  const keys = ANSWER_KEYS[level];
  const chosen = include.all ? keys.all : [...keys.defaults, ...[...include.tags].map((t) => keys.byTag.get(t)).filter((k) => k !== undefined)];
  const out: Json = { [RETRIEVE_URL]: attr('UR', retrieveUrl) };
  for (const k of chosen) out[k.tag] = attr(k.vr, k.value(r));
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}
