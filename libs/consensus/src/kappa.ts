// Chance-corrected agreement on categorical answers (study-level classification questions: "malignant?",
// BI-RADS category): Cohen's kappa for two raters, Fleiss' kappa for k raters.
//
// Degenerate case, both statistics: when chance agreement is already 1 (every rating falls in one category),
// kappa is 0/0. We define it as 1: the raters agreed on every item, and a routing rule comparing kappa with a
// threshold should treat that task as agreed, not as undefined or as disagreement.

/** Cohen's kappa from two raters' answers on the same items (any comparable values: strings, numbers). */
export function cohenKappa<T>(a: readonly T[], b: readonly T[]): number {
  if (a.length !== b.length) throw new RangeError(`Cohen's kappa needs the same items from both raters, got ${a.length} and ${b.length} answers`);
  if (a.length === 0) throw new RangeError("Cohen's kappa needs at least one item");
  const categories = [...new Set([...a, ...b])];
  const index = new Map(categories.map((c, i) => [c, i]));
  const table = categories.map(() => new Array<number>(categories.length).fill(0));
  for (let i = 0; i < a.length; i++) table[index.get(a[i])!][index.get(b[i])!]++;
  return cohenKappaFromTable(table);
}

/** Cohen's kappa from a square contingency table: table[i][j] = items rater A put in category i and rater B in j. */
export function cohenKappaFromTable(table: readonly (readonly number[])[]): number {
  const c = table.length;
  table.forEach((row, i) => {
    if (row.length !== c) throw new RangeError(`contingency table must be square: row ${i} has ${row.length} cells, expected ${c}`);
    row.forEach((v, j) => {
      if (!(v >= 0)) throw new RangeError(`contingency table cell [${i}][${j}] must be a count >= 0, got ${v}`);
    });
  });
  let total = 0, agreed = 0;
  const rowSums = new Array<number>(c).fill(0), colSums = new Array<number>(c).fill(0);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) {
      total += table[i][j];
      rowSums[i] += table[i][j];
      colSums[j] += table[i][j];
    }
    agreed += table[i][i];
  }
  if (total === 0) throw new RangeError("Cohen's kappa needs at least one item");
  const observed = agreed / total;
  let chance = 0;
  for (let i = 0; i < c; i++) chance += (rowSums[i] / total) * (colSums[i] / total);
  return kappa(observed, chance);
}

/**
 * Fleiss' kappa from counts: counts[item][category] = raters who put the item in that category. Every item
 * must have the same number of raters (at least 2).
 */
export function fleissKappa(counts: readonly (readonly number[])[]): number {
  if (counts.length === 0) throw new RangeError("Fleiss' kappa needs at least one item");
  const c = counts[0].length;
  const raters = counts[0].reduce((s, v) => s + v, 0);
  if (raters < 2) throw new RangeError(`Fleiss' kappa needs at least 2 raters per item, item 0 has ${raters}`);
  const totals = new Array<number>(c).fill(0);
  let meanAgreement = 0;
  counts.forEach((row, i) => {
    if (row.length !== c) throw new RangeError(`item ${i} has ${row.length} categories, item 0 has ${c}`);
    let n = 0, squares = 0;
    row.forEach((v, j) => {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`count for item ${i}, category ${j} must be an integer >= 0, got ${v}`);
      n += v;
      squares += v * v;
      totals[j] += v;
    });
    if (n !== raters) throw new RangeError(`item ${i} has ${n} ratings, item 0 has ${raters}: Fleiss' kappa needs the same number of raters per item`);
    meanAgreement += (squares - n) / (n * (n - 1));
  });
  meanAgreement /= counts.length;
  const all = counts.length * raters;
  const chance = totals.reduce((s, t) => s + (t / all) ** 2, 0);
  return kappa(meanAgreement, chance);
}

/** Fleiss' kappa from answers: ratings[item][rater] (any comparable values); every item needs the same number of raters. */
export function fleissKappaFromRatings<T>(ratings: readonly (readonly T[])[]): number {
  const categories = [...new Set(ratings.flat())];
  const index = new Map(categories.map((c, i) => [c, i]));
  return fleissKappa(
    ratings.map((item) => {
      const row = new Array<number>(categories.length).fill(0);
      for (const answer of item) row[index.get(answer)!]++;
      return row;
    }),
  );
}

function kappa(observed: number, chance: number): number {
  // Rounding can leave chance a hair below 1 when it is 1 in exact arithmetic; observed is then 1 as well.
  if (chance >= 1 - 1e-12) return 1;
  return (observed - chance) / (1 - chance);
}
