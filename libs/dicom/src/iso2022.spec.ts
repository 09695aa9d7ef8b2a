// Text with ISO 2022 code extensions (a multi-valued Specific Character Set), as Japanese, Korean and Chinese
// scanners write it by default: dcmjs refused these files ("Using multiple character sets is not supported") and
// Contour quarantined them as damaged. The examples of PS3.5 Annex H, I and J, byte for byte, and files written by
// pydicom (an independent encoder) read back with the same text pydicom decodes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Iso2022Decoder, isIso2022CharacterSet } from './iso2022';
import { readDicom } from './parse';

const ESC = '\x1b';
const bytes = (s: string) => Buffer.from(s, 'latin1');

describe('ISO 2022 decoder (PS3.5 Annexes H-J)', () => {
  it.each<[string, string[], string, string]>([
    [
      'H.3.1 Japanese, JIS X 0208',
      ['', 'ISO 2022 IR 87'],
      `Yamada^Tarou=${ESC}$B;3ED${ESC}(B^${ESC}$BB@O:${ESC}(B=${ESC}$B$d$^$@${ESC}(B^${ESC}$B$?$m$&${ESC}(B`,
      'Yamada^Tarou=山田^太郎=やまだ^たろう',
    ],
    [
      'H.3.2 Japanese, JIS X 0201 katakana and JIS X 0208',
      ['ISO 2022 IR 13', 'ISO 2022 IR 87'],
      `\xd4\xcf\xc0\xde^\xc0\xdb\xb3=${ESC}$B;3ED${ESC}(J^${ESC}$BB@O:${ESC}(J=${ESC}$B$d$^$@${ESC}(J^${ESC}$B$?$m$&${ESC}(J`,
      'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう',
    ],
    [
      'I.2 Korean, KS X 1001',
      ['', 'ISO 2022 IR 149'],
      `Hong^Gildong=${ESC}$)C\xfb\xf3^${ESC}$)C\xd1\xce\xd4\xd7=${ESC}$)C\xc8\xab^${ESC}$)C\xb1\xe6\xb5\xbf`,
      'Hong^Gildong=洪^吉洞=홍^길동',
    ],
    [
      'J.3 Chinese, GB 2312',
      ['', 'ISO 2022 IR 58'],
      `Zhang^XiaoDong=${ESC}$)A\xd5\xc5^${ESC}$)A\xd0\xa1\xb6\xab=`,
      'Zhang^XiaoDong=张^小东=',
    ],
    ['Latin-1 by escape, then back', ['', 'ISO 2022 IR 100'], `M${ESC}-A\xfcller`, 'Müller'],
    ['an unknown escape is dropped, the text goes on', ['', 'ISO 2022 IR 87'], `a${ESC}%Gb`, 'a%Gb'],
  ])('%s', (_name, charset, input, expected) => {
    expect(isIso2022CharacterSet(charset)).toBe(true);
    expect(new Iso2022Decoder(charset).decode(bytes(input))).toBe(expected);
  });

  it.each<[string[], boolean]>([
    [['ISO_IR 192'], false],
    [['', 'ISO 2022 IR 87'], true],
    [['ISO 2022 IR 6', 'ISO 2022 IR 149'], true],
    [['ISO_IR 100', 'ISO_IR 192'], false],
  ])('%j is read with code extensions: %s', (charset, iso) => {
    expect(isIso2022CharacterSet(charset)).toBe(iso);
  });
});

const dir = mkdtempSync(path.join(tmpdir(), 'iso2022-'));
const WRITE = String.raw`
import sys, json, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
charset, name, description, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
meta = FileMetaDataset(); meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'; meta.MediaStorageSOPInstanceUID = generate_uid(); meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset(); ds.file_meta = meta; ds.preamble = b'\0' * 128
ds.SpecificCharacterSet = charset; ds.SOPClassUID = meta.MediaStorageSOPClassUID; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.Modality = 'OT'
ds.PatientName = name; ds.PatientID = 'PID-2022'; ds.StudyDescription = description
item = Dataset(); item.RequestedProcedureDescription = description
ds.RequestAttributesSequence = Sequence([item])
ds.is_little_endian = True; ds.is_implicit_VR = False
ds.save_as(out, write_like_original=False)
back = pydicom.dcmread(out)
print(json.dumps([str(back.PatientName), back.StudyDescription, back.RequestAttributesSequence[0].RequestedProcedureDescription]))
`;

// (Debian's pydicom writes no GB 2312 by escape, ISO 2022 IR 58: Annex J's bytes above stand for it.)
describe('files with code extensions are read (pydicom writes, Contour reads)', () => {
  it.each<[string[], string, string]>([
    [['', 'ISO 2022 IR 87'], 'Yamada^Tarou=山田^太郎=やまだ^たろう', '頭部 MRI 単純'],
    [['ISO 2022 IR 13', 'ISO 2022 IR 87'], 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう', 'ｱﾀﾏ 頭部'],
    [['', 'ISO 2022 IR 149'], 'Hong^Gildong=洪^吉洞=홍^길동', '뇌 MRI'],
  ])('%j %s', (charset, name, description) => {
    const file = path.join(dir, `${charset.join('_').replace(/ /g, '')}.dcm`);
    const [pyName, pyDescription, pyNested] = JSON.parse(execFileSync('/usr/bin/python3', ['-c', WRITE, JSON.stringify(charset), name, description, file]).toString()) as string[];
    const parsed = readDicom(readFileSync(file));
    const pn = (parsed.dataset.PatientName as { Alphabetic?: string; Ideographic?: string; Phonetic?: string }[])[0];
    expect([pn.Alphabetic, pn.Ideographic, pn.Phonetic].filter((g) => g !== undefined).join('=').replace(/=+$/, '')).toBe(pyName.replace(/=+$/, ''));
    expect(parsed.dataset.StudyDescription).toBe(pyDescription);
    expect((parsed.dataset.RequestAttributesSequence as Record<string, unknown>[])[0].RequestedProcedureDescription).toBe(pyNested);
    expect(pyDescription).toBe(description);
  });
});
