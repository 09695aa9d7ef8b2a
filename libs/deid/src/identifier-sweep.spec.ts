// Identifying text found by an independent audit in what annotators received, each case in a file written by pydicom
// (an independent writer) and read back by Contour's reader:
// - a name in a script other than Latin (Chinese, Japanese, Greek, Cyrillic) kept in the study and series
//   descriptions under Clean Descriptors: only components with two ASCII letters counted as names;
// - narrative about the patient ("lives with wife Marge Bouvier at Springfield") kept by the clean action;
// - the patient's name or ID in text the profile table does not list (Text Value, Overlay Description, a Code
//   Meaning, top level or nested), kept as it was;
// - a safe-listed private slot holding an MRN, kept because only its VR and length were checked.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readDicom } from '@contour/dicom';
import { deidentify } from './deidentify';
import { DEFAULT_DEID_OPTIONS, DeidOptions } from './options';
import { looksLikeSafeValue, SAFE_PRIVATE_ELEMENTS } from './private-tags';

const dir = mkdtempSync(path.join(tmpdir(), 'identifier-sweep-'));
const SECRET = 'identifier-sweep-test-secret-0123456789';
/** The options a new project gets (libs/workflow project settings), plus safe private elements. */
const PROJECT_OPTIONS: DeidOptions = { ...DEFAULT_DEID_OPTIONS, retainPatientCharacteristics: true, cleanDescriptors: true, keepSafePrivateTags: true };

// pydicom writes a file from a JSON description: character set, patient name and id, descriptions, and extras
// (top-level keyword -> value, sequences of items, private elements, overlay group 6002 without data).
const WRITE = String.raw`
import sys, json, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
spec, out = json.loads(sys.argv[1]), sys.argv[2]
def fill(ds, values):
    for k, v in values.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            items = []
            for it in v:
                d = Dataset(); fill(d, it); items.append(d)
            setattr(ds, k, Sequence(items))
        else:
            setattr(ds, k, v)
meta = FileMetaDataset(); meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'; meta.MediaStorageSOPInstanceUID = generate_uid(); meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset(); ds.file_meta = meta; ds.preamble = b'\0' * 128
ds.SpecificCharacterSet = spec['charset']; ds.SOPClassUID = meta.MediaStorageSOPClassUID; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.Modality = 'OT'
fill(ds, spec['values'])
for p in spec.get('private', []):
    block = ds.private_block(p['group'], p['creator'], create=True)
    block.add_new(p['offset'], p['vr'], p['value'])
if spec.get('overlayDescription'):
    ds.add_new(0x60020022, 'LO', spec['overlayDescription'])
ds.is_little_endian = True; ds.is_implicit_VR = False
ds.save_as(out, write_like_original=False)
`;

let fileCount = 0;
function deidentified(spec: Record<string, unknown>, options: DeidOptions = PROJECT_OPTIONS) {
  const file = path.join(dir, `f${fileCount++}.dcm`);
  execFileSync('/usr/bin/python3', ['-c', WRITE, JSON.stringify(spec), file]);
  const parsed = readDicom(readFileSync(file));
  const out = deidentify(parsed.dict as never, options, { secret: SECRET });
  return { ds: out.dict.dict as Record<string, { vr: string; Value?: unknown[] }>, report: out.report, text: JSON.stringify(out.dict.dict) };
}

describe('names in any script are found in descriptors (Clean Descriptors)', () => {
  it.each([
    ['ISO_IR 192', '山田^太郎', 'CT 山田 太郎 follow-up', '山田'],
    ['ISO_IR 192', '山田^太郎', 'CT山田太郎経過観察', '山田'],
    ['GB18030', '王^小明', 'CT 王 小明 复查', '小明'],
    ['ISO_IR 126', 'Παπαδόπουλος^Γιώργος', 'CT Παπαδόπουλος control', 'Παπαδόπουλος'],
    ['ISO_IR 144', 'Иванов^Иван', 'КТ ИВАНОВ контроль', 'ИВАНОВ'],
    ['ISO_IR 192', 'Ünal^Ayşe', 'MR ünal beyin', 'ünal'],
    [['', 'ISO 2022 IR 87'], 'Yamada^Tarou=山田^太郎', 'CT 山田 太郎 経過', '山田'],
  ] as [string | string[], string, string, string][])('%j %s: "%s" is replaced', (charset, name, description, part) => {
    const { ds, text } = deidentified({ charset, values: { PatientName: name, PatientID: 'PID-SCRIPT-1', StudyDescription: description, SeriesDescription: description, ProtocolName: description } });
    for (const tag of ['00081030', '0008103E', '00181030']) expect(ds[tag].Value).toEqual(['ANONYMIZED']);
    expect(text).not.toContain(part);
  });

  it('a description without the name is kept', () => {
    const { ds } = deidentified({ charset: 'ISO_IR 192', values: { PatientName: '山田^太郎', PatientID: 'PID-SCRIPT-2', StudyDescription: '頭部 MRI 造影' } });
    expect(ds['00081030'].Value).toEqual(['頭部 MRI 造影']);
  });
});

describe('narrative about the patient is kept only when terse', () => {
  it.each([
    ['AdditionalPatientHistory', 'Lives with wife Marge Bouvier at Springfield', false],
    ['AdditionalPatientHistory', 'seen by dr house', false],
    ['AdditionalPatientHistory', 'SEEN BY LISA', false],
    ['AdditionalPatientHistory', 'prior mi, stent in 2 vessels', true],
    ['PatientState', 'stable, daughter Lisa visiting', false],
    ['PatientState', 'stable', true],
    ['Allergies', 'penicillin', true],
    ['Allergies', 'Penicillin (per Marge)', false],
  ])('%s "%s" kept: %s', (keyword, value, kept) => {
    const { ds } = deidentified({ charset: 'ISO_IR 100', values: { PatientName: 'Smithers^Waylon', PatientID: 'MRN4455667', [keyword]: value } });
    const tag = { AdditionalPatientHistory: '001021B0', PatientState: '00380500', Allergies: '00102110' }[keyword]!;
    expect(ds[tag].Value).toEqual(kept ? [value] : ['ANONYMIZED']);
  });

  it('a study description in title case is still a descriptor, not narrative', () => {
    const { ds } = deidentified({ charset: 'ISO_IR 100', values: { PatientName: 'Smithers^Waylon', PatientID: 'MRN4455667', StudyDescription: 'CT Head Without Contrast' } });
    expect(ds['00081030'].Value).toEqual(['CT Head Without Contrast']);
  });
});

describe('text the profile table does not list is swept for the dataset\'s own identifiers', () => {
  const { ds, text, report } = deidentified({
    charset: 'ISO_IR 100',
    values: {
      PatientName: 'Smithers^Waylon',
      PatientID: 'MRN4455667',
      TextValue: 'seen with Waylon Smithers',
      AnatomicRegionSequence: [
        {
          CodeValue: '12738006',
          CodingSchemeDesignator: 'SCT',
          CodeMeaning: 'Brain of Smithers',
          AnatomicRegionModifierSequence: [{ CodeValue: '24028007', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Right', TextValue: 'note MRN4455667' }],
        },
      ],
      ImageLaterality: 'R',
    },
    overlayDescription: 'drawn for Waylon',
    private: [{ group: 0x0019, creator: 'SIEMENS MR HEADER', offset: 0x0d, vr: 'CS', value: 'MRN4455667' }],
  });

  it('replaces each value holding the name or the ID, at any depth', () => {
    expect(ds['0040A160'].Value).toEqual(['ANONYMIZED']);
    expect(ds['60020022'].Value).toEqual(['ANONYMIZED']);
    const region = (ds['00082218'].Value as Record<string, { Value?: unknown[] }>[])[0];
    expect(region['00080104'].Value).toEqual(['ANONYMIZED']);
    const modifier = (region['00082220'].Value as Record<string, { Value?: unknown[] }>[])[0];
    expect(modifier['0040A160'].Value).toEqual(['ANONYMIZED']);
    expect(text).not.toMatch(/Waylon|Smithers|4455667/);
  });

  it('keeps what holds none, and the codes', () => {
    const region = (ds['00082218'].Value as Record<string, { Value?: unknown[] }>[])[0];
    expect(region['00080100'].Value).toEqual(['12738006']);
    const modifier = (region['00082220'].Value as Record<string, { Value?: unknown[] }>[])[0];
    expect(modifier['00080104'].Value).toEqual(['Right']);
    expect(ds['00200062'].Value).toEqual(['R']);
  });

  it('removes a safe-listed private slot whose value is not of its kind, and reports each change', () => {
    expect(Object.keys(ds).filter((t) => t.startsWith('0019'))).toEqual([]);
    expect(report.entries.find((e) => e.path === '0040,A160')).toMatchObject({ action: 'dummy' });
    expect(report.entries.find((e) => e.tag === '0019,100D')).toMatchObject({ action: 'private-removed' });
  });

  it('keeps a safe private slot with a defined term', () => {
    const kept = deidentified({
      charset: 'ISO_IR 100',
      values: { PatientName: 'Smithers^Waylon', PatientID: 'MRN4455667' },
      private: [{ group: 0x0019, creator: 'SIEMENS MR HEADER', offset: 0x0d, vr: 'CS', value: 'DIRECTIONAL' }],
    });
    expect(kept.ds['0019100D'].Value).toEqual(['DIRECTIONAL']);
  });
});

describe('safe private values are of the kind the slot holds', () => {
  const entry = (name: string) => SAFE_PRIVATE_ELEMENTS.find((e) => e.name === name)!;
  const ascii = (s: string) => new TextEncoder().encode(s).buffer;
  it.each<[string, { vr: string; Value?: unknown[] }, boolean]>([
    ['DiffusionDirectionality', { vr: 'CS', Value: ['DIRECTIONAL'] }, true],
    ['DiffusionDirectionality', { vr: 'CS', Value: ['ISOTROPIC '] }, true],
    ['DiffusionDirectionality', { vr: 'CS', Value: ['MRN4455667'] }, false],
    ['DiffusionDirectionality', { vr: 'UN', Value: [ascii('NONE')] }, true],
    ['DiffusionDirectionality', { vr: 'UN', Value: [ascii('SMITHERS')] }, false],
    ['B_value', { vr: 'IS', Value: ['1000'] }, true],
    ['B_value', { vr: 'IS', Value: ['Waylon'] }, false],
    ['B_value', { vr: 'UN', Value: [ascii('1000')] }, true],
    ['B_value', { vr: 'UN', Value: [ascii('b1000 Smithers')] }, false],
    ['UserData20', { vr: 'DS', Value: ['-0.7071'] }, true],
    ['UserData20', { vr: 'DS', Value: ['1e-3'] }, true],
    ['UserData20', { vr: 'DS', Value: ['MRN'] }, false],
    ['NumberOfImagesInMosaic', { vr: 'US', Value: [36] }, true],
    ['NumberOfImagesInMosaic', { vr: 'UN', Value: [new Uint8Array([36, 0]).buffer] }, true],
    ['NumberOfImagesInMosaic', { vr: 'UN', Value: [new Uint8Array([36, 0, 1]).buffer] }, false],
    ['DiffusionGradientDirection', { vr: 'FD', Value: [0.5, 0.5, 0.7071] }, true],
    ['DiffusionGradientDirection', { vr: 'LO', Value: ['Waylon'] }, false],
  ])('%s %j -> %s', (name, element, safe) => {
    expect(looksLikeSafeValue(entry(name), element)).toBe(safe);
  });
});
