// Colour conversion checked against published values: the CIE L*a*b* of the sRGB primaries (D65), and the
// Recommended Display CIELab Value dcmqi wrote for 3D Slicer's liver colour (221, 130, 101) in the reference
// SEG of the test data.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDicom } from '@contour/dicom';
import { DATA } from '../test/tools';
import { dicomLabToHex, hexToDicomLab, labToRgb, parseHexColor, rgbToLab } from './color';

describe('sRGB -> CIELab -> DICOM', () => {
  test.each([
    // colour, L*, a*, b* (sRGB, D65, as tabulated by Bruce Lindbloom's calculator / colormine)
    ['#ff0000', 53.2408, 80.0925, 67.2032],
    ['#00ff00', 87.7347, -86.1827, 83.1793],
    ['#0000ff', 32.297, 79.1875, -107.8602],
    ['#808080', 53.585, 0, 0],
  ])('%s has the published L*a*b*', (hex, L, a, b) => {
    const lab = rgbToLab(parseHexColor(hex));
    expect(lab[0]).toBeCloseTo(L, 2);
    expect(lab[1]).toBeCloseTo(a, 2);
    expect(lab[2]).toBeCloseTo(b, 2);
  });

  test('white and black scale to the ends of the DICOM range, neutral a*, b* to the middle', () => {
    expect(hexToDicomLab('#ffffff')).toEqual([65535, 32896, 32896]);
    expect(hexToDicomLab('#000000')).toEqual([0, 32896, 32896]);
  });

  test('red: L* 53.2408 -> 34891, a* 80.0925 -> 53480, b* 67.2032 -> 50167', () => {
    expect(hexToDicomLab('#ff0000')).toEqual([34891, 53480, 50167]);
  });

  test('Slicer liver colour matches what dcmqi wrote into the reference SEG (within rounding of the white point)', () => {
    const ref = readDicom(fs.readFileSync(path.join(DATA, 'dicom/segmentations/ct-3slice-liver-seg.dcm')));
    const written: number[] = ref.dataset.SegmentSequence[0].RecommendedDisplayCIELabValue;
    expect(written).toEqual([41661, 41167, 40792]);
    hexToDicomLab('#dd8265').forEach((v, i) => expect(Math.abs(v - written[i])).toBeLessThanOrEqual(4));
    expect(dicomLabToHex(written)).toBe('#dd8265');
  });

  test('every colour of a coarse sRGB grid survives hex -> DICOM Lab -> hex', () => {
    for (let r = 0; r <= 255; r += 51) {
      for (let g = 0; g <= 255; g += 51) {
        for (let b = 0; b <= 255; b += 51) {
          const hex = `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
          expect(dicomLabToHex(hexToDicomLab(hex))).toBe(hex);
        }
      }
    }
    expect(labToRgb(rgbToLab([12, 34, 56]))).toEqual([12, 34, 56]);
  });

  test('a malformed colour is rejected with the value in the message', () => {
    expect(() => hexToDicomLab('red')).toThrow('The colour "red" is not of the form #rrggbb');
  });
});
