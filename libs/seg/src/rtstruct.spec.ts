// RTSTRUCT writer checked with real tools: dciodvfy validates the object, pydicom reads the contours back, and
// those contours, mapped from patient millimetres to pixels with the source geometry and filled by pixel centre
// (even-odd rule), must give back the label map exactly. Areas are checked in mm² with the shoelace formula.
import { ctPhantomSeries } from '@contour/dicom';
import { dciodvfy, loadSeries, pydicomRt, rasterizeEvenOdd, seriesFromBuffers, type LoadedSeries } from '../test/tools';
import { shoelaceArea } from './contours';
import { RT_STRUCTURE_SET_STORAGE, writeRtStruct, type RtStructInput } from './rtstruct-writer';
import type { SegmentDefinition } from './types';

const CT = loadSeries('dicom/series/ct-3slice');
const [NX, NY, NZ] = CT.dims;
const ACCEPTED_WARNINGS = [/Retired Person Name form/];

const ORGAN: SegmentDefinition = { labelValue: 1, label: 'Ring', color: '#00ff00', type: { value: '10200004', scheme: 'SCT', meaning: 'Liver' }, algorithmType: 'MANUAL', rtRoiInterpretedType: 'ORGAN' };
const GTV: SegmentDefinition = {
  labelValue: 2,
  label: 'GTV',
  color: '#ff0000',
  type: { value: '52988006', scheme: 'SCT', meaning: 'Lesion' },
  algorithmType: 'AUTOMATIC',
  algorithmName: 'Threshold',
  algorithmVersion: '2.1',
  rtRoiInterpretedType: 'GTV',
};
const ABSENT: SegmentDefinition = { labelValue: 3, label: 'Spleen', type: { value: '78961009', scheme: 'SCT', meaning: 'Spleen' }, algorithmType: 'MANUAL' };

function rtInput(series: LoadedSeries, labelMap: Uint8Array, segments: SegmentDefinition[], overrides: Partial<RtStructInput> = {}): RtStructInput {
  return {
    sources: series.datasets,
    order: series.order,
    labelMap,
    segments,
    seriesDescription: 'Contour structures',
    softwareVersions: '0.1.0',
    uidSeed: 'rtstruct-spec',
    contentDateTime: new Date(2024, 4, 6, 7, 8, 9),
    ...overrides,
  };
}

function expectValid(file: Buffer) {
  const { errors, warnings } = dciodvfy(file);
  expect(errors).toEqual([]);
  expect(warnings.filter((w) => !ACCEPTED_WARNINGS.some((a) => a.test(w)))).toEqual([]);
}

const numbersOf = (v: unknown) => (v as (number | string)[]).map(Number);

/** Patient LPS points of a contour -> pixel-centre coordinates (i, j) on slice k. */
function toPixels(series: LoadedSeries, k: number, points: number[]): number[][] {
  const ds = series.slice(k);
  const ipp = numbersOf(ds.ImagePositionPatient);
  const iop = numbersOf(ds.ImageOrientationPatient);
  const [rowSpacing, columnSpacing] = numbersOf(ds.PixelSpacing);
  const out: number[][] = [];
  for (let p = 0; p < points.length; p += 3) {
    const d = [points[p] - ipp[0], points[p + 1] - ipp[1], points[p + 2] - ipp[2]];
    out.push([(d[0] * iop[0] + d[1] * iop[1] + d[2] * iop[2]) / columnSpacing, (d[0] * iop[3] + d[1] * iop[4] + d[2] * iop[5]) / rowSpacing]);
  }
  return out;
}

/** Millimetre area of a planar contour, via its in-plane coordinates. */
const areaMm2 = (series: LoadedSeries, k: number, points: number[]) => {
  const [rowSpacing, columnSpacing] = numbersOf(series.slice(k).PixelSpacing);
  return Math.abs(shoelaceArea(toPixels(series, k, points))) * rowSpacing * columnSpacing;
};

/** Rebuilds a label map from pydicom's reading of the structure set (even-odd fill per ROI and slice). */
function rasterize(series: LoadedSeries, rt: ReturnType<typeof pydicomRt>, labelOfRoi: Map<number, number>): Uint8Array {
  const [nx, ny, nz] = series.dims;
  const out = new Uint8Array(nx * ny * nz);
  for (const roi of rt.contours) {
    for (let k = 0; k < nz; k++) {
      const polygons = roi.contours.filter((c) => c.image === series.order[k]).map((c) => toPixels(series, k, c.points));
      if (!polygons.length) continue;
      const filled = rasterizeEvenOdd(polygons, nx, ny);
      for (let p = 0; p < nx * ny; p++) if (filled[p]) out[k * nx * ny + p] = labelOfRoi.get(roi.roi)!;
    }
  }
  return out;
}

describe('writeRtStruct on the 3 real CT slices', () => {
  test('a 40x40-pixel square gives one 4-point contour whose area is 40² pixels in mm², on the right image', () => {
    const map = new Uint8Array(NX * NY * NZ);
    const [i0, j0, size, k] = [200, 150, 40, 1];
    for (let j = j0; j < j0 + size; j++) for (let i = i0; i < i0 + size; i++) map[i + NX * (j + NY * k)] = 2;
    const file = writeRtStruct(rtInput(CT, map, [GTV]));
    expectValid(file);

    const rt = pydicomRt(file);
    expect(rt.sopClassUid).toBe(RT_STRUCTURE_SET_STORAGE);
    expect(rt.modality).toBe('RTSTRUCT');
    expect(rt.rois).toEqual([{ number: 1, name: 'GTV', frameOfReference: CT.slice(0).FrameOfReferenceUID, algorithm: 'AUTOMATIC' }]);
    expect(rt.referencedFrameOfReference).toBe(CT.slice(0).FrameOfReferenceUID);
    expect([...rt.contourImages].sort()).toEqual([...CT.order].sort());
    expect(rt.observations).toEqual([{ roi: 1, interpretedType: 'GTV' }]);
    expect(rt.contours).toHaveLength(1);
    expect(rt.contours[0].color).toEqual([255, 0, 0]);
    const [contour, ...more] = rt.contours[0].contours;
    expect(more).toEqual([]);
    expect(contour.type).toBe('CLOSED_PLANAR');
    expect(contour.image).toBe(CT.order[k]);
    expect(contour.count).toBe(4);

    const ps = numbersOf(CT.slice(k).PixelSpacing);
    const ipp = numbersOf(CT.slice(k).ImagePositionPatient);
    const expected = size * size * ps[0] * ps[1];
    const onePixelPerimeter = 4 * size * ps[0] * ps[1];
    const area = areaMm2(CT, k, contour.points);
    expect(Math.abs(area - expected)).toBeLessThan(onePixelPerimeter);
    // Tracing along pixel edges makes it exact, up to the 0.1 µm rounding of the coordinates.
    expect(area).toBeCloseTo(expected, 2);
    // All points on the slice's plane; x spans the square's outer pixel edges.
    const xs = contour.points.filter((_, n) => n % 3 === 0);
    expect(contour.points.filter((_, n) => n % 3 === 2).every((z) => Math.abs(z - ipp[2]) < 1e-3)).toBe(true);
    expect(Math.min(...xs)).toBeCloseTo(ipp[0] + (i0 - 0.5) * ps[1], 3);
    expect(Math.max(...xs)).toBeCloseTo(ipp[0] + (i0 + size - 0.5) * ps[1], 3);
  });

  test('a ring (outer boundary + hole) and two separate squares come back pixel for pixel through pydicom', () => {
    const map = new Uint8Array(NX * NY * NZ);
    for (const k of [0, 1]) {
      for (let j = 0; j < NY; j++) {
        for (let i = 0; i < NX; i++) {
          const r2 = (i - 256) ** 2 + (j - 240) ** 2;
          if (r2 <= (60 - 5 * k) ** 2 && r2 > 30 ** 2) map[i + NX * (j + NY * k)] = 1;
        }
      }
    }
    for (const [i0, j0] of [[50, 50], [400, 420]]) for (let j = j0; j < j0 + 12; j++) for (let i = i0; i < i0 + 9; i++) map[i + NX * (j + NY * 2)] = 2;
    const file = writeRtStruct(rtInput(CT, map, [ORGAN, GTV, ABSENT]));
    expectValid(file);

    const rt = pydicomRt(file);
    expect(rt.rois.map((r) => r.name)).toEqual(['Ring', 'GTV', 'Spleen']);
    const ring = rt.contours.find((c) => c.roi === 1)!.contours;
    // Slices 0 and 1: an outer outline and a hole each.
    expect(ring.map((c) => c.image)).toEqual([CT.order[0], CT.order[0], CT.order[1], CT.order[1]]);
    const gtv = rt.contours.find((c) => c.roi === 2)!.contours;
    expect(gtv.map((c) => [c.image, c.count])).toEqual([[CT.order[2], 4], [CT.order[2], 4]]);
    expect(gtv.map((c) => areaMm2(CT, 2, c.points))).toEqual([expect.closeTo(108 * 0.810547 ** 2, 2), expect.closeTo(108 * 0.810547 ** 2, 2)]);
    // The absent label keeps its ROI, with no contours.
    expect(rt.contours.find((c) => c.roi === 3)!.contours).toEqual([]);

    const back = rasterize(CT, rt, new Map([[1, 1], [2, 2], [3, 3]]));
    expect(Buffer.from(back).equals(Buffer.from(map))).toBe(true);
  });

  test('an empty map, or one of the wrong size, is refused', () => {
    expect(() => writeRtStruct(rtInput(CT, new Uint8Array(NX * NY * NZ), [ORGAN]))).toThrow('The label map has no voxel of any segment (1 "Ring"): there is no contour to write');
    expect(() => writeRtStruct(rtInput(CT, new Uint8Array(NX * NY * 2), [ORGAN]))).toThrow('The label map has 2 slices but the series has 3');
    expect(() => writeRtStruct(rtInput(CT, new Uint8Array(NX * NY * NZ).fill(1, 0, 10), [ORGAN], { structureSetLabel: 'A LABEL LONGER THAN 16' }))).toThrow(
      'The structure set label "A LABEL LONGER THAN 16" is 22 characters long; DICOM allows at most 16',
    );
  });
});

describe('writeRtStruct on a 12-slice synthetic CT phantom', () => {
  const { files } = ctPhantomSeries({ patient: { name: 'Phantom^Rt', id: 'RT-PHANTOM' }, seed: 'rtstruct-spec/phantom', slices: 12, rows: 96, columns: 96, pixelSpacing: 3.5, shuffle: true });
  const series = seriesFromBuffers(files);
  const [nx, ny, nz] = series.dims;

  test('the vertebral body (a 18 mm disc) is one contour per slice of about π·18² mm²', () => {
    // The phantom's vertebra: centre 70 mm below the image centre, radius 18 mm.
    const map = new Uint8Array(nx * ny * nz);
    const centre = (nx - 1) / 2;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) if (((i - centre) * 3.5) ** 2 + ((j - centre) * 3.5 - 70) ** 2 <= 18 ** 2) map[i + nx * (j + ny * k)] = 1;
    }
    const file = writeRtStruct(rtInput(series, map, [{ ...ORGAN, label: 'Vertebra', rtRoiInterpretedType: 'AVOIDANCE' }]));
    expectValid(file);
    const rt = pydicomRt(file);
    const contours = rt.contours[0].contours;
    expect(contours.map((c) => c.image)).toEqual(series.order);
    const perimeterTimesPixel = 2 * Math.PI * 18 * 3.5;
    for (const [k, c] of contours.entries()) {
      expect(Math.abs(areaMm2(series, k, c.points) - Math.PI * 18 ** 2)).toBeLessThan(perimeterTimesPixel);
      // z of every point is the slice's own z.
      const z = numbersOf(series.slice(k).ImagePositionPatient)[2];
      expect(c.points.filter((_, n) => n % 3 === 2).every((v) => Math.abs(v - z) < 1e-3)).toBe(true);
    }
    expect(Buffer.from(rasterize(series, rt, new Map([[1, 1]]))).equals(Buffer.from(map))).toBe(true);
  });
});
