// Series geometry on hand-built slices: every orientation, every order, and every QC problem, with the expected
// grid written out by hand.
import { column, lpsToRas, type Vec3 } from './affine';
import { orientationOf } from './orientation';
import { computeSeriesGeometry, frameSources, sliceSources, storedGeometry, type GeometryIssueCode, type InstanceGeometry } from './series-geometry';

const AXIAL = [1, 0, 0, 0, 1, 0];
const SAGITTAL = [0, 1, 0, 0, 0, -1];
const CORONAL = [1, 0, 0, 0, 0, -1];
// Rotated 30° about z, then tilted 20° about the new row axis: a plane no scanner axis is aligned with.
const c30 = Math.cos(Math.PI / 6);
const s30 = Math.sin(Math.PI / 6);
const c20 = Math.cos(Math.PI / 9);
const s20 = Math.sin(Math.PI / 9);
const OBLIQUE = [c30, s30, 0, -s30 * c20, c30 * c20, s20];

const cross = (a: number[], b: number[]): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const normalOf = (iop: number[]) => cross(iop.slice(0, 3), iop.slice(3, 6));

interface StackSpec {
  iop?: number[];
  /** Distances along the normal, one per slice, in instance-number order. */
  at?: number[];
  origin?: Vec3;
  /** Extra in-plane offset per slice index (gantry tilt), LPS mm. */
  shear?: Vec3;
  pixelSpacing?: number[];
  rows?: number;
  columns?: number;
  /** Input order of the records (indexes into the stack). */
  inputOrder?: number[];
  tweak?: (slices: InstanceGeometry[]) => void;
}

/** Slices s0, s1, ... with InstanceNumber 1, 2, ... placed at `at` mm along the plane normal. */
function stack(spec: StackSpec = {}): InstanceGeometry[] {
  const iop = spec.iop ?? AXIAL;
  const n = normalOf(iop);
  const at = spec.at ?? [0, 2.5, 5, 7.5, 10];
  const origin = spec.origin ?? [-100, -120, 30];
  const slices: InstanceGeometry[] = at.map((d, i) => ({
    id: `s${i}`,
    imagePositionPatient: [0, 1, 2].map((a) => origin[a] + n[a] * d + (spec.shear?.[a] ?? 0) * i),
    imageOrientationPatient: [...iop],
    pixelSpacing: spec.pixelSpacing ?? [0.7, 0.5],
    sliceThickness: 2.5,
    rows: spec.rows ?? 4,
    columns: spec.columns ?? 3,
    numberOfFrames: 1,
    instanceNumber: i + 1,
  }));
  spec.tweak?.(slices);
  return spec.inputOrder ? spec.inputOrder.map((i) => slices[i]) : slices;
}

interface Expectation {
  kind?: string;
  dims?: number[];
  spacing?: number[];
  order?: string[];
  frames?: number[];
  origin?: number[];
  code?: string;
  normal?: number[];
  issues?: GeometryIssueCode[];
  kColumn?: number[];
}

const cases: [string, InstanceGeometry[], Expectation][] = [
  ['axial, ascending', stack(), { kind: 'volume', dims: [3, 4, 5], spacing: [0.5, 0.7, 2.5], order: ['s0', 's1', 's2', 's3', 's4'], origin: [-100, -120, 30], code: 'LPS', normal: [0, 0, 1], issues: [] }],
  ['axial, numbered against the normal (reversed)', stack({ at: [10, 7.5, 5, 2.5, 0] }), { order: ['s4', 's3', 's2', 's1', 's0'], origin: [-100, -120, 30], spacing: [0.5, 0.7, 2.5], issues: [] }],
  ['axial, files in shuffled order', stack({ inputOrder: [3, 0, 4, 1, 2] }), { order: ['s0', 's1', 's2', 's3', 's4'], issues: [] }],
  ['sagittal', stack({ iop: SAGITTAL }), { dims: [3, 4, 5], code: 'PIR', normal: [-1, 0, 0], order: ['s0', 's1', 's2', 's3', 's4'], issues: [] }],
  ['coronal', stack({ iop: CORONAL, at: [5, 2.5, 0] }), { dims: [3, 4, 3], code: 'LIP', normal: [0, 1, 0], order: ['s2', 's1', 's0'], issues: [] }],
  ['oblique', stack({ iop: OBLIQUE, at: [0, 3, 6, 9] }), { spacing: [0.5, 0.7, 3], order: ['s0', 's1', 's2', 's3'], normal: normalOf(OBLIQUE), kColumn: normalOf(OBLIQUE).map((v) => v * 3), issues: [] }],
  [
    'noise below the tolerances (2e-10 cosines, 1 µm jitter)',
    stack({ iop: [1, -2.05e-10, 0, 2.05e-10, 1, 0], at: [0, 2.501, 4.999, 7.5, 10.001] }),
    { spacing: [0.5, 0.7, 2.501], issues: [] },
  ],
  ['gap: one slice missing', stack({ at: [0, 2.5, 5, 10, 12.5] }), { spacing: [0.5, 0.7, 2.5], order: ['s0', 's1', 's2', 's3', 's4'], issues: ['missing-slices'] }],
  ['duplicate position', stack({ at: [0, 2.5, 2.5, 5, 7.5] }), { dims: [3, 4, 5], issues: ['duplicate-position'] }],
  ['uneven spacing (4%)', stack({ at: [0, 2.5, 5, 7.6, 10.1] }), { issues: ['uneven-spacing'] }],
  ['tilted gantry (15°)', stack({ shear: [0, 2.5 * Math.tan(Math.PI / 12), 0] }), { spacing: [0.5, 0.7, 2.5], kColumn: [0, 2.5 * Math.tan(Math.PI / 12), 2.5], issues: ['gantry-tilt'] }],
  ['mixed sizes', stack({ tweak: (s) => ((s[2].rows = 5), (s[2].columns = 5)) }), { issues: ['mixed-dimensions'] }],
  ['mixed orientation', stack({ tweak: (s) => (s[4].imageOrientationPatient = [Math.cos(0.05), Math.sin(0.05), 0, -Math.sin(0.05), Math.cos(0.05), 0]) }), { issues: ['mixed-orientation'] }],
  ['mixed pixel spacing', stack({ tweak: (s) => (s[1].pixelSpacing = [0.8, 0.8]) }), { issues: ['mixed-pixel-spacing'] }],
  [
    'some slices without position',
    stack({ tweak: (s) => delete s[1].imagePositionPatient }),
    { kind: 'multi-frame-2d', order: ['s0', 's1', 's2', 's3', 's4'], issues: ['missing-position'] },
  ],
  ['single slice', stack({ at: [4] }), { kind: 'single-image', dims: [3, 4, 1], spacing: [0.5, 0.7, 2.5], order: ['s0'], origin: [-100, -120, 34], issues: [] }],
  [
    'multi-frame cine without positions (US)',
    [{ id: 'us', rows: 240, columns: 320, numberOfFrames: 8 }],
    { kind: 'multi-frame-2d', dims: [320, 240, 8], spacing: [1, 1, 1], frames: [0, 1, 2, 3, 4, 5, 6, 7], issues: [] },
  ],
  [
    'enhanced multi-frame, frames stored against the normal',
    [
      {
        id: 'enh',
        rows: 4,
        columns: 3,
        numberOfFrames: 3,
        pixelSpacing: [0.7, 0.5],
        imageOrientationPatient: AXIAL,
        frames: [{ imagePositionPatient: [0, 0, 20] }, { imagePositionPatient: [0, 0, 10] }, { imagePositionPatient: [0, 0, 0] }],
      },
    ],
    { kind: 'multi-frame-volume', dims: [3, 4, 3], spacing: [0.5, 0.7, 10], frames: [2, 1, 0], origin: [0, 0, 0], issues: [] },
  ],
  [
    'enhanced multi-frame, every frame at the same place (cine)',
    [{ id: 'cine', rows: 4, columns: 3, numberOfFrames: 3, imageOrientationPatient: AXIAL, frames: [0, 1, 2].map(() => ({ imagePositionPatient: [1, 2, 3] })) }],
    { kind: 'multi-frame-2d', frames: [0, 1, 2], issues: [] },
  ],
];

describe('computeSeriesGeometry', () => {
  test.each(cases)('%s', (_name, slices, expected) => {
    const g = computeSeriesGeometry(slices);
    if (expected.kind) expect(g.kind).toBe(expected.kind);
    if (expected.dims) expect(g.dims).toEqual(expected.dims);
    if (expected.spacing) g.spacing.forEach((v, i) => expect(v).toBeCloseTo(expected.spacing![i], 3));
    if (expected.order) expect(g.order).toEqual(expected.order);
    if (expected.frames) expect(g.slices.map((s) => s.frame)).toEqual(expected.frames);
    if (expected.origin) g.origin.forEach((v, i) => expect(v).toBeCloseTo(expected.origin![i], 6));
    if (expected.code) expect(orientationOf(g.affineRas)).toBe(expected.code);
    if (expected.normal) g.direction.normal.forEach((v, i) => expect(v).toBeCloseTo(expected.normal![i], 9));
    if (expected.kColumn) column(g.affineLps, 2).forEach((v, i) => expect(v).toBeCloseTo(expected.kColumn![i], 6));
    if (expected.issues) expect(g.issues.map((i) => i.code).sort()).toEqual([...expected.issues].sort());
    // Invariants of every grid: RAS is LPS with x and y negated; issues carry a sentence.
    expect(g.affineRas).toEqual(lpsToRas(g.affineLps));
    for (const issue of g.issues) expect(issue.message.length).toBeGreaterThan(40);
  });

  test('voxel (i, j, k) of the affine lands on the slice positions and pixel centres', () => {
    const g = computeSeriesGeometry(stack({ iop: OBLIQUE, at: [6, 0, 3, 9], inputOrder: [2, 0, 3, 1] }));
    const slices = stack({ iop: OBLIQUE, at: [6, 0, 3, 9] });
    g.slices.forEach((s, k) => {
      const expectedPos = slices.find((x) => x.id === s.id)!.imagePositionPatient!;
      const p = [0, 1, 2].map((r) => g.affineLps[r][2] * k + g.affineLps[r][3]);
      p.forEach((v, r) => expect(v).toBeCloseTo(expectedPos[r], 9));
    });
    // One column step (i + 1) moves by PixelSpacing[1] along the row cosine.
    [0, 1, 2].forEach((r) => expect(g.affineLps[r][0]).toBeCloseTo(OBLIQUE[r] * 0.5, 12));
    [0, 1, 2].forEach((r) => expect(g.affineLps[r][1]).toBeCloseTo(OBLIQUE[3 + r] * 0.7, 12));
  });

  test('a gap issue says how many slices are missing and where', () => {
    const g = computeSeriesGeometry(stack({ at: [0, 2.5, 5, 12.5, 15] }));
    const gap = g.issues.find((i) => i.code === 'missing-slices')!;
    expect(gap.details).toMatchObject({ gaps: 1, missingSlices: 2 });
    expect(gap.ids).toEqual(['s2', 's3']);
    expect(gap.message).toMatch(/About 2 slice\(s\) seem to be missing.*between s2 and s3/);
  });

  test.each([
    ['unevenSpacing', { unevenSpacing: 0.05 }, stack({ at: [0, 2.5, 5, 7.6, 10.1] }), 'uneven-spacing'],
    ['gapFactor', { gapFactor: 2.5 }, stack({ at: [0, 2.5, 5, 10, 12.5] }), 'missing-slices'],
    ['tiltDegrees', { tiltDegrees: 20 }, stack({ shear: [0, 2.5 * Math.tan(Math.PI / 12), 0] }), 'gantry-tilt'],
    ['orientation', { orientation: 0.1 }, stack({ tweak: (s) => (s[4].imageOrientationPatient = [Math.cos(0.05), Math.sin(0.05), 0, -Math.sin(0.05), Math.cos(0.05), 0]) }), 'mixed-orientation'],
  ] as const)('the %s tolerance is an option', (_name, tolerances, slices, code) => {
    expect(computeSeriesGeometry(slices).issues.map((i) => i.code)).toContain(code);
    expect(computeSeriesGeometry(slices, tolerances).issues.map((i) => i.code)).not.toContain(code);
  });

  test('an empty series is refused with a reason', () => {
    expect(() => computeSeriesGeometry([])).toThrow(/no images/);
  });
});

describe('storedGeometry and sliceSources: the source frame of each slice, for DICOM SEG and RTSTRUCT', () => {
  const enhanced: InstanceGeometry = {
    id: 'enh',
    rows: 4,
    columns: 3,
    numberOfFrames: 3,
    imageOrientationPatient: AXIAL,
    pixelSpacing: [0.7, 0.5],
    frames: [{ imagePositionPatient: [0, 0, 20] }, { imagePositionPatient: [0, 0, 10] }, { imagePositionPatient: [0, 0, 0] }],
  };
  test.each([
    ['single-frame slices: ids in slice order, no frame numbers', stack({ at: [3, 0, 6], inputOrder: [1, 2, 0] }), undefined, undefined],
    ['an enhanced volume stored against the normal: the frames in slice order', [enhanced], ['enh', 'enh', 'enh'], [3, 2, 1]],
  ])('%s', (_name, records, ids, frames) => {
    const g = computeSeriesGeometry(records);
    const stored = storedGeometry(g);
    expect('slices' in stored).toBe(false);
    expect(stored.frames).toEqual(frames);
    // The stored record (no slices) and the full geometry name the same sources.
    expect(sliceSources(stored)).toEqual(sliceSources(g));
    expect(sliceSources(stored)).toEqual({ ids: ids ?? g.order, ...(frames ? { frames } : {}) });
  });
});

describe('frameSources: the source frames of a task drawn on one instance', () => {
  test.each([
    ['a single-frame image', null, 1, 1, { ids: ['i'] }],
    ['a whole 8-frame cine', null, 8, 8, { ids: new Array(8).fill('i'), frames: [1, 2, 3, 4, 5, 6, 7, 8] }],
    ['frames 3..5 (0-based 2..4) of a cine', 2, 3, 8, { ids: ['i', 'i', 'i'], frames: [3, 4, 5] }],
    ['one frame of a cine', 6, 1, 8, { ids: ['i'], frames: [7] }],
  ])('%s', (_name, first, count, instanceFrames, expected) => {
    expect(frameSources('i', first, count, instanceFrames)).toEqual(expected);
  });
});
