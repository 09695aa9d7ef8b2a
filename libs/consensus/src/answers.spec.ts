import { answerAgreement } from './answers';

describe('answer agreement and merge', () => {
  it.each<[string, Record<string, unknown>[], Record<string, unknown>, Record<string, number>, string[]]>([
    ['three agree', [{ q: 'Yes' }, { q: 'Yes' }, { q: 'Yes' }], { q: 'Yes' }, { q: 1 }, []],
    ['two of three', [{ q: 'Yes' }, { q: 'No' }, { q: 'Yes' }], { q: 'Yes' }, { q: 2 / 3 }, []],
    ['a tie of two: no majority', [{ q: 'Yes' }, { q: 'No' }], {}, { q: 0.5 }, ['q']],
    ['a tie of four', [{ q: 'a' }, { q: 'b' }, { q: 'b' }, { q: 'a' }], {}, { q: 0.5 }, ['q']],
    ['three different answers', [{ q: 'a' }, { q: 'b' }, { q: 'c' }], {}, { q: 1 / 3 }, ['q']],
    ['one question tied, the other not', [{ q: 'Yes', r: 'x' }, { q: 'No', r: 'x' }], { r: 'x' }, { q: 0.5, r: 1 }, ['q']],
    ['a missing answer counts as its own answer', [{ q: 'Yes' }, {}, { q: 'Yes' }], { q: 'Yes' }, { q: 2 / 3 }, []],
    ['one reader', [{ q: ['a', 'b'] }], { q: ['a', 'b'] }, { q: 1 }, []],
  ])('%s', (_name, answers, merged, perQuestion, tied) => {
    const r = answerAgreement(answers);
    expect(r.merged).toEqual(merged);
    for (const [q, v] of Object.entries(perQuestion)) expect(r.perQuestion[q]).toBeCloseTo(v, 12);
    expect(r.tied).toEqual(tied);
  });
});
