// QIDO-RS over Contour's index: matching rules of PS3.18 10.6 (single value, list of UIDs, wildcards * and ?,
// date ranges), answering DICOM JSON built from the de-identified rows.
import { BadRequestException } from '@nestjs/common';

export type QidoLevel = 'study' | 'series' | 'instance';

/** The attributes Contour can match on, by keyword and tag, with the SQL column they map to. */
const MATCH_KEYS: Record<string, { tag: string; column: string; kind: 'uid' | 'text' | 'date' | 'modality' | 'int' }> = {
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
};
const BY_TAG = Object.fromEntries(Object.entries(MATCH_KEYS).map(([k, v]) => [v.tag, k]));
const IGNORED = new Set(['limit', 'offset', 'includefield', 'fuzzymatching']);

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
        else add((p) => `${spec.column} = ${p}`, value);
        break;
      case 'modality':
        add((p) => `${spec.column} = ANY(${p})`, value.split(/[,\\]/).map((m) => m.trim().toUpperCase()));
        break;
      case 'int':
        if (!/^\d+$/.test(value)) throw new BadRequestException(`QIDO-RS: ${key} must be a whole number, got "${value}"`);
        add((p) => `${spec.column} = ${p}`, Number(value));
        break;
      case 'date': {
        const m = /^(\d{8})?(-)?(\d{8})?$/.exec(value);
        if (!m || (!m[1] && !m[3])) throw new BadRequestException(`QIDO-RS: ${key} must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD, got "${value}"`);
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

export function studyJson(r: Record<string, any>, retrieveUrl: string): Json {
  return {
    '00080020': attr('DA', r.study_date),
    '00080050': attr('SH', null),
    '00080061': attr('CS', r.modalities),
    '00080090': attr('PN', null),
    '00081030': attr('LO', r.description),
    '00081190': attr('UR', retrieveUrl),
    '00100010': attr('PN', r.pseudonym ? { Alphabetic: r.pseudonym } : null),
    '00100020': attr('LO', r.pseudonym),
    '00100040': attr('CS', r.sex),
    '0020000D': attr('UI', r.study_instance_uid),
    '00200010': attr('SH', null),
    '00201206': attr('IS', Number(r.series_count)),
    '00201208': attr('IS', Number(r.instance_count)),
  };
}

export function seriesJson(r: Record<string, any>, retrieveUrl: string): Json {
  return {
    '00080060': attr('CS', r.modality),
    '0008103E': attr('LO', r.description),
    '00081190': attr('UR', retrieveUrl),
    '00180015': attr('CS', r.body_part),
    '0020000D': attr('UI', r.study_instance_uid),
    '0020000E': attr('UI', r.series_instance_uid),
    '00200011': attr('IS', r.series_number),
    '00201209': attr('IS', Number(r.instance_count)),
  };
}

export function instanceJson(r: Record<string, any>, retrieveUrl: string): Json {
  return {
    '00080016': attr('UI', r.sop_class_uid),
    '00080018': attr('UI', r.sop_instance_uid),
    '00080060': attr('CS', r.modality),
    '00081190': attr('UR', retrieveUrl),
    '00083002': attr('UI', r.transfer_syntax_uid),
    '0020000D': attr('UI', r.study_instance_uid),
    '0020000E': attr('UI', r.series_instance_uid),
    '00200013': attr('IS', r.instance_number),
    '00280008': attr('IS', r.number_of_frames),
    '00280010': attr('US', r.rows),
    '00280011': attr('US', r.columns),
  };
}
