// The acquisition plane of a series from its slice normal: the three patient axes either way round, scanner
// noise, tilted ("oblique axial") series on both sides of the threshold, true obliques, and series with no
// through-plane geometry. Normals are DICOM LPS; the image orientations are what scanners write.
import { cross, type Vec3 } from './affine';
import { computeSeriesGeometry, type InstanceGeometry } from './series-geometry';
import { OBLIQUE_DEGREES, seriesPlane, slicePlane, type SlicePlane } from './slice-plane';

const deg = (d: number) => (d * Math.PI) / 180;
/** An axial normal tilted by `d` degrees towards posterior (about the patient's left-right axis). */
const tiltedAxial = (d: number): Vec3 => [0, Math.sin(deg(d)), Math.cos(deg(d))];
const normalOf = (iop: number[]) => cross(iop.slice(0, 3), iop.slice(3, 6));

describe('slicePlane', () => {
  test.each<[string, readonly number[], SlicePlane]>([
    ['axial, feet to head', [0, 0, 1], 'axial'],
    ['axial, head to feet', [0, 0, -1], 'axial'],
    ['coronal (IOP 1,0,0 / 0,0,-1)', normalOf([1, 0, 0, 0, 0, -1]), 'coronal'],
    ['coronal, anterior to posterior', [0, -1, 0], 'coronal'],
    ['sagittal (IOP 0,1,0 / 0,0,-1)', normalOf([0, 1, 0, 0, 0, -1]), 'sagittal'],
    ['sagittal, right to left', [1, 0, 0], 'sagittal'],
    ['axial with scanner noise (the Siemens MPRAGE of the test data, IOP 1,-2e-10,0 / 2e-10,1,0)', normalOf([1, -2.051034e-10, 0, 2.051034e-10, 1, 0]), 'axial'],
    ['not unit length', [0, 0, 7.5], 'axial'],
    ['axial tilted 20° onto the AC-PC line', tiltedAxial(20), 'axial'],
    ['axial tilted 29.9°', tiltedAxial(29.9), 'axial'],
    ['tilted 30.1°: oblique', tiltedAxial(30.1), 'oblique'],
    ['tilted 61°: within 29° of coronal', tiltedAxial(61), 'coronal'],
    ['halfway between axial and coronal (45°)', tiltedAxial(45), 'oblique'],
    ['double oblique (30° about z, then 20° about the new row)', normalOf([Math.cos(deg(30)), Math.sin(deg(30)), 0, -Math.sin(deg(30)) * Math.cos(deg(20)), Math.cos(deg(30)) * Math.cos(deg(20)), Math.sin(deg(20))]), 'axial'],
    ['the body diagonal (54.7° from every axis)', [1, 1, 1], 'oblique'],
    ['sagittal tilted 25° towards coronal (a spine along its curve)', [Math.cos(deg(25)), Math.sin(deg(25)), 0], 'sagittal'],
  ])('%s', (_name, normal, plane) => {
    expect(slicePlane(normal)).toBe(plane);
  });

  test.each<[number, SlicePlane]>([
    [10, 'oblique'],
    [25, 'axial'],
  ])('the threshold is an option: 20° tilt with %s° reads %s', (threshold, plane) => {
    expect(slicePlane(tiltedAxial(20), threshold)).toBe(plane);
    expect(OBLIQUE_DEGREES).toBe(30);
  });

  test.each([
    ['zero', [0, 0, 0]],
    ['NaN', [0, Number.NaN, 1]],
    ['too short', [0, 1]],
  ])('a %s normal is refused with a reason', (_name, normal) => {
    expect(() => slicePlane(normal)).toThrow(/slice normal must be three finite numbers.*Image Orientation/);
  });
});

describe('seriesPlane', () => {
  const slices = (iop: number[], positioned = true): InstanceGeometry[] => {
    const n = normalOf(iop);
    return [0, 1, 2].map((k) => ({
      id: `s${k}`,
      imageOrientationPatient: iop,
      imagePositionPatient: positioned ? n.map((v) => v * 3 * k) : undefined,
      pixelSpacing: [1, 1],
      rows: 4,
      columns: 4,
      numberOfFrames: 1,
      instanceNumber: k + 1,
    }));
  };

  test.each<[string, InstanceGeometry[], SlicePlane | null]>([
    ['an axial stack', slices([1, 0, 0, 0, 1, 0]), 'axial'],
    ['a coronal stack', slices([1, 0, 0, 0, 0, -1]), 'coronal'],
    ['a sagittal stack', slices([0, 1, 0, 0, 0, -1]), 'sagittal'],
    ['one image (its normal says nothing about how a volume was sliced)', slices([0, 1, 0, 0, 0, -1]).slice(0, 1), null],
    ['a stack without positions (2D)', slices([0, 1, 0, 0, 0, -1], false), null],
    ['an image without orientation (a mammogram: the default normal is no plane)', [{ id: 'mg', rows: 8, columns: 8, numberOfFrames: 1 }], null],
  ])('%s', (_name, records, plane) => {
    expect(seriesPlane(computeSeriesGeometry(records))).toBe(plane);
  });

  test('a stored geometry without a direction (an uploaded NIfTI volume) has no plane', () => {
    expect(seriesPlane({ kind: 'volume' })).toBeNull();
    expect(seriesPlane({ kind: 'volume', direction: { normal: [0, 0, 0] } })).toBeNull();
  });
});
