// The shape editor's pure parts: which tools a protocol gets, and how a shape is described in the list (and to
// screen readers).
import { describeShape, shapeKinds } from './shapes';

describe('shapeKinds', () => {
  it.each([
    ['segmentation only', [{ kind: 'segmentation-3d' }], []],
    ['box and point', [{ kind: 'point' }, { kind: 'bounding-box' }], ['box', 'point']],
    ['all three, in a fixed order, questions ignored', [{ kind: 'polygon' }, { kind: 'classification', question: 'q', choices: ['a', 'b'] }, { kind: 'bounding-box' }, { kind: 'point' }], ['box', 'point', 'polygon']],
  ] as const)('%s', (_name, types, kinds) => {
    expect(shapeKinds(types as never)).toEqual(kinds);
  });
});

describe('describeShape', () => {
  it.each([
    [{ kind: 'box', label: 1, slice: 0, box: [10, 20, 40.123, 70] }, 'Box · Mass · slice 1 · 30.12×50 px at (10, 20)'],
    [{ kind: 'point', label: 1, slice: 4, point: [5.5, 6.25] }, 'Point · Mass · slice 5 · (5.5, 6.25)'],
    [{ kind: 'polygon', label: 1, slice: 2, points: [[1, 1], [5, 1], [3, 4]] }, 'Polygon · Mass · slice 3 · 3 vertices'],
  ] as const)('%j', (shape, text) => {
    expect(describeShape(shape as never, 'Mass')).toBe(text);
  });
});
