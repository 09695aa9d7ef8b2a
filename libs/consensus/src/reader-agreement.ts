// Agreement between readers across a project, for managers: which pairs of annotators agree, and how well the
// team agrees on each classification question beyond chance. Per task the consensus step scores the reads of
// that task; here the scores are pooled over every task two readers shared, and the classification answers
// (one item per task) give Cohen's kappa per reader pair and Fleiss' kappa per question.
import { cohenKappa, fleissKappaFromRatings } from './kappa';

/** One task's answers, one entry per reader (a reader who left a question unanswered is skipped for it). */
export interface AnsweredItem {
  readers: { id: string; answers: Record<string, unknown> }[];
}

export interface QuestionAgreement {
  question: string;
  /** Fleiss' kappa per number of raters (items with 2 readers and items with 3 are not pooled: the statistic needs one count). */
  fleiss: { raters: number; items: number; kappa: number }[];
}

export interface PairKappa {
  /** The two readers' ids, a < b. */
  a: string;
  b: string;
  question: string;
  /** Tasks both answered. */
  items: number;
  /** Share of those tasks with the same answer. */
  observed: number;
  kappa: number;
}

/** An answer as a category: values compared by content (a multiple-choice list in any order, a number, a string). */
const category = (value: unknown) => JSON.stringify(Array.isArray(value) ? [...value].map((v) => JSON.stringify(v)).sort() : value);
const answered = (value: unknown) => value !== undefined && value !== null && value !== '';

/** Cohen's kappa for every pair of readers and question they both answered, and Fleiss' kappa per question. */
export function classificationAgreement(items: readonly AnsweredItem[]): { questions: QuestionAgreement[]; pairs: PairKappa[] } {
  const questions = [...new Set(items.flatMap((item) => item.readers.flatMap((r) => Object.keys(r.answers))))].sort();
  const perQuestion: QuestionAgreement[] = [];
  const pairs: PairKappa[] = [];
  for (const question of questions) {
    const byRaters = new Map<number, string[][]>();
    const byPair = new Map<string, { a: string; b: string; left: string[]; right: string[] }>();
    for (const item of items) {
      const given = item.readers.filter((r) => answered(r.answers[question])).map((r) => ({ id: r.id, value: category(r.answers[question]) }));
      if (given.length < 2) continue;
      (byRaters.get(given.length) ?? byRaters.set(given.length, []).get(given.length)!).push(given.map((g) => g.value));
      for (let i = 0; i < given.length; i++) {
        for (let j = i + 1; j < given.length; j++) {
          const [x, y] = given[i].id < given[j].id ? [given[i], given[j]] : [given[j], given[i]];
          const key = `${x.id}\u0000${y.id}`;
          const pair = byPair.get(key) ?? byPair.set(key, { a: x.id, b: y.id, left: [], right: [] }).get(key)!;
          pair.left.push(x.value);
          pair.right.push(y.value);
        }
      }
    }
    perQuestion.push({
      question,
      fleiss: [...byRaters.entries()].sort(([a], [b]) => a - b).map(([raters, ratings]) => ({ raters, items: ratings.length, kappa: fleissKappaFromRatings(ratings) })),
    });
    for (const p of byPair.values()) {
      const same = p.left.filter((v, i) => v === p.right[i]).length;
      pairs.push({ a: p.a, b: p.b, question, items: p.left.length, observed: same / p.left.length, kappa: cohenKappa(p.left, p.right) });
    }
  }
  pairs.sort((x, y) => x.a.localeCompare(y.a) || x.b.localeCompare(y.b) || x.question.localeCompare(y.question));
  return { questions: perQuestion.filter((q) => q.fleiss.length), pairs };
}

/** Scores of two readers (a Dice, a shape agreement), in either order: how many, and their sum. */
export interface PairSum {
  a: string;
  b: string;
  tasks: number;
  sum: number;
}

/** The mean score of every pair of readers over the tasks they shared, with how many tasks that is; a pair given in
 * both orders is one pair. */
export function pairMeans(sums: readonly PairSum[]): { a: string; b: string; tasks: number; mean: number }[] {
  const pooled = new Map<string, PairSum>();
  for (const s of sums) {
    if (s.a === s.b || s.tasks <= 0) continue;
    const [a, b] = s.a < s.b ? [s.a, s.b] : [s.b, s.a];
    const key = `${a}\u0000${b}`;
    const entry = pooled.get(key) ?? pooled.set(key, { a, b, tasks: 0, sum: 0 }).get(key)!;
    entry.tasks += s.tasks;
    entry.sum += s.sum;
  }
  return [...pooled.values()].map(({ a, b, tasks, sum }) => ({ a, b, tasks, mean: sum / tasks })).sort((x, y) => x.a.localeCompare(y.a) || x.b.localeCompare(y.b));
}

/** A consensus result's metrics, as far as the project's reader statistics read them (see consensus.service). */
export interface ConsensusMetrics {
  /** The mask readers, in the order of `labels[].vsMerged` and `pairs[].a/b`. */
  readers?: (string | null)[];
  labels?: { vsMerged?: ({ dice: number } | null)[] }[];
  pairs?: { a: number; b: number; labels: { dice: number; volumeA?: number | null; volumeB?: number | null }[] }[];
  /** Boxes, points and polygons: pairs as [reader index, reader index, agreement]. */
  shapes?: { readers?: (string | null)[]; pairs?: [number, number, number][] };
}

/**
 * One number a consensus result contributes to the project's reader statistics:
 * - `vs-merged`: a read's Dice against the merged mask, for one label (reader A);
 * - `pair-dice`: two reads' Dice, averaged over the labels either of them drew (two empty masks agree trivially, and
 *   a 1 would inflate the mean); none when neither drew anything;
 * - `pair-shape`: two readers' agreement on boxes, points and polygons (a reader may be unknown: null).
 */
export interface ReaderScore {
  kind: 'vs-merged' | 'pair-dice' | 'pair-shape';
  readerA: string | null;
  readerB: string | null;
  value: number;
}

/**
 * The scores one consensus result adds to the reader statistics. The database keeps them beside each result (migration
 * ConsensusScores: a trigger, so a project's statistics sum a narrow table instead of reading every result's metrics);
 * this is their definition, which the trigger's SQL is tested against. Only numbers count.
 */
export function readerScores(metrics: ConsensusMetrics): ReaderScore[] {
  const scores: ReaderScore[] = [];
  const readers = metrics.readers ?? [];
  readers.forEach((reader, i) => {
    if (!reader) return;
    for (const label of metrics.labels ?? []) {
      const vs = label.vsMerged?.[i];
      if (vs && typeof vs.dice === 'number') scores.push({ kind: 'vs-merged', readerA: reader, readerB: null, value: vs.dice });
    }
  });
  for (const pair of metrics.pairs ?? []) {
    const drawn = pair.labels.filter((l) => typeof l.dice === 'number' && (l.volumeA ?? 1) + (l.volumeB ?? 1) > 0);
    const [a, b] = [readers[pair.a], readers[pair.b]];
    if (a && b && drawn.length) scores.push({ kind: 'pair-dice', readerA: a, readerB: b, value: drawn.reduce((sum, l) => sum + l.dice, 0) / drawn.length });
  }
  const shapeReaders = metrics.shapes?.readers ?? [];
  for (const [i, j, value] of metrics.shapes?.pairs ?? []) if (typeof value === 'number') scores.push({ kind: 'pair-shape', readerA: shapeReaders[i] ?? null, readerB: shapeReaders[j] ?? null, value });
  return scores;
}
