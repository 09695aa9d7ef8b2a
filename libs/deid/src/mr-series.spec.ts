// Attribute by attribute on the real MR series (24 Siemens slices): for every profile-table attribute present in
// the files, the outcome written down here from PS3.15 Table E.1-1, for the default options and for all options
// on. The list must name exactly the table attributes the files contain, so a new attribute cannot slip by.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readDicom } from '@contour/dicom';
import { type DeidDataset, type DeidElement, deidentify } from './deidentify';
import { DEFAULT_DEID_OPTIONS, type DeidOptions } from './options';
import { findProfileRow } from './profile-table';
import { remapUid } from './uid-remap';

const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../shared/data');
const SERIES = path.join(DATA, 'dicom/series/mr-t1-vs-seg-001');
const SECRET = 'mr-series-test-secret-0123456789';
const ALL_ON: DeidOptions = { retainLongitudinalTemporal: true, retainPatientCharacteristics: true, retainDeviceIdentity: true, cleanDescriptors: true, keepSafePrivateTags: true };

/**
 * absent: removed; empty: present, no value; dummy:<v>: replaced by that dummy; uid: remapped; same: unchanged;
 * shifted: a date moved by the patient's shift; pseudonym; items-uids: sequence kept, UIDs inside remapped.
 */
type Outcome = 'absent' | 'empty' | `dummy:${string}` | 'uid' | 'same' | 'shifted' | 'pseudonym' | 'items-uids';

// [tag, keyword, Basic Profile code (for the reader), default options, all options on]
const EXPECTED: [string, string, string, Outcome, Outcome][] = [
  ['00080012', 'InstanceCreationDate', 'X/D', 'dummy:19000101', 'shifted'],
  ['00080013', 'InstanceCreationTime', 'X/Z/D', 'dummy:000000', 'same'],
  ['00080018', 'SOPInstanceUID', 'U', 'uid', 'uid'],
  ['00080020', 'StudyDate', 'Z', 'empty', 'shifted'],
  ['00080021', 'SeriesDate', 'X/D', 'dummy:19000101', 'shifted'],
  ['00080022', 'AcquisitionDate', 'X/Z', 'empty', 'shifted'],
  ['00080023', 'ContentDate', 'Z/D', 'dummy:19000101', 'shifted'],
  ['00080030', 'StudyTime', 'Z', 'empty', 'same'],
  ['00080031', 'SeriesTime', 'X/D', 'dummy:000000', 'same'],
  ['00080032', 'AcquisitionTime', 'X/Z', 'empty', 'same'],
  ['00080033', 'ContentTime', 'Z/D', 'dummy:000000', 'same'],
  ['00080050', 'AccessionNumber', 'Z', 'empty', 'empty'],
  ['00080090', 'ReferringPhysicianName', 'Z', 'empty', 'empty'],
  ['00081030', 'StudyDescription', 'X (Clean Descriptors: C)', 'absent', 'same'],
  ['0008103E', 'SeriesDescription', 'X (Clean Descriptors: C)', 'absent', 'same'],
  ['00081080', 'AdmittingDiagnosesDescription', 'X (Clean Descriptors: C)', 'absent', 'same'],
  ['00081110', 'ReferencedStudySequence', 'X/Z', 'empty', 'empty'],
  ['00081140', 'ReferencedImageSequence', 'X/Z/U*', 'items-uids', 'items-uids'],
  ['00081155', 'ReferencedSOPInstanceUID', 'U (inside the sequences)', 'uid', 'uid'],
  ['00100010', 'PatientName', 'Z', 'pseudonym', 'pseudonym'],
  ['00100020', 'PatientID', 'Z/D', 'pseudonym', 'pseudonym'],
  ['00100030', 'PatientBirthDate', 'Z', 'empty', 'empty'],
  ['00100040', 'PatientSex', 'Z (Retain Patient Characteristics: K)', 'empty', 'same'],
  ['00101010', 'PatientAge', 'X (Retain Patient Characteristics: K)', 'absent', 'same'],
  ['00101030', 'PatientWeight', 'X (Retain Patient Characteristics: K)', 'absent', 'same'],
  ['00181000', 'DeviceSerialNumber', 'X/Z/D, empty here (Retain Device Identity: K)', 'empty', 'same'],
  ['00181030', 'ProtocolName', 'X/D (Clean Descriptors: C)', 'dummy:ANONYMIZED', 'same'],
  ['0020000D', 'StudyInstanceUID', 'U', 'uid', 'uid'],
  ['0020000E', 'SeriesInstanceUID', 'U', 'uid', 'uid'],
  ['00200010', 'StudyID', 'Z', 'empty', 'empty'],
  ['00200052', 'FrameOfReferenceUID', 'U', 'uid', 'uid'],
  ['00321060', 'RequestedProcedureDescription', 'X/Z (Clean Descriptors: C)', 'empty', 'same'],
  ['00400244', 'PerformedProcedureStepStartDate', 'X', 'absent', 'shifted'],
  ['00400245', 'PerformedProcedureStepStartTime', 'X', 'absent', 'same'],
  ['00400254', 'PerformedProcedureStepDescription', 'X (Clean Descriptors: C)', 'absent', 'same'],
];

const day = (ymd: string) => Date.UTC(+ymd.slice(0, 4), +ymd.slice(4, 6) - 1, +ymd.slice(6, 8)) / 86_400_000;
const text = (el: DeidElement | undefined) => (el?.Value ?? []).map((v) => (v && typeof v === 'object' && 'Alphabetic' in v ? (v as { Alphabetic: string }).Alphabetic : v));

function rowTagsIn(ds: DeidDataset, out: Set<string>): void {
  for (const [tag, el] of Object.entries(ds)) {
    const group = parseInt(tag.slice(0, 4), 16);
    if (group % 2 === 0 && findProfileRow(tag)) out.add(tag.toUpperCase());
    if (el.vr === 'SQ') for (const item of (el.Value ?? []) as DeidDataset[]) rowTagsIn(item, out);
  }
}

const maybe = existsSync(SERIES) ? describe : describe.skip;

maybe('MR series, attribute by attribute', () => {
  const files = existsSync(SERIES) ? readdirSync(SERIES).filter((f) => f.endsWith('.dcm')).sort() : [];

  it('names exactly the table attributes the series contains', () => {
    const present = new Set<string>();
    for (const f of files) rowTagsIn(readDicom(readFileSync(path.join(SERIES, f))).dict.dict, present);
    expect([...present].sort()).toEqual(EXPECTED.map(([t]) => t).sort());
  });

  describe.each<[string, DeidOptions, 3 | 4]>([
    ['default options', DEFAULT_DEID_OPTIONS, 3],
    ['all options on', ALL_ON, 4],
  ])('%s', (_label, options, column) => {
    it.each(files)('%s', (file) => {
      const original = readDicom(readFileSync(path.join(SERIES, file))).dict;
      const result = deidentify(original, options, { secret: SECRET });
      const before = original.dict;
      const after = result.dict.dict;
      for (const entry of EXPECTED) {
        const [tag, keyword] = entry;
        const outcome = entry[column];
        const o = before[tag];
        const a = after[tag];
        if (tag === '00081155') continue; // checked through its sequence below
        const where = `${file} ${keyword}`;
        if (!o) continue; // not in this slice
        switch (outcome) {
          case 'absent':
            expect({ where, a }).toEqual({ where, a: undefined });
            break;
          case 'empty':
            expect({ where, v: a?.Value }).toEqual({ where, v: [] });
            break;
          case 'same':
            expect({ where, v: text(a) }).toEqual({ where, v: text(o) });
            break;
          case 'uid':
            expect({ where, v: a?.Value }).toEqual({ where, v: [remapUid(o.Value![0] as string, SECRET)] });
            break;
          case 'pseudonym':
            expect({ where, v: text(a) }).toEqual({ where, v: [result.pseudonym] });
            break;
          case 'shifted':
            expect(result.dateShiftDays).not.toBeNull();
            expect({ where, d: day(a!.Value![0] as string) - day(o.Value![0] as string) }).toEqual({ where, d: result.dateShiftDays });
            break;
          case 'items-uids': {
            const oi = o.Value as DeidDataset[];
            const ai = a!.Value as DeidDataset[];
            expect(ai).toHaveLength(oi.length);
            ai.forEach((item, i) => {
              expect(item['00081150'].Value).toEqual(oi[i]['00081150'].Value);
              expect(item['00081155'].Value).toEqual([remapUid(oi[i]['00081155'].Value![0] as string, SECRET)]);
            });
            break;
          }
          default:
            expect({ where, v: text(a) }).toEqual({ where, v: [outcome.slice('dummy:'.length)] });
        }
      }
      // Outside the table: kept as is (manufacturer, acquisition parameters, geometry, pixel data)...
      for (const tag of ['00080070', '00081090', '00181020', '00180080', '00200032', '00200037', '00280030', '7FE00010']) expect(after[tag]).toBe(before[tag]);
      // ...and no private element is left (none of this series' private elements is on the safe list).
      expect(Object.keys(after).filter((t) => parseInt(t.slice(0, 4), 16) % 2 === 1)).toEqual([]);
      expect(after['00280303'].Value).toEqual([options.retainLongitudinalTemporal ? 'MODIFIED' : 'REMOVED']);
    });
  });
});
