import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as dcmjs from 'dcmjs';
import { readDicom } from './parse';
import { pixelDataOffset, writePreservingPixelData } from './write';

const DATA = resolve(process.env.CONTOUR_TEST_DATA ?? resolve(__dirname, '../../../../shared/data'), 'dicom');
const files = ['modalities', 'transfer-syntaxes', 'segmentations', 'series/ct-3slice']
  .flatMap((d) => readdirSync(resolve(DATA, d)).filter((f) => f.endsWith('.dcm')).map((f) => `${d}/${f}`));

describe('writePreservingPixelData', () => {
  it.each(files)('%s: a rewritten file keeps its pixel data byte for byte', (name) => {
    const raw = readFileSync(resolve(DATA, name));
    const parsed = readDicom(raw);
    parsed.dict.dict['00081030'] = { vr: 'LO', Value: ['changed description'] };
    const out = writePreservingPixelData(parsed.dict, raw, parsed.transferSyntaxUid);
    const again = readDicom(out);
    expect(again.dataset.StudyDescription).toBe('changed description');
    expect(again.sopInstanceUid).toBe(parsed.sopInstanceUid);
    const at = pixelDataOffset(raw, parsed.transferSyntaxUid);
    if (at > 0) {
      const outAt = pixelDataOffset(out, again.transferSyntaxUid);
      expect(out.subarray(outAt).equals(raw.subarray(at, at + (out.length - outAt)))).toBe(true);
    } else {
      expect(Boolean(again.dataset.PixelData)).toBe(Boolean(parsed.dataset.PixelData));
    }
  });

  it('writes deflated files inflated and labelled Explicit VR Little Endian', () => {
    const raw = readFileSync(resolve(DATA, 'modalities/deflated.dcm'));
    const parsed = readDicom(raw);
    const out = writePreservingPixelData(parsed.dict, raw, parsed.transferSyntaxUid);
    const again = readDicom(out);
    expect(again.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(Buffer.from(again.dataset.PixelData[0]).equals(Buffer.from(parsed.dataset.PixelData[0]))).toBe(true);
  });

  it('finds no pixel data in a non-image object', () => {
    const raw = readFileSync(resolve(DATA, 'modalities/sr-report.dcm'));
    expect(pixelDataOffset(raw, readDicom(raw).transferSyntaxUid)).toBe(-1);
    void dcmjs;
  });
});
