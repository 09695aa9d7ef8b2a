// Patient-level train/validation/test splits, stratified and reproducible.
//
// The unit is the patient, never the case: two series of one patient in train and test leak the patient's
// anatomy into the evaluation and inflate every metric. All cases of a patient go to the patient's split.
//
// Algorithm (deterministic for a seed, independent of the order of the input):
// 1. Group cases by patientId and sort patients by id (code-unit order).
// 2. Each patient gets one stratum: the combination of the `stratifyBy` attribute values of its cases. A patient
//    whose cases fall in different strata (a CT at one site and an MR at another) gets its dominant stratum, the
//    one most of its cases share; a tie goes to the stratum of its first case in caseId order.
// 3. Patients of the frozen test set are placed in test first. For the other ("new") patients each stratum gets
//    real-valued quotas: test = max(0, test·n_k − frozen_k), scaled so that over all strata the test set reaches
//    test·N overall as closely as the frozen set allows; the rest divides between train and validation in the
//    requested ratio. Without a frozen set this is simply fraction × stratum size.
// 4. Overall targets per split are the largest-remainder rounding of the summed quotas, so the split sizes are
//    exact to the patient. Each stratum first takes the floor of its quotas; the leftover patients of all strata
//    (fewer than three per stratum) are then pooled and handed out against the remaining overall capacity of each
//    split, biggest fractional remainder first (ties in a seeded random order of strata). Pooling is what keeps a
//    split from starving when there are many small strata: rounding 40 one-patient strata separately would put
//    all 40 patients in train.
// 5. Within a stratum, patients are shuffled with the stratum's own seeded stream (seed + stratum key), so adding
//    patients to one stratum does not reshuffle the others, and taken in order: train, validation, test.
//
// Tolerance: split totals are exact (largest remainder over all new patients). A stratum's count in a split is
// the floor of its quota plus the leftovers it was dealt: within one patient of fraction × stratum size when its
// leftovers went to its largest remainders, and off by one more where that split was already full and a
// leftover had to go elsewhere. The property test holds every stratum within two patients over 200 random
// datasets, i.e. per-stratum proportions within 2/n_k of the target (±0.02 for a 100-patient stratum).
import {
  assertDatasetAttributes,
  assertDatasetCases,
  caseAttributeValue,
  compareStrings,
  type AttributeBanding,
  type DatasetAttribute,
  type DatasetCase,
} from './dataset-case';
import { seededStream, shuffled } from './seeded-random';

export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];
export type SplitFractions = Record<Split, number>;
export type SplitCounts = Record<Split, number>;

export interface PatientSplitOptions extends AttributeBanding {
  /** Fractions of patients per split; each in [0, 1], summing to 1. */
  fractions: SplitFractions;
  /** Same seed, same patients → same split, on any machine. */
  seed: number | string;
  /** Attributes whose combination defines the strata; empty or absent: one stratum (a plain random split). */
  stratifyBy?: readonly DatasetAttribute[];
  /**
   * Patients of an earlier, published test set. They stay in test whatever the fractions say; new patients are
   * split so that the overall test fraction is honoured as closely as possible (never by moving a frozen patient).
   */
  frozenTest?: readonly string[];
}

export interface StratumSplit {
  /** 'sex=F, site=A', or 'all' without stratification. */
  key: string;
  values: Partial<Record<DatasetAttribute, string>>;
  patients: number;
  /** Of which from the frozen test set. */
  frozenTest: number;
  counts: SplitCounts;
  /** counts / patients per split: compare with the requested fractions. */
  fractions: SplitFractions;
}

export interface PatientSplit {
  /** patientId → split. */
  assignment: Record<string, Split>;
  /** caseId → split (the split of the case's patient). */
  caseAssignment: Record<string, Split>;
  perSplit: Record<Split, { patients: number; cases: number }>;
  /** Achieved distribution per stratum, in stratum key order. */
  achieved: StratumSplit[];
  fractions: {
    requested: SplitFractions;
    /** The fractions the new (not frozen) patients were split with. */
    newPatients: SplitFractions;
    /** Fractions of all patients actually in each split. */
    achieved: SplitFractions;
  };
  frozenTest: {
    /** Frozen patients present in the dataset, all in test. */
    kept: number;
    /** Frozen patient ids with no case in the dataset (removed since): reported, not an error. */
    missing: string[];
  };
}

const FRACTION_SUM_TOLERANCE = 1e-6;
// Floors of quotas like 0.7 × 100 = 70.00000000000001 or 0.07 × 100 = 7.000000000000001 must not lose a patient
// to floating point, in either direction.
const FLOOR_EPSILON = 1e-9;
const floorQuota = (x: number) => Math.floor(x + FLOOR_EPSILON);

export function assertSplitFractions(fractions: SplitFractions): void {
  if (fractions === null || typeof fractions !== 'object') throw new RangeError('Split fractions are required: { train, validation, test }');
  for (const split of SPLITS) {
    const f = fractions[split];
    if (typeof f !== 'number' || !(f >= 0 && f <= 1)) throw new RangeError(`Split fraction "${split}" must be a number in [0, 1], got ${String(f)}`);
  }
  const extra = Object.keys(fractions).filter((k) => !(SPLITS as readonly string[]).includes(k));
  if (extra.length > 0) throw new RangeError(`Unknown split "${extra[0]}" in fractions; the splits are ${SPLITS.join(', ')}`);
  const sum = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(sum - 1) > FRACTION_SUM_TOLERANCE) {
    throw new RangeError(`Split fractions must sum to 1, got ${fractions.train} + ${fractions.validation} + ${fractions.test} = ${sum}`);
  }
}

const zeroCounts = (): SplitCounts => ({ train: 0, validation: 0, test: 0 });

/** Integers summing to `total`, each the floor of its quota or one more, the extras going to the largest remainders. */
function largestRemainder(quotas: readonly number[], total: number): number[] {
  const out = quotas.map(floorQuota);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = quotas.map((q, i) => ({ i, rest: q - out[i] })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (let j = 0; left > 0 && order.length > 0; j = (j + 1) % order.length, left--) out[order[j].i]++;
  return out;
}

interface Stratum {
  /** Unambiguous identity (JSON of the values): display keys could collide when a value contains ', '. */
  id: string;
  key: string;
  values: Partial<Record<DatasetAttribute, string>>;
  patients: string[];
  frozen: string[];
  /** Real-valued quotas of the new patients per split. */
  quota: number[];
  /** Integer counts of the new patients per split (floors, then pooled leftovers). */
  take: number[];
  /** Tie-break among strata with equal remainders, from the stratum's seeded stream. */
  priority: number;
  random: () => number;
}

function stratumKeyOf(values: Partial<Record<DatasetAttribute, string>>, attributes: readonly DatasetAttribute[]): string {
  return attributes.length === 0 ? 'all' : attributes.map((a) => `${a}=${values[a]}`).join(', ');
}

const stratumIdOf = (values: Partial<Record<DatasetAttribute, string>>, attributes: readonly DatasetAttribute[]) => JSON.stringify(attributes.map((a) => values[a]));

/** Splits patients into train/validation/test; see the header of this file for the algorithm and its tolerance. */
export function splitByPatient(cases: readonly DatasetCase[], options: PatientSplitOptions): PatientSplit {
  assertSplitFractions(options.fractions);
  if (!(typeof options.seed === 'string' || (typeof options.seed === 'number' && Number.isFinite(options.seed)))) {
    throw new RangeError(`Split seed must be a finite number or a string, got ${String(options.seed)}`);
  }
  const stratifyBy = options.stratifyBy ?? [];
  assertDatasetAttributes(stratifyBy, 'stratifyBy');
  assertDatasetCases(cases);
  const fractions = options.fractions;
  if (options.frozenTest !== undefined && !(Array.isArray(options.frozenTest) && options.frozenTest.every((id) => typeof id === 'string' && id !== ''))) {
    throw new RangeError('frozenTest must be a list of patient ids (non-empty strings)');
  }

  // 1. Patients in id order, each with its cases in caseId order.
  const casesByPatient = new Map<string, DatasetCase[]>();
  for (const c of [...cases].sort((a, b) => compareStrings(a.caseId, b.caseId))) {
    const list = casesByPatient.get(c.patientId);
    if (list) list.push(c);
    else casesByPatient.set(c.patientId, [c]);
  }
  const patientIds = [...casesByPatient.keys()].sort(compareStrings);

  // 2. Dominant stratum of each patient.
  const strata = new Map<string, Stratum>();
  const frozenIds = new Set(options.frozenTest ?? []);
  for (const patientId of patientIds) {
    const tally = new Map<string, number>();
    let best: { id: string; count: number; values: Partial<Record<DatasetAttribute, string>> } | undefined;
    for (const c of casesByPatient.get(patientId)!) {
      const values: Partial<Record<DatasetAttribute, string>> = {};
      for (const attribute of stratifyBy) values[attribute] = caseAttributeValue(c, attribute, options);
      const id = stratumIdOf(values, stratifyBy);
      const count = (tally.get(id) ?? 0) + 1;
      tally.set(id, count);
      // Strictly greater: on a tie the earlier case (caseId order) keeps its stratum.
      if (!best || count > best.count) best = { id, count, values };
    }
    let stratum = strata.get(best!.id);
    if (!stratum) {
      const random = seededStream(options.seed, `stratum\0${best!.id}`);
      const key = stratumKeyOf(best!.values, stratifyBy);
      stratum = { id: best!.id, key, values: best!.values, patients: [], frozen: [], quota: [0, 0, 0], take: [0, 0, 0], priority: random(), random };
      strata.set(best!.id, stratum);
    }
    (frozenIds.has(patientId) ? stratum.frozen : stratum.patients).push(patientId);
  }
  const ordered = [...strata.values()].sort((a, b) => compareStrings(a.key, b.key) || compareStrings(a.id, b.id));

  // 3. Quotas of the new patients per stratum.
  const totalPatients = patientIds.length;
  const frozenKept = ordered.reduce((n, s) => n + s.frozen.length, 0);
  const newPatients = totalPatients - frozenKept;
  const testWanted = ordered.map((s) => Math.max(0, fractions.test * (s.patients.length + s.frozen.length) - s.frozen.length));
  const testWantedSum = testWanted.reduce((a, b) => a + b, 0);
  const testNeeded = Math.max(0, fractions.test * totalPatients - frozenKept);
  // testWantedSum >= testNeeded always (clamping at 0 only raises the sum); scaling down takes the excess of
  // strata that already have too many frozen test patients out of the other strata's test quotas.
  const testScale = testWantedSum > 0 ? testNeeded / testWantedSum : 0;
  const trainValidation = fractions.train + fractions.validation;
  const trainShare = trainValidation > 0 ? fractions.train / trainValidation : 0.5;
  ordered.forEach((s, k) => {
    const test = Math.min(s.patients.length, testWanted[k] * testScale);
    const rest = s.patients.length - test;
    s.quota = [rest * trainShare, rest * (1 - trainShare), test];
  });

  // 4. Exact overall targets, stratum floors, pooled leftovers.
  const summed = SPLITS.map((_, j) => ordered.reduce((sum, s) => sum + s.quota[j], 0));
  const targets = largestRemainder(summed, newPatients);
  const capacity = targets.slice();
  const leftover = new Map<Stratum, number>();
  for (const s of ordered) {
    s.take = s.quota.map(floorQuota);
    s.take.forEach((n, j) => (capacity[j] -= n));
    leftover.set(s, s.patients.length - s.take.reduce((a, b) => a + b, 0));
  }
  const candidates = ordered
    .flatMap((s) => s.quota.map((q, j) => ({ s, j, rest: q - s.take[j] })))
    .filter((c) => c.rest > FLOOR_EPSILON)
    .sort((a, b) => b.rest - a.rest || a.s.priority - b.s.priority || a.j - b.j);
  for (const c of candidates) {
    if (leftover.get(c.s)! > 0 && capacity[c.j] > 0) {
      c.s.take[c.j]++;
      capacity[c.j]--;
      leftover.set(c.s, leftover.get(c.s)! - 1);
    }
  }
  // What the first pass could not place (its best splits were full) goes where capacity is left, preferring the
  // stratum's larger remainders. Total leftovers equal total capacity, so this always finishes.
  for (const s of [...ordered].sort((a, b) => a.priority - b.priority)) {
    while (leftover.get(s)! > 0) {
      const open = SPLITS.map((_, j) => j).filter((j) => capacity[j] > 0);
      const pool = open.length > 0 ? open : SPLITS.map((_, j) => j);
      const j = pool.reduce((best, x) => (s.quota[x] - s.take[x] > s.quota[best] - s.take[best] ? x : best));
      s.take[j]++;
      capacity[j]--;
      leftover.set(s, leftover.get(s)! - 1);
    }
  }

  // 5. Shuffle each stratum with its own stream and deal the patients out.
  const assignment: Record<string, Split> = Object.create(null);
  const achieved: StratumSplit[] = [];
  for (const s of ordered) {
    const counts = zeroCounts();
    for (const id of s.frozen) assignment[id] = 'test';
    counts.test += s.frozen.length;
    let at = 0;
    const dealt = shuffled(s.patients, s.random);
    SPLITS.forEach((split, j) => {
      for (const id of dealt.slice(at, at + s.take[j])) assignment[id] = split;
      at += s.take[j];
      counts[split] += s.take[j];
    });
    const n = s.patients.length + s.frozen.length;
    achieved.push({ key: s.key, values: s.values, patients: n, frozenTest: s.frozen.length, counts, fractions: fractionsOf(counts, n) });
  }

  const caseAssignment: Record<string, Split> = Object.create(null);
  const perSplit = { train: { patients: 0, cases: 0 }, validation: { patients: 0, cases: 0 }, test: { patients: 0, cases: 0 } };
  for (const patientId of patientIds) {
    const split = assignment[patientId];
    perSplit[split].patients++;
    for (const c of casesByPatient.get(patientId)!) {
      caseAssignment[c.caseId] = split;
      perSplit[split].cases++;
    }
  }

  return {
    assignment: plainRecord(assignment, patientIds),
    caseAssignment: plainRecord(caseAssignment, [...cases].map((c) => c.caseId).sort(compareStrings)),
    perSplit,
    achieved,
    fractions: {
      requested: { ...fractions },
      newPatients: fractionsOf({ train: summed[0], validation: summed[1], test: summed[2] }, newPatients),
      achieved: fractionsOf({ train: perSplit.train.patients, validation: perSplit.validation.patients, test: perSplit.test.patients }, totalPatients),
    },
    frozenTest: { kept: frozenKept, missing: [...frozenIds].filter((id) => !casesByPatient.has(id)).sort(compareStrings) },
  };
}

function fractionsOf(counts: SplitCounts, total: number): SplitFractions {
  return total > 0
    ? { train: counts.train / total, validation: counts.validation / total, test: counts.test / total }
    : { train: 0, validation: 0, test: 0 };
}

/** A JSON-friendly record in a stable key order (the null-prototype map above guards ids like "__proto__"). */
function plainRecord(map: Record<string, Split>, keys: readonly string[]): Record<string, Split> {
  return Object.fromEntries(keys.map((k) => [k, map[k]]));
}
