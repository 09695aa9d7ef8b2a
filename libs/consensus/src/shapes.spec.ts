import { polygonIoU, shapeAgreement, shapeSimilarity, ShapeLike } from './shapes';

const box = (x0: number, y0: number, x1: number, y1: number, label = 1, slice = 0): ShapeLike => ({ kind: 'box', label, slice, box: [x0, y0, x1, y1] });
const pt = (x: number, y: number, label = 1, slice = 0): ShapeLike => ({ kind: 'point', label, slice, point: [x, y] });
const square = (x: number, y: number, s: number): ShapeLike => ({ kind: 'polygon', label: 1, slice: 0, points: [[x, y], [x + s, y], [x + s, y + s], [x, y + s]] });

describe('shapeSimilarity', () => {
  it.each([
    ['identical boxes', box(0, 0, 10, 10), box(0, 0, 10, 10), 1, true],
    ['half-overlapping boxes (IoU 1/3)', box(0, 0, 10, 10), box(5, 0, 15, 10), 1 / 3, false],
    ['boxes at IoU 0.6', box(0, 0, 10, 10), box(0, 0, 10, 6), 0.6, true],
    ['boxes on different slices', box(0, 0, 10, 10), box(0, 0, 10, 10, 1, 1), 0, false],
    ['boxes of different labels', box(0, 0, 10, 10), box(0, 0, 10, 10, 2), 0, false],
    ['a box and a point', box(0, 0, 10, 10), pt(5, 5), 0, false],
    ['the same point', pt(3, 4), pt(3, 4), 1, true],
    ['points 5 px apart (the radius)', pt(0, 0), pt(3, 4), 0.5, true],
    ['points 6 px apart', pt(0, 0), pt(6, 0), 0, false],
    ['identical squares', square(0, 0, 10), square(0, 0, 10), 1, true],
    ['squares overlapping by half', square(0, 0, 10), square(5, 0, 10), 1 / 3, false],
  ])('%s', (_name, a, b, similarity, match) => {
    const r = shapeSimilarity(a, b);
    expect(r.similarity).toBeCloseTo(similarity, 2);
    expect(r.match).toBe(match);
  });

  it('shapes on different images never match', () => {
    expect(shapeSimilarity({ ...pt(1, 1), image: 'a' }, { ...pt(1, 1), image: 'b' }).match).toBe(false);
  });

  it('options change the thresholds', () => {
    expect(shapeSimilarity(pt(0, 0), pt(6, 0), { pointRadius: 10 }).match).toBe(true);
    expect(shapeSimilarity(box(0, 0, 10, 10), box(5, 0, 15, 10), { minIoU: 0.3 }).match).toBe(true);
  });
});

describe('polygonIoU', () => {
  it.each([
    ['a triangle inside its square (half the area)', [[0, 0], [10, 0], [10, 10], [0, 10]], [[0, 0], [10, 0], [10, 10]], 0.5],
    ['disjoint squares', [[0, 0], [1, 0], [1, 1], [0, 1]], [[5, 5], [6, 5], [6, 6], [5, 6]], 0],
    ['a small square and one 4x its area around it', [[0, 0], [2, 0], [2, 2], [0, 2]], [[0, 0], [4, 0], [4, 4], [0, 4]], 0.25],
  ])('%s', (_name, a, b, iou) => {
    expect(polygonIoU(a, b)).toBeCloseTo(iou, 2);
  });
});

describe('shapeAgreement', () => {
  it('readers who drew nothing agree', () => {
    const r = shapeAgreement([[], [], []]);
    expect(r.agreement).toBe(1);
    expect(r.merged).toEqual([]);
  });

  it('one reader finds a lesion the other does not: agreement 0, nothing merged with two readers', () => {
    const r = shapeAgreement([[box(0, 0, 10, 10)], []]);
    expect(r.agreement).toBe(0);
    expect(r.merged).toEqual([]);
    expect(r.disputed).toHaveLength(1);
  });

  it('three readers, one box each, slightly different: averaged', () => {
    const r = shapeAgreement([[box(10, 10, 20, 20)], [box(11, 10, 21, 20)], [box(10, 11, 20, 21)]]);
    // IoU 0.818 (1 vs 2), 0.818 (1 vs 3), 0.681 (2 vs 3)
    expect(r.agreement).toBeCloseTo((90 / 110 + 90 / 110 + 81 / 119) / 3, 6);
    expect(r.merged).toHaveLength(1);
    expect(r.merged[0].box).toEqual([10.33, 10.33, 20.33, 20.33]);
    expect(r.mergedInfo[0].readers).toBe(3);
  });

  it('majority: a finding two of three readers marked is kept, the one-reader finding is disputed', () => {
    const r = shapeAgreement([[pt(5, 5), pt(50, 50)], [pt(6, 5)], [pt(80, 80)]]);
    expect(r.merged).toEqual([{ kind: 'point', label: 1, slice: 0, point: [5.5, 5] }]);
    expect(r.disputed.map((d) => d.shape.point)).toEqual([[50, 50], [80, 80]]);
    // pairs: (0,1): one match of similarity 0.9 over a mean of 1.5 shapes; (0,2) and (1,2): 0
    expect(r.pairs.map((p) => Math.round(p[2] * 1000) / 1000)).toEqual([0.6, 0, 0]);
    expect(r.agreement).toBeCloseTo(0.2, 3);
  });

  it('a cluster holds at most one shape per reader', () => {
    // Reader 0 drew two overlapping boxes; reader 1 one box matching both: only one of reader 0's joins it.
    const r = shapeAgreement([[box(0, 0, 10, 10), box(1, 0, 11, 10)], [box(0, 0, 10, 10)]]);
    expect(r.mergedInfo.map((m) => m.readers).sort()).toEqual([2]);
    expect(r.disputed).toHaveLength(1);
    expect(r.disputed[0].shape.box).toEqual([1, 0, 11, 10]);
  });

  it('per-label agreement', () => {
    const r = shapeAgreement([[box(0, 0, 10, 10, 1), pt(5, 5, 2)], [box(0, 0, 10, 10, 1), pt(40, 40, 2)]]);
    expect(r.labels).toEqual([
      { label: 1, agreement: 1, counts: [1, 1] },
      { label: 2, agreement: 0, counts: [1, 1] },
    ]);
    expect(r.agreement).toBeCloseTo(0.5, 5);
  });

  it('polygon clusters keep the member closest to the others', () => {
    const r = shapeAgreement([[square(0, 0, 10)], [square(1, 0, 10)], [square(2, 0, 10)]]);
    expect(r.merged).toEqual([square(1, 0, 10)]);
  });

  it('a single reader: agreement 1, the reads themselves are the merge', () => {
    const r = shapeAgreement([[box(0, 0, 5, 5), pt(1, 1)]]);
    expect(r.agreement).toBe(1);
    expect(r.merged).toHaveLength(2);
  });
});
