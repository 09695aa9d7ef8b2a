import { zipSync } from 'fflate';
import { DicomRejection, invalidValues, readDicom, withoutQuotedValues } from './parse';

const rejection = (buffer: Buffer) => {
  try {
    readDicom(buffer);
  } catch (e) {
    if (e instanceof DicomRejection) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a rejection');
};

describe('readDicom refuses what is not DICOM with a reason a person can act on', () => {
  it.each<[string, Buffer, string, RegExp]>([
    ['a zip archive (named .dcm, or inside a zip)', Buffer.from(zipSync({ 'a.dcm': new Uint8Array(200) })), 'not-dicom', /is a zip archive, not DICOM: a zip named \.dcm or packed inside another zip is not unpacked/],
    ['text', Buffer.from('PatientName,Age\nDoe,42\n'.repeat(20)), 'not-dicom', /The file is text, not DICOM/],
    ['other bytes', Buffer.alloc(300, 0xff), 'not-dicom', /no "DICM" marker at byte 128/],
    ['nothing', Buffer.alloc(0), 'empty', /The file is empty/],
  ])('%s', (_name, buffer, code, message) => {
    const r = rejection(buffer);
    expect(r.code).toBe(code);
    expect(r.message).toMatch(message);
  });
});

// Reasons are shown to project managers, who never see a file's original values: a value that breaks its VR is
// described, not quoted (an ID in Instance Number was shown as `IS "MRN4455667"`), and a library's message loses the
// value it quotes (dcmjs: "Value exceeds max length, vr: AS, value: MRN4455667, length: 10").
describe('quarantine reasons do not quote the file\'s values', () => {
  it.each<[string, string, RegExp]>([
    ['IS', 'Waylon', /the IS value in InstanceNumber \(0020,0013\) is not a whole number/],
    ['IS', '1234567890123', /has more than 12 digits/],
    ['UI', '1.2.840.MRN4455667', /holds characters other than digits and dots/],
    ['UI', '1.2.04.5', /has a component with a leading zero/],
    ['UI', '1.2..5', /has an empty component/],
    ['UI', `1.${'2'.repeat(70)}`, /is longer than 64 characters/],
    ['DS', 'Smith', /is not a decimal number/],
    ['DS', '1.00000000000000001', /is longer than 16 characters/],
  ])('%s %j', (vr, value, expected) => {
    const tag = { IS: '00200013', UI: '0020000D', DS: '00180050' }[vr]!;
    const [problem] = invalidValues({ [tag]: { vr, Value: [value] } });
    expect(problem).toMatch(expected);
    expect(problem).not.toContain(value);
  });

  it.each([
    ['Value exceeds max length, vr: AS, value: MRN4455667, length: 10', 'Value exceeds max length, vr: AS, value: (not shown), length: 10'],
    ['bad value: Doe^John', 'bad value: (not shown)'],
    ['Offset is outside the bounds of the DataView', 'Offset is outside the bounds of the DataView'],
  ])('%j -> %j', (message, shown) => {
    expect(withoutQuotedValues(message)).toBe(shown);
  });
});
