import * as fs from 'node:fs';
import * as path from 'node:path';
import { syntheticUid, writeDicom } from '@contour/dicom';
import { bulkDataOf, dicomJsonOf, formatBulkDataPath, jsonValues, parseBulkDataPath } from './dicom-json';

const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../../shared/data');
const load = (rel: string) => fs.readFileSync(path.join(DATA, rel));

describe('bulk data paths', () => {
  it.each([
    ['00091001', [{ tag: '00091001' }]],
    ['54000100.1.54001010', [{ tag: '54000100', item: 1 }, { tag: '54001010' }]],
    ['0040a730.0.0040A730.12.00420011', [{ tag: '0040A730', item: 0 }, { tag: '0040A730', item: 12 }, { tag: '00420011' }]],
  ])('%s', (text, parsed) => {
    expect(parseBulkDataPath(text)).toEqual(parsed);
    expect(formatBulkDataPath(parsed)).toBe(text.toUpperCase());
  });

  it.each(['', 'nonsense', '0009100', '54000100.54001010', '54000100.x.54001010', '54000100.0'])('rejects %j', (text) => {
    expect(parseBulkDataPath(text)).toBeNull();
  });
});

describe('dicomJsonOf', () => {
  const url = '/dicom-web/projects/p/studies/1/series/2/instances/3';
  const big = Uint8Array.from({ length: 10_000 }, (_, i) => i % 251);
  const file = writeDicom({
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.9.1.1',
    SOPInstanceUID: syntheticUid('dicom-json/instance'),
    StudyInstanceUID: syntheticUid('dicom-json/study'),
    SeriesInstanceUID: syntheticUid('dicom-json/series'),
    Modality: 'ECG',
    WaveformSequence: [{ WaveformBitsAllocated: 8, WaveformData: [Uint8Array.from([1, 2, 3, 4]).buffer] }, { WaveformBitsAllocated: 8, WaveformData: [big.buffer] }],
    _vrMap: {},
  });

  it('inlines small binary values and gives large ones a BulkDataURI that bulkDataOf answers', () => {
    const json = dicomJsonOf(file, url);
    const items = json['54000100'].Value as Record<string, { vr: string; InlineBinary?: string; BulkDataURI?: string }>[];
    expect(items[0]['54001010'].InlineBinary).toBe(Buffer.from([1, 2, 3, 4]).toString('base64'));
    expect(items[1]['54001010'].BulkDataURI).toBe(`${url}/bulkdata/54000100.1.54001010`);
    expect(bulkDataOf(file, parseBulkDataPath('54000100.1.54001010')!)!.equals(Buffer.from(big))).toBe(true);
    expect(bulkDataOf(file, parseBulkDataPath('54000100.0.54001010')!)!.equals(Buffer.from([1, 2, 3, 4]))).toBe(true);
  });

  it.each(['54000100.2.54001010', '00080060', '54000100', '7FE00010', '00091001'])('has no bulk data at %s', (p) => {
    expect(bulkDataOf(file, parseBulkDataPath(p)!)).toBeNull();
  });

  it.each([
    // file, Photometric Interpretation as stored, as served
    ['us-color-30frames-jpeg.dcm', 'YBR_FULL_422', 'RGB'],
    ['us-multiframe-8-jpeg-baseline.dcm', 'YBR_FULL', 'RGB'],
    ['us-rgb-single.dcm', 'RGB', 'RGB'],
    ['ct-small.dcm', 'MONOCHROME2', 'MONOCHROME2'],
  ])('%s: stored %s, described as the frames are served: %s', (name, _stored, served) => {
    const json = dicomJsonOf(load(`dicom/modalities/${name}`), url);
    expect(json['00280004']).toEqual({ vr: 'CS', Value: [served] });
    if (served === 'RGB') expect(json['00280006']).toEqual({ vr: 'US', Value: [0] });
    expect(json['7FE00010']).toEqual({ vr: expect.any(String), BulkDataURI: `${url}/bulkdata/7FE00010` });
  });
});

describe('the metadata describes the pixels as a converted instance has them', () => {
  it.each<[string, string | undefined, string]>([
    // file, Lossy Image Compression as described, Pixel Data VR as served (16-bit words whatever the stored VR)
    ['us-multiframe-8-jpeg-baseline.dcm', '01', 'OB'],
    ['ct-693-jpeg2000-lossless.dcm', undefined, 'OW'],
    ['mr-small-rle.dcm', undefined, 'OW'],
  ])('%s', (name, lossy, vr) => {
    const json = dicomJsonOf(load(`dicom/modalities/${name}`), '/x');
    expect(json['00282110']?.Value?.[0]).toBe(lossy);
    expect(json['7FE00010'].vr).toBe(vr);
    if (Number(json['00280002']?.Value?.[0] ?? 1) === 1) expect(json['00280006']).toBeUndefined();
  });
});

describe('jsonValues (PS3.18 F.2)', () => {
  it.each<[string, string, unknown[], unknown[] | null]>([
    ['a value', 'LO', ['CHEST'], ['CHEST']],
    ['an empty string: no Value (it was [""])', 'DA', [''], null],
    ['an empty number: no Value (it was [null])', 'IS', [null], null],
    ['no values', 'SH', [], null],
    ['an empty entry among others is null', 'CS', ['ORIGINAL', 'PRIMARY', ''], ['ORIGINAL', 'PRIMARY', null]],
    ['an empty name: no Value', 'PN', [{ Alphabetic: '' }], null],
    ['a name', 'PN', [{ Alphabetic: 'Doe^J' }], [{ Alphabetic: 'Doe^J' }]],
    ['AT values are 8 hex digits (they were numbers)', 'AT', [6422539, 0x00209165], ['0062000B', '00209165']],
    ['AT above 0x7fffffff', 'AT', [0xfffee000], ['FFFEE000']],
    ['zero is a value', 'US', [0], [0]],
    ['NaN is empty', 'DS', [NaN], null],
  ])('%s', (_name, vr, values, expected) => {
    expect(jsonValues(vr, values)).toEqual(expected);
  });

  it('an Implicit VR CT says its Pixel Padding Value is SS -2000 (it said US 63536)', () => {
    const json = dicomJsonOf(load('dicom/series/ct-3slice/01.dcm'), '/x');
    expect(json['00280120']).toEqual({ vr: 'SS', Value: [-2000] });
  });

  it('an Implicit VR ultrasound gives its Private Creators as LO text (they were OW bytes); no element has an empty Value', () => {
    const json = dicomJsonOf(load('dicom/modalities/us-multiframe-8.dcm'), '/x');
    expect(json['7FDD0010']).toEqual({ vr: 'LO', Value: ['TSC Private Group'] });
    const empties = Object.entries(json).filter(([, el]) => Array.isArray((el as { Value?: unknown[] }).Value) && ((el as { Value: unknown[] }).Value.length === 0 || (el as { Value: unknown[] }).Value.every((v) => v === '' || v === null)));
    expect(empties).toEqual([]);
  });
});
