// Unit tests of de-identification on small hand-built tag-keyed dicts: every action code, every option flipping
// an outcome, sequences, private elements, UIDs, the required additions and the report.
import { DEFAULT_DEID_OPTIONS, type DeidOptions } from './options';
import { type DeidDataset, type DeidElement, deidentify, type DicomDictLike } from './deidentify';
import { mergeReports } from './report';
import { isValidUid, remapUid } from './uid-remap';
import { dateShiftDays, patientPseudonym } from './pseudonym';

const SECRET = 'unit-test-secret-0123456789';
const ALL_ON: DeidOptions = { retainLongitudinalTemporal: true, retainPatientCharacteristics: true, retainDeviceIdentity: true, cleanDescriptors: true, keepSafePrivateTags: true };
const ALL_OFF: DeidOptions = { retainLongitudinalTemporal: false, retainPatientCharacteristics: false, retainDeviceIdentity: false, cleanDescriptors: false, keepSafePrivateTags: false };

const el = (vr: string, ...Value: unknown[]): DeidElement => ({ vr, Value });
const pn = (name: string) => el('PN', { Alphabetic: name });

function base(extra: DeidDataset = {}): DeidDataset {
  return {
    '00080016': el('UI', '1.2.840.10008.5.1.4.1.1.2'),
    '00080018': el('UI', '1.2.826.0.1.3680043.9.1.1.1'),
    '00080060': el('CS', 'CT'),
    '00100010': pn('Smith^John'),
    '00100020': el('LO', 'MRN-778899'),
    '0020000D': el('UI', '1.2.826.0.1.3680043.9.1.2'),
    '0020000E': el('UI', '1.2.826.0.1.3680043.9.1.3'),
    ...extra,
  };
}

function dict(ds: DeidDataset): DicomDictLike {
  return {
    meta: {
      '00020002': el('UI', '1.2.840.10008.5.1.4.1.1.2'),
      '00020003': el('UI', '1.2.826.0.1.3680043.9.1.1.1'),
      '00020010': el('UI', '1.2.840.10008.1.2.1'),
      '00020016': el('AE', 'HOSPITAL_PACS'),
    },
    dict: ds,
  };
}

function run(extra: DeidDataset, options: DeidOptions = DEFAULT_DEID_OPTIONS) {
  return deidentify(dict(base(extra)), options, { secret: SECRET });
}

describe('basic profile actions', () => {
  it.each<[string, string, string, DeidElement, 'absent' | 'empty' | 'dummy' | 'uid' | 'same', unknown[] | undefined]>([
    ['X removes', '00081050', 'PerformingPhysicianName', pn('House^Gregory'), 'absent', undefined],
    ['X removes a sequence whole', '00400275', 'RequestAttributesSequence', el('SQ', { '00401001': el('SH', 'RP123') }), 'absent', undefined],
    ['Z empties', '00080050', 'AccessionNumber', el('SH', 'ACC0001'), 'empty', []],
    ['Z empties a sequence', '00400610', 'SpecimenPreparationSequence', el('SQ', { '00400602': el('UT', 'x') }), 'empty', []],
    ['D replaces text with a dummy', '00400512', 'ContainerIdentifier', el('LO', 'BOX-7'), 'dummy', ['ANONYMIZED']],
    ['D replaces a PN with a dummy', '0040A075', 'VerifyingObserverName', pn('Doe^Jane'), 'dummy', [{ Alphabetic: 'ANONYMIZED' }]],
    ['D replaces a date with the dummy date', '00189074', 'FrameAcquisitionDateTime', el('DT', '20200102030405'), 'dummy', ['19000101000000']],
    ['D on a UI remaps it', '006A0003', 'AnnotationGroupUID', el('UI', '1.2.3.4.5'), 'uid', undefined],
    ['U remaps a UID', '00200052', 'FrameOfReferenceUID', el('UI', '1.2.826.0.1.3680043.9.1.4'), 'uid', undefined],
    ['Z/D with a value -> D', '00080023', 'ContentDate', el('DA', '20200101'), 'dummy', ['19000101']],
    ['Z/D when empty -> Z', '00080023', 'ContentDate', el('DA', ''), 'empty', []],
    ['X/Z -> Z', '00080022', 'AcquisitionDate', el('DA', '20200101'), 'empty', []],
    ['X/D with a value -> D', '00181030', 'ProtocolName', el('LO', 'Brain Smith'), 'dummy', ['ANONYMIZED']],
    ['X/D when empty -> X', '00181030', 'ProtocolName', el('LO', ''), 'absent', undefined],
    ['X/D on a sequence -> X', '00081072', 'OperatorIdentificationSequence', el('SQ', { '00401101': el('SQ') }), 'absent', undefined],
    ['X/Z/D with a value -> D', '00080080', 'InstitutionName', el('LO', 'General Hospital'), 'dummy', ['ANONYMIZED']],
    ['X/Z/D when empty -> Z', '00080080', 'InstitutionName', el('LO'), 'empty', []],
    ['X/Z/D on a sequence -> Z', '00081111', 'ReferencedPerformedProcedureStepSequence', el('SQ', { '00081155': el('UI', '1.2.3.9') }), 'empty', []],
    ['X/Z/D on a TM with a value -> D', '00080013', 'InstanceCreationTime', el('TM', '101010'), 'dummy', ['000000']],
    ['not in the table: kept', '00180050', 'SliceThickness', el('DS', 1.5), 'same', [1.5]],
    ['not in the table: SOP Class UID kept', '00080016', 'SOPClassUID', el('UI', '1.2.840.10008.5.1.4.1.1.2'), 'same', ['1.2.840.10008.5.1.4.1.1.2']],
  ])('%s (%s %s)', (_label, tag, _keyword, element, outcome, expected) => {
    const { dict: out, report } = run({ [tag]: element });
    const got = out.dict[tag];
    if (outcome === 'absent') expect(got).toBeUndefined();
    else expect(got).toBeDefined();
    if (expected) expect(got?.Value).toEqual(expected);
    if (outcome === 'uid') {
      const v = got!.Value![0] as string;
      expect(v).toBe(remapUid(element.Value![0] as string, SECRET));
      expect(v.startsWith('2.25.')).toBe(true);
    }
    if (outcome !== 'same') expect(report.entries.some((e) => e.path === `${tag.slice(0, 4)},${tag.slice(4)}`)).toBe(true);
  });

  it('X/Z/U* keeps the sequence, remaps instance UIDs inside and keeps class UIDs', () => {
    const { dict: out, report } = run({
      '00081140': el('SQ', { '00081150': el('UI', '1.2.840.10008.5.1.4.1.1.2'), '00081155': el('UI', '1.2.826.0.1.3680043.9.1.9') }, { '00081150': el('UI', '1.2.840.10008.5.1.4.1.1.2'), '00081155': el('UI', '1.2.826.0.1.3680043.9.1.10') }),
    });
    const items = out.dict['00081140'].Value as DeidDataset[];
    expect(items).toHaveLength(2);
    expect(items[0]['00081150'].Value).toEqual(['1.2.840.10008.5.1.4.1.1.2']);
    expect(items[0]['00081155'].Value).toEqual([remapUid('1.2.826.0.1.3680043.9.1.9', SECRET)]);
    expect(items[1]['00081155'].Value).toEqual([remapUid('1.2.826.0.1.3680043.9.1.10', SECRET)]);
    expect(report.entries.map((e) => e.path)).toEqual(expect.arrayContaining(['0008,1140[0].0008,1155', '0008,1140[1].0008,1155']));
  });

  it('applies the table inside sequences it does not list, at any depth, with item paths', () => {
    const { dict: out, report } = run({
      '00081115': el('SQ', {
        '0020000E': el('UI', '1.2.826.0.1.3680043.9.1.3'),
        '00081199': el('SQ', { '00081155': el('UI', '1.2.826.0.1.3680043.9.1.1.2'), '00081050': pn('Nested^Doctor') }),
      }),
    });
    const item = (out.dict['00081115'].Value as DeidDataset[])[0];
    expect(item['0020000E'].Value).toEqual([remapUid('1.2.826.0.1.3680043.9.1.3', SECRET)]);
    expect(item['0020000E'].Value).toEqual(out.dict['0020000E'].Value); // same study series UID maps the same way
    const inner = (item['00081199'].Value as DeidDataset[])[0];
    expect(inner['00081155'].Value).toEqual([remapUid('1.2.826.0.1.3680043.9.1.1.2', SECRET)]);
    expect(inner['00081050']).toBeUndefined();
    expect(report.entries).toEqual(expect.arrayContaining([expect.objectContaining({ path: '0008,1115[0].0008,1199[0].0008,1050', action: 'removed', keyword: 'PerformingPhysicianName' })]));
  });

  it('D on a sequence keeps the items and replaces the free text inside', () => {
    const { dict: out } = run({
      '0040A730': el('SQ', {
        '0040A040': el('CS', 'TEXT'),
        '0040A043': el('SQ', { '00080100': el('SH', '121071'), '00080102': el('SH', 'DCM'), '00080104': el('LO', 'Finding') }),
        '0040A160': el('UT', 'John Smith, seen 2021-02-03'),
        '0040A123': pn('Smith^John'),
      }),
    });
    const item = (out.dict['0040A730'].Value as DeidDataset[])[0];
    expect(item['0040A160'].Value).toEqual(['ANONYMIZED']);
    expect(item['0040A123'].Value).toEqual([{ Alphabetic: 'ANONYMIZED' }]);
    expect(item['0040A040'].Value).toEqual(['TEXT']);
    expect((item['0040A043'].Value as DeidDataset[])[0]['00080104'].Value).toEqual(['Finding']);
  });

  it('removes curves, overlay data with the rest of its overlay group, and group lengths', () => {
    const { dict: out } = run({
      '00080000': el('UL', 1234),
      '50000010': el('US', 2),
      '50003000': el('OW', new ArrayBuffer(4)),
      '60000010': el('US', 512),
      '60000011': el('US', 512),
      '60003000': el('OW', new ArrayBuffer(8)),
      '60024000': el('LT', 'drawn by Dr Who'),
    });
    for (const t of ['00080000', '50000010', '50003000', '60000010', '60000011', '60003000', '60024000']) expect(out.dict[t]).toBeUndefined();
  });
});

describe('options flip outcomes', () => {
  it.each<[string, keyof DeidOptions, 'absent' | 'empty' | 'dummy' | 'uid', string, DeidElement, unknown[] | 'shifted']>([
    ['PatientAge', 'retainPatientCharacteristics', 'absent', '00101010', el('AS', '045Y'), ['045Y']],
    ['PatientSex', 'retainPatientCharacteristics', 'empty', '00100040', el('CS', 'F'), ['F']],
    ['PatientSize', 'retainPatientCharacteristics', 'absent', '00101020', el('DS', 1.72), [1.72]],
    ['PatientWeight', 'retainPatientCharacteristics', 'absent', '00101030', el('DS', 70), [70]],
    ['EthnicGroup', 'retainPatientCharacteristics', 'absent', '00102160', el('SH', 'X'), ['X']],
    ['SmokingStatus', 'retainPatientCharacteristics', 'absent', '001021A0', el('CS', 'NO'), ['NO']],
    ['PregnancyStatus', 'retainPatientCharacteristics', 'absent', '001021C0', el('US', 4), [4]],
    ['PatientSexNeutered', 'retainPatientCharacteristics', 'empty', '00102203', el('CS', 'ALTERED'), ['ALTERED']],
    ['Allergies (C: clean)', 'retainPatientCharacteristics', 'absent', '00102110', el('LO', 'penicillin'), ['penicillin']],
    ['DeviceSerialNumber', 'retainDeviceIdentity', 'dummy', '00181000', el('LO', 'SN-5521'), ['SN-5521']],
    ['StationName', 'retainDeviceIdentity', 'dummy', '00081010', el('SH', 'CTAWP7'), ['CTAWP7']],
    ['DeviceUID', 'retainDeviceIdentity', 'uid', '00181002', el('UI', '1.2.826.0.1.3680043.9.7'), ['1.2.826.0.1.3680043.9.7']],
    ['PlateID', 'retainDeviceIdentity', 'absent', '00181004', el('LO', 'P1'), ['P1']],
    ['StudyDescription', 'cleanDescriptors', 'absent', '00081030', el('LO', 'CT ABDOMEN'), ['CT ABDOMEN']],
    ['SeriesDescription', 'cleanDescriptors', 'absent', '0008103E', el('LO', 't1_mpr_tra'), ['t1_mpr_tra']],
    ['ProtocolName', 'cleanDescriptors', 'dummy', '00181030', el('LO', 'Brain 3D'), ['Brain 3D']],
    ['ImageComments', 'cleanDescriptors', 'absent', '00204000', el('LT', 'motion artefact'), ['motion artefact']],
    ['StudyDate', 'retainLongitudinalTemporal', 'empty', '00080020', el('DA', '20240301'), 'shifted'],
    ['StudyTime (TM kept)', 'retainLongitudinalTemporal', 'empty', '00080030', el('TM', '101500'), ['101500']],
    ['TimezoneOffsetFromUTC', 'retainLongitudinalTemporal', 'absent', '00080201', el('SH', '+0100'), ['+0100']],
  ])('%s: %s off -> %s, on -> kept', (_kw, option, off, tag, element, on) => {
    const offOut = run({ [tag]: element }, ALL_OFF).dict.dict[tag];
    if (off === 'absent') expect(offOut).toBeUndefined();
    if (off === 'empty') expect(offOut.Value).toEqual([]);
    if (off === 'dummy') expect(offOut.Value).not.toEqual(element.Value);
    if (off === 'uid') expect(offOut.Value).toEqual([remapUid(element.Value![0] as string, SECRET)]);
    const result = run({ [tag]: element }, { ...ALL_OFF, [option]: true });
    const onOut = result.dict.dict[tag];
    if (on === 'shifted') {
      // StudyDate under Retain Longitudinal: shifted by the patient's offset, not kept as is.
      expect(onOut.Value).not.toEqual(element.Value);
      expect(onOut.Value![0]).toMatch(/^\d{8}$/);
    } else expect(onOut.Value).toEqual(on);
  });

  it('shifts DA and DT by the patient offset, keeps the DT time and offset, and reports the shift', () => {
    const r = run({ '00080020': el('DA', '20240301'), '0008002A': el('DT', '20240301123456.789+0100'), '00080021': el('DA', '20240229', '20240301') }, { ...ALL_OFF, retainLongitudinalTemporal: true });
    const days = r.dateShiftDays!;
    expect(days).toBe(dateShiftDays(SECRET, r.pseudonym));
    const expected = (ymd: string) => {
      const t = new Date(Date.UTC(+ymd.slice(0, 4), +ymd.slice(4, 6) - 1, +ymd.slice(6, 8)));
      t.setUTCDate(t.getUTCDate() + days);
      return t.toISOString().slice(0, 10).replace(/-/g, '');
    };
    expect(r.dict.dict['00080020'].Value).toEqual([expected('20240301')]);
    expect(r.dict.dict['0008002A'].Value).toEqual([`${expected('20240301')}123456.789+0100`]);
    expect(r.dict.dict['00080021'].Value).toEqual([expected('20240229'), expected('20240301')]);
    expect(r.dict.dict['00280303'].Value).toEqual(['MODIFIED']);
    expect(r.report.entries).toEqual(expect.arrayContaining([expect.objectContaining({ path: '0008,0020', action: 'shifted' })]));
  });

  it('falls back to the basic profile for a date it cannot shift', () => {
    const r = run({ '0008002A': el('DT', '2024'), '00080020': el('DA', '20240230') }, { ...ALL_OFF, retainLongitudinalTemporal: true });
    expect(r.dict.dict['0008002A'].Value).toEqual(['19000101000000']);
    expect(r.dict.dict['00080020'].Value).toEqual([]);
  });

  it('keeps patient age but still empties the birth date under Retain Patient Characteristics', () => {
    const r = run({ '00101010': el('AS', '045Y'), '00100030': el('DA', '19790102') }, { ...ALL_OFF, retainPatientCharacteristics: true });
    expect(r.dict.dict['00101010'].Value).toEqual(['045Y']);
    expect(r.dict.dict['00100030'].Value).toEqual([]);
    expect(r.originals.PatientBirthDate).toBe('19790102');
  });

  it.each([
    ['Smith follow-up', 'ANONYMIZED'],
    ['CT 2019-03-04', 'ANONYMIZED'],
    ['ref 1234567', 'ANONYMIZED'],
    ['MRN-778899 brain', 'ANONYMIZED'],
    ['CT ABDOMEN W/O CONTRAST', 'CT ABDOMEN W/O CONTRAST'],
  ])('Clean Descriptors on %j gives %j', (value, expected) => {
    const r = run({ '00081030': el('LO', value) }, { ...ALL_OFF, cleanDescriptors: true });
    expect(r.dict.dict['00081030'].Value).toEqual([expected]);
    expect(r.report.entries.find((e) => e.path === '0008,1030')?.action).toBe('cleaned');
  });

  it('Clean Descriptors on a C sequence cleans the text inside and replaces names', () => {
    const r = run({ '00321067': el('SQ', { '00080100': el('SH', '25064002'), '00080102': el('SH', 'SCT'), '00080104': el('LO', 'Headache') }, { '00080104': el('LO', 'seen by Dr Watson'), '0040A123': pn('Watson^J') }) }, { ...ALL_OFF, cleanDescriptors: true });
    const items = r.dict.dict['00321067'].Value as DeidDataset[];
    expect(items[0]['00080100'].Value).toEqual(['25064002']); // a SNOMED code is not an ID
    expect(items[0]['00080104'].Value).toEqual(['Headache']);
    expect(items[1]['00080104'].Value).toEqual(['ANONYMIZED']);
    expect(items[1]['0040A123'].Value).toEqual([{ Alphabetic: 'ANONYMIZED' }]);
  });
});

describe('private elements', () => {
  const creatorAt = (block: string, creator: string): DeidDataset => ({ [`001900${block}`]: el('LO', creator) });

  it.each<[string, DeidDataset, Partial<DeidOptions>, string[], string[]]>([
    ['keeps the Siemens mosaic count and its creator', { ...creatorAt('10', 'SIEMENS MR HEADER'), '0019100A': el('US', 6), '0019100B': el('DS', 609927.5) }, {}, ['00190010', '0019100A'], ['0019100B']],
    ['matches by creator + offset whatever the block', { ...creatorAt('11', 'SIEMENS MR HEADER'), '0019110A': el('US', 6) }, {}, ['00190011', '0019110A'], []],
    ['same element under another creator is removed', { ...creatorAt('10', 'ACME PRIVATE'), '0019100A': el('US', 6) }, {}, [], ['00190010', '0019100A']],
    ['removes the creator of a block with nothing kept', { ...creatorAt('10', 'SIEMENS MR HEADER'), '0019100B': el('DS', 1) }, {}, [], ['00190010', '0019100B']],
    ['drops a safe slot holding an unexpected VR', { ...creatorAt('10', 'SIEMENS MR HEADER'), '0019100A': el('LT', 'Smith^John') }, {}, [], ['00190010', '0019100A']],
    ['keeps nothing private with keepSafePrivateTags off', { ...creatorAt('10', 'SIEMENS MR HEADER'), '0019100A': el('US', 6) }, { keepSafePrivateTags: false }, [], ['00190010', '0019100A']],
    ['removes an implicit-VR CSA header', { '00290010': el('LO', 'SIEMENS CSA HEADER'), '00291010': el('UN', new ArrayBuffer(4000)) }, {}, [], ['00290010', '00291010']],
    ['keeps Philips scale slope', { '20050010': el('LO', 'Philips MR Imaging DD 001'), '2005100E': el('FL', 0.0123), '20051020': el('LO', 'x') }, {}, ['20050010', '2005100E'], ['20051020']],
  ])('%s', (_label, ds, opts, kept, removed) => {
    const r = run(ds, { ...DEFAULT_DEID_OPTIONS, ...opts });
    for (const t of kept) expect(r.dict.dict[t]).toBe(ds[t]);
    for (const t of removed) expect(r.dict.dict[t]).toBeUndefined();
    for (const t of removed) expect(r.report.entries.find((e) => e.tag === `${t.slice(0, 4)},${t.slice(4)}`)?.action).toBe('private-removed');
  });

  it('removes private elements inside sequences too', () => {
    const r = run({ '00081115': el('SQ', { '00090010': el('LO', 'GEMS_IDEN_01'), '00091001': el('LO', 'secret') }) });
    expect(Object.keys((r.dict.dict['00081115'].Value as DeidDataset[])[0])).toEqual([]);
  });
});

describe('UIDs, pseudonym and date shift', () => {
  it('never remaps well-known UIDs', () => {
    const r = run({ '00081155': el('UI', '1.2.840.10008.1.20'), '00081150': el('UI', '1.2.840.10008.3.1.2.3.1') });
    expect(r.dict.dict['00081155'].Value).toEqual(['1.2.840.10008.1.20']);
    expect(r.dict.dict['00080016'].Value).toEqual(['1.2.840.10008.5.1.4.1.1.2']);
    expect(r.dict.meta['00020010'].Value).toEqual(['1.2.840.10008.1.2.1']);
    expect(r.dict.meta['00020002'].Value).toEqual(['1.2.840.10008.5.1.4.1.1.2']);
  });

  it.each([
    ['Table Frame of Reference UID', '00209313'],
    ['SOP Instance UID of Concatenation Source', '00200242'],
    ['Multi-frame Source SOP Instance UID', '00081167'],
  ])('remaps a UID the table does not list (%s): it may name an original object (it was kept)', (_name, tag) => {
    const original = '1.2.826.0.1.3680043.9.7.7';
    const r = run({ [tag]: el('UI', original) });
    expect(r.dict.dict[tag].Value).toEqual([remapUid(original, SECRET)]);
    expect(r.report.entries).toContainEqual(expect.objectContaining({ action: 'replaced-uid', reason: expect.stringMatching(/does not list/) }));
  });

  it('keeps unlisted UIDs that name a class, scheme or software, whatever their root', () => {
    const vendor = '1.3.12.2.1107.5.9.1';
    const r = run({ '00081150': el('UI', vendor), '0008010C': el('UI', '2.16.840.1.113883.6.96'), '00089123': el('UI', '1.3.6.1.4.1.9590.100.1.3.100.9.4') });
    expect(r.dict.dict['00081150'].Value).toEqual([vendor]);
    expect(r.dict.dict['0008010C'].Value).toEqual(['2.16.840.1.113883.6.96']);
    expect(r.dict.dict['00089123'].Value).toEqual(['1.3.6.1.4.1.9590.100.1.3.100.9.4']);
  });

  it('remaps deterministically, differently per secret, to valid UIDs, and keeps File Meta consistent', () => {
    const uid = '1.2.826.0.1.3680043.9.1.2';
    expect(remapUid(uid, SECRET)).toBe(remapUid(uid, SECRET));
    expect(remapUid(uid, SECRET)).not.toBe(remapUid(uid, 'another-secret-0123456789'));
    expect(remapUid(`${uid}\0`, SECRET)).toBe(remapUid(uid, SECRET));
    for (let i = 0; i < 200; i++) expect(isValidUid(remapUid(`1.2.3.${i}`, SECRET))).toBe(true);
    const r = run({});
    expect(r.dict.meta['00020003'].Value).toEqual(r.dict.dict['00080018'].Value);
    expect(r.dict.meta['00020016']).toBeUndefined();
    const other = deidentify(dict(base({ '00080018': el('UI', '1.2.826.0.1.3680043.9.1.1.2') })), DEFAULT_DEID_OPTIONS, { secret: SECRET });
    expect(other.dict.dict['0020000D'].Value).toEqual(r.dict.dict['0020000D'].Value);
    expect(other.dict.dict['00080018'].Value).not.toEqual(r.dict.dict['00080018'].Value);
  });

  it('derives the pseudonym from secret, issuer and ID, and sets Patient Name and ID to it', () => {
    const p = patientPseudonym(SECRET, 'MRN-778899');
    expect(p).toMatch(/^CTR-[A-Z2-7]{10}$/);
    expect(patientPseudonym(SECRET, 'MRN-778899')).toBe(p);
    expect(patientPseudonym(SECRET, 'MRN-778899', 'HOSP-A')).not.toBe(p);
    expect(patientPseudonym('another-secret-0123456789', 'MRN-778899')).not.toBe(p);
    const r = run({});
    expect(r.pseudonym).toBe(p);
    expect(r.dict.dict['00100010'].Value).toEqual([{ Alphabetic: p }]);
    expect(r.dict.dict['00100020'].Value).toEqual([p]);
    expect(r.originals).toMatchObject({ PatientName: 'Smith^John', PatientID: 'MRN-778899', StudyInstanceUID: '1.2.826.0.1.3680043.9.1.2' });
  });

  it('falls back to name + birth date, then to the study, when there is no Patient ID', () => {
    const noId = (ds: DeidDataset) => {
      const d = { ...base(ds) };
      delete d['00100020'];
      return deidentify(dict(d), DEFAULT_DEID_OPTIONS, { secret: SECRET });
    };
    expect(noId({}).pseudonym).toBe(noId({}).pseudonym);
    expect(noId({}).pseudonym).not.toBe(noId({ '00100010': pn('Other^Person') }).pseudonym);
    expect(noId({}).dict.dict['00100020'].Value).toEqual([noId({}).pseudonym]);
  });

  it('gives every patient a shift in [-3650, -1], the same for all their studies', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const d = dateShiftDays(SECRET, patientPseudonym(SECRET, `P${i}`));
      expect(d).toBeGreaterThanOrEqual(-3650);
      expect(d).toBeLessThanOrEqual(-1);
      expect(Number.isInteger(d)).toBe(true);
      seen.add(d);
    }
    expect(seen.size).toBeGreaterThan(1000);
    const opts = { ...ALL_OFF, retainLongitudinalTemporal: true };
    const a = run({ '00080020': el('DA', '20200115'), '0020000D': el('UI', '1.2.3.100') }, opts);
    const b = run({ '00080020': el('DA', '20230620'), '0020000D': el('UI', '1.2.3.200') }, opts);
    const day = (ymd: string) => Date.UTC(+ymd.slice(0, 4), +ymd.slice(4, 6) - 1, +ymd.slice(6, 8)) / 86_400_000;
    expect(a.dateShiftDays).toBe(b.dateShiftDays);
    expect(day(b.dict.dict['00080020'].Value![0] as string) - day(a.dict.dict['00080020'].Value![0] as string)).toBe(day('20230620') - day('20200115'));
  });

  it('refuses a short secret', () => {
    expect(() => deidentify(dict(base()), DEFAULT_DEID_OPTIONS, { secret: 'short' })).toThrow(/at least 16/);
  });
});

describe('required additions, flags, purity and report', () => {
  it.each<[DeidOptions, string[], string]>([
    [ALL_OFF, ['113100'], 'REMOVED'],
    [DEFAULT_DEID_OPTIONS, ['113100', '113111'], 'REMOVED'],
    [ALL_ON, ['113100', '113105', '113107', '113108', '113109', '113111'], 'MODIFIED'],
  ])('records the profile and options (%j)', (options, codes, longitudinal) => {
    const r = run({ '00120062': el('CS', 'NO'), '00120064': el('SQ', { '00080100': el('SH', '999') }) }, options);
    expect(r.dict.dict['00120062'].Value).toEqual(['YES']);
    expect((r.dict.dict['00120064'].Value as DeidDataset[]).map((i) => i['00080100'].Value![0])).toEqual(codes);
    expect((r.dict.dict['00120064'].Value as DeidDataset[]).every((i) => i['00080102'].Value![0] === 'DCM')).toBe(true);
    expect(r.dict.dict['00120063'].Value!.length).toBe(codes.length);
    for (const v of r.dict.dict['00120063'].Value as string[]) expect(v.length).toBeLessThanOrEqual(64);
    expect(r.dict.dict['00280303'].Value).toEqual([longitudinal]);
  });

  it.each<[string, DeidDataset, string[]]>([
    ['declared YES', { '00280301': el('CS', 'YES') }, ['burned-in-annotation']],
    ['declared NO on US', { '00080060': el('CS', 'US'), '00280301': el('CS', 'NO') }, []],
    ['US without the attribute', { '00080060': el('CS', 'US') }, ['review-burned-in']],
    ['secondary capture', { '00080016': el('UI', '1.2.840.10008.5.1.4.1.1.7') }, ['review-burned-in']],
    ['multi-frame secondary capture', { '00080016': el('UI', '1.2.840.10008.5.1.4.1.1.7.4') }, ['review-burned-in']],
    ['SECONDARY image type', { '00080008': el('CS', 'DERIVED', 'SECONDARY') }, ['review-burned-in']],
    ['plain CT', {}, []],
  ])('flags %s', (_label, ds, flags) => {
    expect(run(ds).flags).toEqual(flags);
  });

  it('does not modify its input', () => {
    const input = dict(base({ '00081140': el('SQ', { '00081155': el('UI', '1.2.3.4') }), '00080080': el('LO', 'General Hospital'), '00190010': el('LO', 'X') }));
    const before = JSON.stringify(input);
    deidentify(input, ALL_ON, { secret: SECRET });
    deidentify(input, ALL_OFF, { secret: SECRET });
    expect(JSON.stringify(input)).toBe(before);
  });

  it('lists every touched attribute and merges a study', () => {
    const a = run({ '00080080': el('LO', 'General Hospital'), '00081140': el('SQ', { '00081155': el('UI', '1.2.3.4') }, { '00081155': el('UI', '1.2.3.5') }) });
    const b = run({ '00080080': el('LO', 'General Hospital'), '00080018': el('UI', '1.2.3.99') });
    expect(a.report.entries).toEqual(
      expect.arrayContaining([
        { tag: '0008,0080', path: '0008,0080', keyword: 'InstitutionName', action: 'dummy', reason: expect.stringContaining('X/Z/D') },
        { tag: '0010,0010', path: '0010,0010', keyword: 'PatientName', action: 'dummy', reason: expect.stringContaining('pseudonym') },
        { tag: '0002,0016', path: 'meta:0002,0016', keyword: 'SourceApplicationEntityTitle', action: 'removed', reason: expect.any(String) },
      ]),
    );
    const summary = mergeReports([a.report, b.report]);
    expect(summary.instanceCount).toBe(2);
    expect(summary.options).toEqual(DEFAULT_DEID_OPTIONS);
    expect(summary.rows.find((r) => r.tag === '0008,0080')).toMatchObject({ action: 'dummy', count: 2, instances: 2 });
    expect(summary.rows.find((r) => r.tag === '0008,1155')).toMatchObject({ action: 'replaced-uid', count: 2, instances: 1, paths: ['0008,1140[*].0008,1155'] });
    expect(summary.rows.find((r) => r.tag === '0008,0018')).toMatchObject({ action: 'replaced-uid', count: 2, instances: 2 });
    expect(mergeReports([a.report, run({}, ALL_ON).report]).options).toBeUndefined();
  });
});
