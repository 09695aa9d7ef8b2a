import { checkShapes, polygonArea, ProtocolInput, questionAnswers, ShapeContext, ShapeError, shapesOf } from './index';

const ctx: ShapeContext = { labels: [1, 2], annotationTypes: ['bounding-box', 'point', 'polygon'], images: [{ id: 'img', dims: [100, 80, 3] }] };
const two: ShapeContext = { ...ctx, images: [{ id: 'a', dims: [100, 80, 1] }, { id: 'b', dims: [50, 50, 1] }] };

const problem = (raw: unknown, c: ShapeContext = ctx) => {
  try {
    checkShapes(raw, c);
  } catch (e) {
    expect(e).toBeInstanceOf(ShapeError);
    return (e as Error).message;
  }
  throw new Error('expected the shapes to be refused');
};

describe('checkShapes', () => {
  it.each([
    ['a box inside the image', [{ kind: 'box', label: 1, slice: 2, box: [0, 0, 100, 80] }]],
    ['a point on the far edge', [{ kind: 'point', label: 2, point: [100, 80] }]],
    ['a triangle', [{ kind: 'polygon', label: 1, points: [[1, 1], [10, 1], [5, 9]] }]],
    ['no shapes', []],
  ])('accepts %s', (_name, raw) => {
    const out = checkShapes(raw, ctx);
    expect(out).toHaveLength((raw as unknown[]).length);
    expect(out.every((s) => s.image === 'img' && s.slice >= 0)).toBe(true);
  });

  it('accepts nothing at all', () => {
    expect(checkShapes(undefined, ctx)).toEqual([]);
  });

  it.each([
    ['not a list', { kind: 'box' }, /shapes: Expected array|shapes: Invalid input: expected array/],
    ['an unknown kind', [{ kind: 'circle', label: 1 }], /shapes\[0\]\.kind/],
    ['a box with three numbers', [{ kind: 'box', label: 1, box: [1, 2, 3] }], /shapes\[0\]\.box/],
    ['an extra field', [{ kind: 'point', label: 1, point: [1, 1], colour: 'red' }], /shapes\[0\]/],
    ['a two-point polygon', [{ kind: 'polygon', label: 1, points: [[1, 1], [2, 2]] }], /at least 3 points/],
    ['an unknown label', [{ kind: 'box', label: 7, box: [1, 1, 2, 2] }], /shapes\[0\] \(box\): label 7 is not in the protocol \(labels 1, 2\)/],
    ['a reversed box', [{ kind: 'box', label: 1, box: [5, 5, 2, 9] }], /box \[5, 5, 2, 9\] is empty or reversed/],
    ['an empty box', [{ kind: 'box', label: 1, box: [5, 5, 5, 9] }], /is empty or reversed/],
    ['a box past the edge', [{ kind: 'box', label: 1, box: [50, 50, 101, 60] }], /goes outside the 100x80 image/],
    ['a negative point', [{ kind: 'point', label: 1, point: [-0.5, 3] }], /point \[-0.5, 3\] is outside the 100x80 image/],
    ['a slice past the end', [{ kind: 'point', label: 1, slice: 3, point: [1, 1] }], /slice 3 is outside the image's slices 0..2/],
    ['a flat polygon', [{ kind: 'polygon', label: 1, points: [[1, 1], [2, 2], [3, 3]] }], /encloses no area/],
    ['a polygon vertex outside', [{ kind: 'polygon', label: 1, points: [[1, 1], [200, 2], [3, 9]] }], /vertex 1 \[200, 2\] is outside/],
    ['an image of another task', [{ kind: 'point', label: 1, image: 'zzz', point: [1, 1] }], /image zzz is not one of this task's images/],
  ])('refuses %s', (_name, raw, message) => {
    expect(problem(raw)).toMatch(message);
  });

  it('refuses a shape kind the protocol does not use', () => {
    expect(problem([{ kind: 'point', label: 1, point: [1, 1] }], { ...ctx, annotationTypes: ['bounding-box'] })).toMatch(/no "point" annotation type \(it has bounding-box\)/);
  });

  it('lists every problem with its index', () => {
    const msg = problem([{ kind: 'box', label: 1, box: [1, 1, 2, 2] }, { kind: 'box', label: 9, box: [1, 1, 2, 2] }, { kind: 'point', label: 1, point: [500, 1] }]);
    expect(msg).toMatch(/^2 shapes are not valid/);
    expect(msg).toMatch(/shapes\[1\]/);
    expect(msg).toMatch(/shapes\[2\]/);
  });

  it('needs the image when the task has several, and checks against that image', () => {
    expect(problem([{ kind: 'point', label: 1, point: [1, 1] }], two)).toMatch(/this task has 2 images; say which one/);
    expect(problem([{ kind: 'point', label: 1, image: 'b', point: [60, 1] }], two)).toMatch(/outside the 50x50 image/);
    expect(checkShapes([{ kind: 'point', label: 1, image: 'a', point: [60, 1] }], two)[0].image).toBe('a');
  });
});

describe('shape helpers', () => {
  it.each([
    [[[0, 0], [4, 0], [4, 3]], 6],
    [[[0, 0], [0, 3], [4, 3], [4, 0]], 12],
    [[[0, 0], [2, 2], [4, 4]], 0],
  ])('polygonArea(%j) = %d', (points, area) => {
    expect(polygonArea(points)).toBe(area);
  });

  it('splits answers into shapes and questions', () => {
    const answers = { 'Malignant?': 'no', shapes: [{ kind: 'point', label: 1, slice: 0, point: [1, 1] }] };
    expect(shapesOf(answers)).toHaveLength(1);
    expect(questionAnswers(answers)).toEqual({ 'Malignant?': 'no' });
    expect(shapesOf({})).toEqual([]);
  });

  it('a protocol may not call a question "shapes"', () => {
    const r = ProtocolInput.safeParse({ annotationTypes: [{ kind: 'classification', question: 'shapes', choices: ['a', 'b'] }] });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/reserved/);
  });
});
