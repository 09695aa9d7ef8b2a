// Geometry records from real files: classic slices, enhanced multi-frame functional groups, and the Siemens
// MOSAIC position correction and slice direction (CSA SliceNormalVector).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDicom } from '@contour/dicom';
import { instanceGeometryFromDicom } from './dicom-geometry';
import { computeSeriesGeometry } from './series-geometry';
import { parseCsaHeader } from './siemens-mosaic';

const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../shared/data');
const parse = (rel: string) => readDicom(fs.readFileSync(path.join(DATA, rel)));

/** A minimal CSA2 ("SV10") header holding the given string items. */
function csaHeader(tags: Record<string, string[]>): ArrayBuffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(16);
  head.write('SV10', 0, 'latin1');
  head.writeUInt32LE(Object.keys(tags).length, 8);
  head.writeUInt32LE(77, 12);
  parts.push(head);
  for (const [name, items] of Object.entries(tags)) {
    const tag = Buffer.alloc(84);
    tag.write(name, 0, 'latin1');
    tag.writeInt32LE(items.length, 64); // vm
    tag.write('DS', 68, 'latin1');
    tag.writeUInt32LE(items.length, 76); // items
    tag.writeUInt32LE(77, 80);
    parts.push(tag);
    for (const item of items) {
      const value = Buffer.from(`${item}\0`, 'latin1');
      const header = Buffer.alloc(16);
      header.writeUInt32LE(value.length, 0);
      header.writeUInt32LE(value.length, 4);
      parts.push(header, value, Buffer.alloc((4 - (value.length % 4)) % 4));
    }
  }
  const all = Buffer.concat(parts);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}

describe('instanceGeometryFromDicom', () => {
  test('a classic CT slice', () => {
    expect(instanceGeometryFromDicom(parse('dicom/series/ct-3slice/01.dcm'), 'ct1')).toEqual({
      id: 'ct1',
      imagePositionPatient: [-235.199997, -226.800003, -126.690002],
      imageOrientationPatient: [1, 0, 0, 0, 1, 0],
      pixelSpacing: [0.810547, 0.810547],
      sliceThickness: 1.25,
      spacingBetweenSlices: undefined,
      rows: 512,
      columns: 512,
      numberOfFrames: 1,
      instanceNumber: 1,
    });
  });

  test('enhanced CT: per-frame positions, shared orientation and pixel measures', () => {
    const g = instanceGeometryFromDicom(parse('dicom/modalities/enhanced-ct-2frames.dcm'));
    expect(g).toMatchObject({ imageOrientationPatient: [-1, 0, 0, 0, 1, 0], pixelSpacing: [0.388672, 0.388672], sliceThickness: 10, numberOfFrames: 2 });
    expect(g.frames!.map((f) => f.imagePositionPatient)).toEqual([[99.5, -301.5, -159], [99.5, -301.5, -149]]);
  });

  test('MOSAIC: 35 tiles of 64x64, the first moved in from the mosaic corner by (384 - 64) / 2 pixels', () => {
    const parsed = parse('dicom/transfer-syntaxes/2.dcm'); // implicit VR: the private tags arrive as raw bytes
    const csa = parseCsaHeader(new Uint8Array(parsed.dict.dict['00291010'].Value![0] as ArrayBuffer));
    expect(csa.get('NumberOfImagesInMosaic')).toEqual(['35']);
    expect(csa.get('SliceNormalVector')).toEqual(['0.00000000', '0.10799944', '0.99415095']);
    const g = instanceGeometryFromDicom(parsed);
    expect([g.columns, g.rows, g.numberOfFrames, g.frames!.length]).toEqual([64, 64, 35, 35]);
    // IPP (-624, -661.83, -6.53) + 160 px * 3.25 mm along the row (1, 0, 0) and the column (0, 0.994, -0.108).
    const first = g.frames![0].imagePositionPatient!;
    [-104, -661.82658862211 + 520 * 0.99415096409965, -6.5255017698948 - 520 * 0.1079993545339].forEach((v, a) => expect(first[a]).toBeCloseTo(v, 6));
    const step = g.frames![1].imagePositionPatient!.map((v, a) => v - first[a]);
    expect(Math.hypot(...step)).toBeCloseTo(3.6, 6);
    const series = computeSeriesGeometry([g]);
    expect(series.kind).toBe('multi-frame-volume');
    expect(series.slices.map((s) => s.frame)).toEqual([...Array(35).keys()]);
  });

  test('MOSAIC acquired against row x column (negative CSA SliceNormalVector): tiles are stacked in reverse', () => {
    const parsed = parse('dicom/transfer-syntaxes/1.dcm');
    parsed.dict.dict['00291010'] = { vr: 'OB', Value: [csaHeader({ NumberOfImagesInMosaic: ['35'], SliceNormalVector: ['0', '-0.10799944', '-0.99415095'] })] };
    const g = instanceGeometryFromDicom(parsed);
    const series = computeSeriesGeometry([g]);
    expect(series.slices.map((s) => s.frame)).toEqual([...Array(35).keys()].reverse());
    expect(series.spacing[2]).toBeCloseTo(3.6, 6);
    expect(series.issues).toEqual([]);
  });
});
