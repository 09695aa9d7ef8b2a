// Instances converted to Explicit VR Little Endian (what WADO-RS serves by default), checked against the
// originals: the decoder gives the same pixels from both, and pydicom, an independent reader, reads every
// converted file with every attribute of the original (signed ones signed).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EXPLICIT_VR_LITTLE_ENDIAN, readDicom } from '@contour/dicom';
import { decodeFrames } from './pixel-decoding';
import { sameDicomContent, toExplicitVrLittleEndian } from './explicit-little-endian';

const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../shared/data');
const FILES = [
  ...fs.readdirSync(path.join(DATA, 'dicom/modalities')).map((f) => `dicom/modalities/${f}`),
  ...fs.readdirSync(path.join(DATA, 'dicom/segmentations')).map((f) => `dicom/segmentations/${f}`),
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `dicom/transfer-syntaxes/${n}.dcm`),
  'dicom/series/ct-3slice/01.dcm',
].filter((f) => f.endsWith('.dcm'));

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('toExplicitVrLittleEndian', () => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'explicit-le-'));
  const converted = new Map<string, string>();

  test.each(FILES)('%s: Explicit VR Little Endian, the same decoded pixels, Planar Configuration only for colour', async (rel) => {
    const original = fs.readFileSync(path.join(DATA, rel));
    const out = await toExplicitVrLittleEndian(original);
    const target = path.join(dir, rel.replace(/\//g, '_'));
    fs.writeFileSync(target, out);
    converted.set(rel, target);
    const parsed = readDicom(out);
    expect(parsed.transferSyntaxUid).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    const dict = parsed.dict.dict as Record<string, { vr: string; Value?: unknown[] }>;
    if (!dict['7FE00010'] && !dict['7FE00008'] && !dict['7FE00009']) return;
    const [before, after] = [await decodeFrames(original, { untileMosaic: false }), await decodeFrames(out, { untileMosaic: false })];
    expect([after.rows, after.columns, after.frames, after.samplesPerPixel, after.bitsAllocated]).toEqual([before.rows, before.columns, before.frames, before.samplesPerPixel, before.bitsAllocated]);
    expect(after.photometric).toBe(before.photometric);
    expect(bytesOf(after.data).equals(bytesOf(before.data))).toBe(true);
    if (after.samplesPerPixel === 1) expect(dict['00280006']).toBeUndefined();
    else expect(dict['00280006'].Value).toEqual([0]);
  });

  test('the ones that failed before: a 1-bit SEG stored Implicit VR and a JPEG baseline whose frames span several fragments', async () => {
    for (const rel of ['dicom/segmentations/ct-binary-seg.dcm', 'dicom/modalities/us-multiframe-8-jpeg-baseline.dcm']) {
      const parsed = readDicom(await toExplicitVrLittleEndian(fs.readFileSync(path.join(DATA, rel))));
      expect(parsed.transferSyntaxUid).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    }
  });

  test('pydicom reads every converted file, with every attribute of the original, signed ones signed (Pixel Padding Value -2000, it was 63536)', () => {
    const script = path.join(dir, 'compare.py');
    fs.writeFileSync(script, [
      'import sys, json, pydicom',
      // Pixel Data and what describes it are checked above; dcmjs writes text as UTF-8 and says so (ISO_IR 192), so
      // the character set may differ while every text value, as decoded, is the same.
      'SKIP = {0x7FE00010, 0x7FE00008, 0x7FE00009, 0x00280004, 0x00280006, 0x00282110, 0x00080005}',
      'def values(ds):',
      '    out = {}',
      '    for el in ds:',
      // Group lengths (gggg,0000) are retired in datasets (PS3.5 7.2) and not written.
      '        if el.tag in SKIP or el.tag.group == 0x0002 or el.tag.element == 0: continue',
      '        if el.VR == "SQ": out[str(el.tag)] = [values(i) for i in el.value]',
      '        elif el.VR in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"): out[str(el.tag)] = ("binary", len(el.value) if el.value is not None else 0)',
      '        else: out[str(el.tag)] = [el.VR if el.VR in ("US", "SS") else "", repr(el.value)]',
      '    return out',
      'result = {}',
      'for original, converted in zip(sys.argv[1::2], sys.argv[2::2]):',
      '    a = pydicom.dcmread(original); b = pydicom.dcmread(converted)',
      '    va, vb = values(a), values(b)',
      '    diff = sorted(k for k in set(va) | set(vb) if va.get(k) != vb.get(k))',
      '    px = None',
      '    if "PixelData" in b: px = list(b.pixel_array.shape)',
      '    result[original] = {"ts": str(b.file_meta.TransferSyntaxUID), "diff": diff, "pixels": px, "padding": [b["PixelPaddingValue"].VR, b.PixelPaddingValue] if "PixelPaddingValue" in b else None}',
      'print(json.dumps(result))',
    ].join('\n'));
    const args = [...converted.entries()].flatMap(([rel, file]) => [path.join(DATA, rel), file]);
    const result = JSON.parse(execFileSync('/usr/bin/python3', [script, ...args], { maxBuffer: 1 << 26 }).toString()) as Record<string, { ts: string; diff: string[]; pixels: number[] | null; padding: [string, number] | null }>;
    expect(Object.keys(result)).toHaveLength(FILES.length);
    for (const [file, r] of Object.entries(result)) {
      expect({ file, ts: r.ts, diff: r.diff }).toEqual({ file, ts: EXPLICIT_VR_LITTLE_ENDIAN, diff: [] });
    }
    expect(result[path.join(DATA, 'dicom/series/ct-3slice/01.dcm')].padding).toEqual(['SS', -2000]);
    expect(result[path.join(DATA, 'dicom/segmentations/ct-binary-seg.dcm')].pixels).not.toBeNull();
  });
});

describe('sameDicomContent', () => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'same-content-'));
  // Variants of one CT slice and one RT structure set made by DCMTK, a writer nobody on the team wrote.
  const variant = (source: string, name: string, tool: string, args: string[]) => {
    const out = path.join(dir, name);
    execFileSync(tool, [...args, path.join(DATA, source), out]);
    return fs.readFileSync(out);
  };
  const modified = (source: string, name: string, change: string) => {
    const out = path.join(dir, name);
    fs.copyFileSync(path.join(DATA, source), out);
    execFileSync('dcmodify', ['-nb', '-m', change, out]);
    return fs.readFileSync(out);
  };
  const CT = 'dicom/series/ct-3slice/01.dcm';
  const withPrivate = (name: string, implicit: boolean) => {
    const out = path.join(dir, name);
    execFileSync('/usr/bin/python3', ['-c', [
      'import sys, pydicom',
      'd = pydicom.dcmread(sys.argv[1])',
      'block = d.private_block(0x0019, "CONTOUR TEST", create=True); block.add_new(0x0C, "FL", 1000.0)',
      'd.is_implicit_VR = sys.argv[3] == "1"; d.is_little_endian = True',
      'd.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2" if d.is_implicit_VR else "1.2.840.10008.1.2.1"',
      'd.save_as(sys.argv[2], write_like_original=False)',
    ].join('\n'), path.join(DATA, CT), out, implicit ? '1' : '0']);
    return fs.readFileSync(out);
  };
  const RT = 'dicom/modalities/rtstruct-breast-10roi.dcm';

  test.each<[string, () => Buffer, () => Buffer, boolean]>([
    ['a CT and itself', () => fs.readFileSync(path.join(DATA, CT)), () => fs.readFileSync(path.join(DATA, CT)), true],
    ['a CT in Implicit VR and in Explicit VR', () => fs.readFileSync(path.join(DATA, CT)), () => variant(CT, 'ct-explicit.dcm', 'dcmconv', ['+te']), true],
    ['a CT and its RLE copy', () => fs.readFileSync(path.join(DATA, CT)), () => variant(CT, 'ct-rle.dcm', 'dcmcrle', []), true],
    ['a CT and its big-endian copy', () => fs.readFileSync(path.join(DATA, CT)), () => variant(CT, 'ct-be.dcm', 'dcmconv', ['+tb']), true],
    ['an RT structure set (no pixels) in Implicit and Explicit VR (it was a conflict)', () => variant(RT, 'rt-implicit.dcm', 'dcmconv', ['+ti']), () => variant(RT, 'rt-explicit.dcm', 'dcmconv', ['+te']), true],
    ['a CT and a copy for another patient (it was a duplicate)', () => fs.readFileSync(path.join(DATA, CT)), () => modified(CT, 'ct-patient.dcm', 'PatientID=OTHER-PATIENT-999'), false],
    ['a CT and a copy with another window (it was a duplicate)', () => fs.readFileSync(path.join(DATA, CT)), () => modified(CT, 'ct-window.dcm', 'WindowCenter=999'), false],
    ['a CT and a copy in another study (it was a duplicate)', () => fs.readFileSync(path.join(DATA, CT)), () => modified(CT, 'ct-study.dcm', 'StudyInstanceUID=1.2.3.4.5.6.7.8.9'), false],
    ['a CT and another slice', () => fs.readFileSync(path.join(DATA, CT)), () => fs.readFileSync(path.join(DATA, 'dicom/series/ct-3slice/02.dcm')), false],
    ['a file that is not DICOM', () => fs.readFileSync(path.join(DATA, CT)), () => Buffer.from('not dicom'), false],
    // A private element (a Siemens-style b-value, FL) reads as UN bytes from the implicit file and as FL from the
    // explicit one: the same object (it compared different, a false conflict).
    ['a CT with a private element, implicit and explicit', () => withPrivate('priv-implicit.dcm', true), () => withPrivate('priv-explicit.dcm', false), true],
  ])('%s', async (_name, a, b, expected) => {
    expect(await sameDicomContent(a(), b())).toBe(expected);
  });
});
