// Unit tests of the building blocks: the profile table's shape and key rows, date shifting across month, year
// and leap-day boundaries, the descriptor clean rule, and the private safe list matching.
import { makeDescriptorCleaner } from './clean-descriptor';
import { shiftDate, shiftDateTime } from './date-shift';
import { findSafePrivateElement, privateCreatorTagOf, SAFE_PRIVATE_ELEMENTS } from './private-tags';
import { CONTOUR_ADDITIONAL_ROWS, findProfileRow, PROFILE_TABLE } from './profile-table';
import { isValidUid, isWellKnownUid } from './uid-remap';

describe('profile table', () => {
  it('has unique tags, legal codes and legal option values', () => {
    const tags = [...PROFILE_TABLE, ...CONTOUR_ADDITIONAL_ROWS].map((r) => r.tag);
    expect(new Set(tags).size).toBe(tags.length);
    for (const r of PROFILE_TABLE) {
      expect(r.tag).toMatch(/^[0-9A-FX]{8}$/);
      expect(['D', 'Z', 'X', 'K', 'C', 'U', 'Z/D', 'X/Z', 'X/D', 'X/Z/D', 'X/Z/U*']).toContain(r.basic);
      expect(r.keyword).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
      const o = r.options;
      expect(['C', undefined]).toContain(o.retainLongitudinalTemporal);
      expect(['K', 'C', undefined]).toContain(o.retainPatientCharacteristics);
      expect(['K', undefined]).toContain(o.retainDeviceIdentity);
      expect(['C', undefined]).toContain(o.cleanDescriptors);
      if (r.basic === 'U') expect(r.vr).toBe('UI');
    }
  });

  it('covers at least 300 attributes that are not retired', () => {
    expect(PROFILE_TABLE.filter((r) => !r.retired).length).toBeGreaterThanOrEqual(300);
  });

  it.each([
    ['00100010', 'PatientName', 'Z', {}],
    ['00100020', 'PatientID', 'Z/D', {}],
    ['00100030', 'PatientBirthDate', 'Z', {}],
    ['00100040', 'PatientSex', 'Z', { retainPatientCharacteristics: 'K' }],
    ['00101010', 'PatientAge', 'X', { retainPatientCharacteristics: 'K' }],
    ['00102110', 'Allergies', 'X', { retainPatientCharacteristics: 'C', cleanDescriptors: 'C' }],
    ['00080020', 'StudyDate', 'Z', { retainLongitudinalTemporal: 'C' }],
    ['00080021', 'SeriesDate', 'X/D', { retainLongitudinalTemporal: 'C' }],
    ['00080023', 'ContentDate', 'Z/D', { retainLongitudinalTemporal: 'C' }],
    ['0008002A', 'AcquisitionDateTime', 'X/Z/D', { retainLongitudinalTemporal: 'C' }],
    ['00080050', 'AccessionNumber', 'Z', {}],
    ['00080080', 'InstitutionName', 'X/Z/D', {}],
    ['00080090', 'ReferringPhysicianName', 'Z', {}],
    ['00081010', 'StationName', 'X/Z/D', { retainDeviceIdentity: 'K' }],
    ['00081030', 'StudyDescription', 'X', { cleanDescriptors: 'C' }],
    ['0008103E', 'SeriesDescription', 'X', { cleanDescriptors: 'C' }],
    ['00081140', 'ReferencedImageSequence', 'X/Z/U*', {}],
    ['00081155', 'ReferencedSOPInstanceUID', 'U', {}],
    ['00181000', 'DeviceSerialNumber', 'X/Z/D', { retainDeviceIdentity: 'K' }],
    ['00181030', 'ProtocolName', 'X/D', { cleanDescriptors: 'C' }],
    ['0020000D', 'StudyInstanceUID', 'U', {}],
    ['00200052', 'FrameOfReferenceUID', 'U', {}],
    ['0040A730', 'ContentSequence', 'D', {}],
    ['00880200', 'IconImageSequence', 'X', {}],
    ['FFFAFFFA', 'DigitalSignaturesSequence', 'X', {}],
  ])('row %s %s is %s with options %j', (tag, keyword, basic, options) => {
    expect(findProfileRow(tag)?.row).toMatchObject({ keyword, basic, options });
  });

  it.each([
    ['60003000', 'OverlayData'],
    ['601E3000', 'OverlayData'],
    ['60024000', 'OverlayComments'],
    ['50000010', 'CurveData'],
    ['501E3000', 'CurveData'],
    ['0008103e', 'SeriesDescription'],
  ])('matches repeating groups and any case: %s -> %s', (tag, keyword) => {
    expect(findProfileRow(tag)?.row.keyword).toBe(keyword);
  });

  it.each(['60010010', '60000010', '00180050', '7FE00010', '00080016'])('has no row for %s', (tag) => {
    expect(findProfileRow(tag)).toBeUndefined();
  });
});

describe('date shifting', () => {
  it.each<[string, number, string | undefined]>([
    ['20240301', -1, '20240229'], // leap year
    ['20230301', -1, '20230228'],
    ['20000301', -1, '20000229'], // divisible by 400: leap
    ['19000301', -1, '19000228'], // divisible by 100: not leap
    ['20200101', -1, '20191231'], // year boundary
    ['20241231', 1, '20250101'],
    ['20240131', 30, '20240301'],
    ['20240315', -3650, '20140318'], // 3653 days in those ten years (2016, 2020, 2024 leap)
    ['20240229', -366, '20230228'],
    ['1999.12.31', -365, '19981231'], // ACR-NEMA form, written back standard
    ['2024', -1, undefined],
    ['202403', -1, undefined],
    ['20230230', -1, undefined],
    ['20240101-20240201', -1, undefined],
    ['', -1, undefined],
  ])('DA %j shifted by %d -> %j', (value, days, expected) => {
    expect(shiftDate(value, days)).toBe(expected);
  });

  it.each<[string, number, string | undefined]>([
    ['20240301120000.123456+0100', -1, '20240229120000.123456+0100'],
    ['20240301000000', -1, '20240229000000'],
    ['2024030123', -1, '2024022923'],
    ['20240301', -1, '20240229'],
    ['20210101235959-0500', -1, '20201231235959-0500'],
    ['2024', -1, undefined],
    ['202403', -1, undefined],
    ['20240301T120000', -1, undefined],
  ])('DT %j shifted by %d -> %j', (value, days, expected) => {
    expect(shiftDateTime(value, days)).toBe(expected);
  });
});

describe('descriptor clean rule', () => {
  const clean = makeDescriptorCleaner(['Smith', 'John', 'MRN-778899', 'ACC0001', 'General Hospital', 'VS-SEG-001']);
  it.each<[string, boolean]>([
    ['t1_mpr_tra_gk_v4', true],
    ['Avanto RoutineImage Guidance', true],
    ['MRI Stereo Gamma Knife', true],
    ['DWI b1000 3D', true],
    ['CT ABDOMEN W/O CONTRAST 1.5T', true],
    ['Vestibular schwannoma', true],
    ['Axial T2 FLAIR', true],
    ['Smith follow-up', false],
    ['smith', false],
    ['JOHN', false],
    ['Blacksmith protocol', true], // whole words only
    ['MRN-778899', false],
    ['for VS-SEG-001', false],
    ['General Hospital head', false],
    ['Doe^Jane', false],
    ['Dr Watson', false],
    ['call jane@example.org', false],
    ['CT 20190304', false],
    ['CT 2019-03-04', false],
    ['04/03/2019 scan', false],
    ['scan 4 Mar', false],
    ['March 2019', false],
    ['follow-up 2019', false],
    ['ref 1234567', false],
    ['tel 555-1234', false],
    ['+44 20 7946 0958', false],
  ])('%j -> keep %s', (value, keep) => {
    expect(clean(value).keep).toBe(keep);
  });
});

describe('private safe list and UID helpers', () => {
  it.each<[string | undefined, string, string | undefined]>([
    ['SIEMENS MR HEADER', '0019100A', 'NumberOfImagesInMosaic'],
    ['SIEMENS MR HEADER ', '0019120A', 'NumberOfImagesInMosaic'],
    ['SIEMENS MR HEADER', '0029100A', undefined],
    ['SIEMENS CSA HEADER', '00291010', undefined],
    ['Philips MR Imaging DD 001', '2005100E', 'ScaleSlope'],
    ['Philips MR Imaging DD 001', '2005140E', 'ScaleSlope'],
    ['GEMS_PARM_01', '00431039', 'SlopInt6-9'],
    [undefined, '0019100A', undefined],
  ])('%j %s -> %j', (creator, tag, name) => {
    expect(findSafePrivateElement(creator, tag)?.name).toBe(name);
  });

  it('finds the creator slot of a private element', () => {
    expect(privateCreatorTagOf('0019100A')).toBe('00190010');
    expect(privateCreatorTagOf('0019ff0a')).toBe('001900FF');
    expect(privateCreatorTagOf('00190010')).toBeUndefined();
    expect(privateCreatorTagOf('00080010')).toBeUndefined();
    expect(SAFE_PRIVATE_ELEMENTS.every((e) => e.group % 2 === 1)).toBe(true);
  });

  it.each<[string, boolean, boolean]>([
    ['1.2.840.10008.5.1.4.1.1.2', true, true],
    ['1.2.840.10008.1.2.1', true, true],
    ['1.2.840.113619.2.1', false, true],
    ['2.25.123', false, true],
    ['1.2.03', false, false],
    ['1..2', false, false],
    [`1.${'2'.repeat(63)}`, false, false],
  ])('%s: well-known %s, valid %s', (uid, wellKnown, valid) => {
    expect(isWellKnownUid(uid)).toBe(wellKnown);
    expect(isValidUid(uid)).toBe(valid);
  });
});
