import { cohenKappa, cohenKappaFromTable, fleissKappa, fleissKappaFromRatings } from './kappa';

/** Expands a 2x2 yes/no table into two raters' answer lists. */
function answers(table: number[][]): [string[], string[]] {
  const cats = ['yes', 'no'];
  const a: string[] = [], b: string[] = [];
  table.forEach((row, i) => row.forEach((count, j) => {
    for (let n = 0; n < count; n++) {
      a.push(cats[i]);
      b.push(cats[j]);
    }
  }));
  return [a, b];
}

describe("Cohen's kappa", () => {
  it.each<[string, number[][], number]>([
    // Wikipedia "Cohen's kappa", worked example: po = 35/50 = 0.7, pe = 0.5·0.6 + 0.5·0.4 = 0.5 → 0.4.
    ['Wikipedia worked example', [[20, 5], [10, 15]], 0.4],
    // Wikipedia, same agreement different marginals: po 0.6, pe 0.6·0.7 + 0.4·0.3 = 0.54 → 0.06/0.46.
    ['Wikipedia marginals example 1', [[45, 15], [25, 15]], 0.06 / 0.46],
    // po 0.6, pe 0.6·0.3 + 0.4·0.7 = 0.46 → 0.14/0.54.
    ['Wikipedia marginals example 2', [[25, 35], [5, 35]], 0.14 / 0.54],
    // po 0, pe 0.5 → -1.
    ['complete disagreement', [[0, 5], [5, 0]], -1],
    ['perfect agreement, two categories', [[7, 0], [0, 3]], 1],
    // Every item in one category: pe = 1, 0/0, defined as 1.
    ['perfect agreement, one category', [[10, 0], [0, 0]], 1],
    // Chance-level: rows and columns independent, po = pe = 0.5.
    ['chance agreement', [[5, 5], [5, 5]], 0],
  ])('%s', (_name, table, expected) => {
    expect(cohenKappaFromTable(table)).toBeCloseTo(expected, 12);
    const [a, b] = answers(table);
    expect(cohenKappa(a, b)).toBeCloseTo(expected, 12);
  });

  it('takes categories the raters actually used, in any type', () => {
    // Three categories, one disagreement (item 4): po = 5/6, pe = (2/6)(2/6) + (2/6)(3/6) + (2/6)(1/6) = 1/3
    // → (5/6 - 1/3)/(2/3) = 0.75.
    expect(cohenKappa([1, 1, 2, 2, 3, 3], [1, 1, 2, 2, 2, 3])).toBeCloseTo(0.75, 12);
  });

  it.each<[string, () => unknown, string]>([
    ['different item counts', () => cohenKappa(['a'], ['a', 'b']), "Cohen's kappa needs the same items from both raters, got 1 and 2 answers"],
    ['no items', () => cohenKappa([], []), "Cohen's kappa needs at least one item"],
    ['a ragged table', () => cohenKappaFromTable([[1, 2], [3]]), 'contingency table must be square: row 1 has 1 cells, expected 2'],
    ['a negative count', () => cohenKappaFromTable([[1, -2], [3, 4]]), 'contingency table cell [0][1] must be a count >= 0, got -2'],
  ])('rejects %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});

describe("Fleiss' kappa", () => {
  // Fleiss (1971) as tabulated in Wikipedia's "Fleiss' kappa": 10 items, 14 raters, 5 categories.
  // P̄ = 0.378, P̄e = 0.213 → κ = 0.210.
  const fleiss1971 = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
  ];

  it.each<[string, number[][], number, number]>([
    ['Fleiss 1971 (Wikipedia)', fleiss1971, 0.21, 3],
    // Every rater puts every item in the same single category: P̄e = 1, 0/0, defined as 1.
    ['perfect agreement, one category', [[3, 0], [3, 0], [3, 0]], 1, 12],
    // Unanimous per item, categories balanced: P̄ = 1, P̄e = 0.5 → 1.
    ['perfect agreement, two categories', [[0, 4], [4, 0]], 1, 12],
    // Two raters split on every item, two categories: P̄ = 0, P̄e = 0.5 → -1 (two raters reduce to Cohen's
    // table [[0, 1], [1, 0]] with pooled marginals).
    ['two raters always split', [[1, 1], [1, 1]], -1, 12],
    // Item 1 unanimous (P1 = 1), item 2 split 2-1 (P2 = (4 + 1 - 3)/6 = 1/3): P̄ = 2/3; p = (4/6, 2/6), P̄e = 5/9.
    // κ = (2/3 - 5/9) / (4/9) = 0.25.
    ['hand computed, 3 raters', [[3, 0], [1, 2]], 0.25, 12],
  ])('%s', (_name, counts, expected, digits) => {
    expect(fleissKappa(counts)).toBeCloseTo(expected, digits);
  });

  it('gives the same from raw ratings', () => {
    // Same as the 3-rater hand computed case.
    expect(fleissKappaFromRatings([['a', 'a', 'a'], ['a', 'b', 'b']])).toBeCloseTo(0.25, 12);
  });

  it.each<[string, number[][], string]>([
    ['unequal raters per item', [[2, 1], [1, 1]], "item 1 has 2 ratings, item 0 has 3: Fleiss' kappa needs the same number of raters per item"],
    ['one rater', [[1, 0]], "Fleiss' kappa needs at least 2 raters per item, item 0 has 1"],
    ['fractional counts', [[1.5, 0.5]], 'count for item 0, category 0 must be an integer >= 0, got 1.5'],
    ['ragged rows', [[1, 1], [2]], 'item 1 has 1 categories, item 0 has 2'],
    ['no items', [], "Fleiss' kappa needs at least one item"],
  ])('rejects %s', (_name, counts, message) => {
    expect(() => fleissKappa(counts)).toThrow(message);
  });
});
