import * as fs from 'node:fs';
import * as path from 'node:path';
import { syntheticUid, writeDicom } from '@contour/dicom';
import { bulkDataOf, dicomJsonOf, formatBulkDataPath, parseBulkDataPath } from './dicom-json';

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
    expect(json['7FE00010']).toEqual({ vr: expect.any(String), BulkDataURI: url });
  });
});
