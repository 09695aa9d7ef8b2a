// A name inside a sequence item of a UTF-8 (or Latin-1) file: read with the file's character set and cleaned. dcmjs
// read such items as Latin-1, so "Müller" became "MÃ¼ller", which the descriptor cleaner did not recognise as the
// patient's name: it was kept, and served to annotators. The files are written by pydicom, an independent writer,
// with items of defined length (as many scanners send them).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readDicom } from '@contour/dicom';
import { deidentify } from './deidentify';
import { DEFAULT_DEID_OPTIONS } from './options';

const dir = mkdtempSync(path.join(tmpdir(), 'nested-charset-'));
const WRITE = String.raw`
import sys, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
charset, out = sys.argv[1], sys.argv[2]
meta = FileMetaDataset(); meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'; meta.MediaStorageSOPInstanceUID = generate_uid(); meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset(); ds.file_meta = meta; ds.preamble = b'\0' * 128
ds.SpecificCharacterSet = charset; ds.SOPClassUID = meta.MediaStorageSOPClassUID; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.Modality = 'OT'
ds.PatientName = 'Müller^Jörg'; ds.PatientID = 'PID-MUELLER2'; ds.StudyDescription = 'CT für Müller'
item = Dataset(); item.RequestedProcedureDescription = 'CT für Müller'; item.RequestedProcedureID = 'RP1'
ds.RequestAttributesSequence = Sequence([item])
ds.is_little_endian = True; ds.is_implicit_VR = False
ds.save_as(out, write_like_original=False)
`;

describe('text inside sequence items follows the file\'s character set', () => {
  it.each([['ISO_IR 192'], ['ISO_IR 100']])('%s: the nested description reads "CT für Müller" and is cleaned of the name', (charset) => {
    const file = path.join(dir, `${charset.replace(/ /g, '_')}.dcm`);
    execFileSync('/usr/bin/python3', ['-c', WRITE, charset, file]);
    const parsed = readDicom(readFileSync(file));
    const item = (parsed.dataset.RequestAttributesSequence as Record<string, unknown>[])[0];
    expect(item.RequestedProcedureDescription).toBe('CT für Müller');
    // Clean Descriptors keeps the sequence and cleans its descriptions (without the option, the profile removes it).
    const out = deidentify(parsed.dict as never, { ...DEFAULT_DEID_OPTIONS, cleanDescriptors: true }, { secret: 'nested-charset-test-secret-0123456789' });
    const requests = out.dict.dict['00400275'] as { Value: Record<string, { Value?: unknown[] }>[] };
    expect(requests.Value).toHaveLength(1);
    expect(requests.Value[0]['00321060'].Value).not.toEqual(['CT für Müller']);
    expect(JSON.stringify(out.dict.dict)).not.toMatch(/M(ü|Ã¼)ller/);
  });
});
