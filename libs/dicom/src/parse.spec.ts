import { zipSync } from 'fflate';
import { DicomRejection, readDicom } from './parse';

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
