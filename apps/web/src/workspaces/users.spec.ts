import { parseSkills } from './users';

describe('parseSkills', () => {
  it.each([
    ['', []],
    ['neuro-mr', ['neuro-mr']],
    ['neuro-mr, mammography', ['neuro-mr', 'mammography']],
    ['  Neuro-MR ,,mammography  neuro-mr ', ['neuro-mr', 'mammography']],
  ])('%j', (text, expected) => {
    expect(parseSkills(text)).toEqual(expected);
  });
});
