import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as dcmjs from 'dcmjs';
import { readDicom } from './parse';
import { writeDicom } from './synthetic';
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

  it('finds the top-level Pixel Data after an icon image, and before trailing padding', () => {
    const image = Uint8Array.from({ length: 64 }, (_, i) => i);
    const file = writeDicom({
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
      SOPInstanceUID: '1.2.3.4.5',
      StudyInstanceUID: '1.2.3.4',
      SeriesInstanceUID: '1.2.3.4.6',
      Modality: 'OT',
      IconImageSequence: [{ Rows: 2, Columns: 2, SamplesPerPixel: 1, PhotometricInterpretation: 'MONOCHROME2', BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelRepresentation: 0, PixelData: [new Uint8Array([9, 9, 9, 9]).buffer] }],
      Rows: 8,
      Columns: 8,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      BitsAllocated: 8,
      BitsStored: 8,
      HighBit: 7,
      PixelRepresentation: 0,
      PixelData: [image.buffer],
      _vrMap: { PixelData: 'OB' },
    });
    const ts = readDicom(file).transferSyntaxUid;
    const top = (buf: Buffer) => {
      const at = pixelDataOffset(buf, ts);
      return Array.from(buf.subarray(at + 12, at + 12 + buf.readUInt32LE(at + 8)));
    };
    // The icon's Pixel Data comes first in the file; the image's is found.
    expect(file.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]))).toBeLessThan(pixelDataOffset(file, ts));
    expect(top(file)).toEqual(Array.from(image));
    // Data Set Trailing Padding (FFFC,FFFC) after the pixels.
    const padded = Buffer.concat([file, Buffer.from([0xfc, 0xff, 0xfc, 0xff, 0x4f, 0x42, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0])]);
    expect(top(padded)).toEqual(Array.from(image));
  });

  it('finds no pixel data in a non-image object', () => {
    const raw = readFileSync(resolve(DATA, 'modalities/sr-report.dcm'));
    expect(pixelDataOffset(raw, readDicom(raw).transferSyntaxUid)).toBe(-1);
    void dcmjs;
  });
});
