import { classificationAgreement, ConsensusMetrics, pairMeans, readerScores } from './reader-agreement';

const item = (answers: Record<string, Record<string, unknown>>) => ({ readers: Object.entries(answers).map(([id, a]) => ({ id, answers: a })) });

describe('classificationAgreement', () => {
  it('two readers, four tasks: Cohen 0.5 (observed 3/4, chance 1/2) and Fleiss 7/15, by hand', () => {
    const a = ['yes', 'yes', 'no', 'no'];
    const b = ['yes', 'no', 'no', 'no'];
    // Given in both orders: the pair is named a < b whatever order the readers come in.
    const items = a.map((x, i) => (i % 2 ? item({ B: { malignant: b[i] }, A: { malignant: x } }) : item({ A: { malignant: x }, B: { malignant: b[i] } })));
    const { questions, pairs } = classificationAgreement(items);
    expect(pairs).toHaveLength(1);
    expect(pairs[0]).toMatchObject({ a: 'A', b: 'B', question: 'malignant', items: 4, observed: 0.75 });
    expect(pairs[0].kappa).toBeCloseTo(0.5, 12);
    // Fleiss: mean item agreement 3/4; category shares 3/8 and 5/8, chance 17/32; (3/4 - 17/32) / (15/32) = 7/15.
    expect(questions).toHaveLength(1);
    expect(questions[0].fleiss).toHaveLength(1);
    expect(questions[0].fleiss[0]).toMatchObject({ raters: 2, items: 4 });
    expect(questions[0].fleiss[0].kappa).toBeCloseTo(7 / 15, 12);
  });

  it('three readers: Fleiss 1/3 (item agreements 1, 1, 1/3, 1/3; shares 1/2 and 1/2)', () => {
    const rows = [['y', 'y', 'y'], ['n', 'n', 'n'], ['y', 'y', 'n'], ['y', 'n', 'n']];
    const { questions, pairs } = classificationAgreement(rows.map(([x, y, z]) => item({ R1: { q: x }, R2: { q: y }, R3: { q: z } })));
    expect(questions[0].fleiss[0].raters).toBe(3);
    expect(questions[0].fleiss[0].kappa).toBeCloseTo(1 / 3, 12);
    expect(pairs.map((p) => `${p.a}-${p.b}:${p.observed}`)).toEqual(['R1-R2:0.75', 'R1-R3:0.5', 'R2-R3:0.75']);
  });

  it.each([
    ['an unanswered question (undefined, null, empty) leaves that reader out of that question', [item({ A: { q: 'x' }, B: { q: null } }), item({ A: { q: 'x' }, B: {} }), item({ A: { q: 'x' }, B: { q: '' } })], 0, 0],
    ['a task answered by one reader gives no pair and no item', [item({ A: { q: 'x' } })], 0, 0],
    ['multiple choices compare by content, in any order', [item({ A: { q: ['a', 'b'] }, B: { q: ['b', 'a'] } }), item({ A: { q: ['a'] }, B: { q: ['a', 'b'] } })], 1, 1],
  ])('%s', (_name, items, pairCount, questionCount) => {
    const { questions, pairs } = classificationAgreement(items);
    expect(pairs).toHaveLength(pairCount);
    expect(questions).toHaveLength(questionCount);
    if (pairCount) expect(pairs[0].observed).toBe(0.5);
  });

  it('tasks with two and with three readers give one Fleiss value each; questions are scored apart', () => {
    const { questions } = classificationAgreement([
      item({ A: { q: 'x', r: 1 }, B: { q: 'x', r: 2 } }),
      item({ A: { q: 'x' }, B: { q: 'y' }, C: { q: 'y' } }),
    ]);
    expect(questions.map((q) => [q.question, q.fleiss.map((f) => [f.raters, f.items])])).toEqual([
      ['q', [[2, 1], [3, 1]]],
      ['r', [[2, 1]]],
    ]);
  });

  it('no items: nothing to report', () => {
    expect(classificationAgreement([])).toEqual({ questions: [], pairs: [] });
  });
});

describe('pairMeans', () => {
  const one = (a: string, b: string, value: number) => ({ a, b, tasks: 1, sum: value });
  it.each([
    ['pools a pair given in either order', [one('B', 'A', 0.5), one('A', 'B', 1)], [{ a: 'A', b: 'B', tasks: 2, mean: 0.75 }]],
    ['pools sums of several tasks', [{ a: 'A', b: 'B', tasks: 3, sum: 1.5 }, { a: 'B', b: 'A', tasks: 1, sum: 1 }], [{ a: 'A', b: 'B', tasks: 4, mean: 0.625 }]],
    ['keeps pairs apart, sorted', [one('C', 'A', 0.2), one('A', 'B', 0.9)], [{ a: 'A', b: 'B', tasks: 1, mean: 0.9 }, { a: 'A', b: 'C', tasks: 1, mean: 0.2 }]],
    ['ignores a reader paired with themself', [one('A', 'A', 1)], []],
    ['ignores an empty sum', [{ a: 'A', b: 'B', tasks: 0, sum: 0 }], []],
    ['nothing in, nothing out', [], []],
  ])('%s', (_name, sums, expected) => {
    expect(pairMeans(sums)).toEqual(expected);
  });
});

describe('readerScores', () => {
  const overlap = (dice: number, volumeA = 10, volumeB = 10) => ({ dice, volumeA, volumeB });
  it.each([
    ['nothing scored, nothing kept', {}, []],
    [
      'each read against the merge, per label',
      { readers: ['R1', 'R2'], labels: [{ vsMerged: [{ dice: 0.9 }, { dice: 0.7 }] }, { vsMerged: [{ dice: 0.5 }, null] }] },
      [
        { kind: 'vs-merged', readerA: 'R1', readerB: null, value: 0.9 },
        { kind: 'vs-merged', readerA: 'R1', readerB: null, value: 0.5 },
        { kind: 'vs-merged', readerA: 'R2', readerB: null, value: 0.7 },
      ],
    ],
    ['a read of nobody known (a null reader) is left out', { readers: [null, 'R2'], labels: [{ vsMerged: [{ dice: 0.9 }, { dice: 0.7 }] }] }, [{ kind: 'vs-merged', readerA: 'R2', readerB: null, value: 0.7 }]],
    [
      'a pair: the mean Dice over the labels either drew (both empty left out)',
      { readers: ['R1', 'R2'], pairs: [{ a: 0, b: 1, labels: [overlap(0.6), overlap(1, 0, 0), overlap(0.2, 0, 5)] }] },
      [{ kind: 'pair-dice', readerA: 'R1', readerB: 'R2', value: 0.4 }],
    ],
    ['a pair where neither drew anything gives nothing', { readers: ['R1', 'R2'], pairs: [{ a: 0, b: 1, labels: [overlap(1, 0, 0)] }] }, []],
    ['volumes missing count as drawn', { readers: ['R1', 'R2'], pairs: [{ a: 0, b: 1, labels: [{ dice: 0.8 }] }] }, [{ kind: 'pair-dice', readerA: 'R1', readerB: 'R2', value: 0.8 }]],
    ['a pair with an unknown reader gives nothing', { readers: ['R1'], pairs: [{ a: 0, b: 1, labels: [overlap(0.5)] }] }, []],
    [
      'shape pairs, an unknown reader kept as null',
      { shapes: { readers: ['S1', 'S2'], pairs: [[0, 1, 0.75], [1, 2, 0.5]] as [number, number, number][] } },
      [
        { kind: 'pair-shape', readerA: 'S1', readerB: 'S2', value: 0.75 },
        { kind: 'pair-shape', readerA: 'S2', readerB: null, value: 0.5 },
      ],
    ],
    [
      'values that are not numbers are left out',
      { readers: ['R1', 'R2'], labels: [{ vsMerged: [{ dice: null }, { dice: 0.5 }] }], pairs: [{ a: 0, b: 1, labels: [{ dice: null, volumeA: 3, volumeB: 3 }, overlap(0.9)] }], shapes: { readers: ['R1', 'R2'], pairs: [[0, 1, null]] } } as unknown as ConsensusMetrics,
      [
        { kind: 'vs-merged', readerA: 'R2', readerB: null, value: 0.5 },
        { kind: 'pair-dice', readerA: 'R1', readerB: 'R2', value: 0.9 },
      ],
    ],
  ])('%s', (_name, metrics, expected) => {
    expect(readerScores(metrics)).toEqual(expected);
  });
});
