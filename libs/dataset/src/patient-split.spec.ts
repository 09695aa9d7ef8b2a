import { datasetCase, randomCohort } from '../test/synthetic-cases';
import { DATASET_ATTRIBUTES, type DatasetAttribute, type DatasetCase } from './dataset-case';
import { SPLITS, splitByPatient, type Split, type SplitFractions } from './patient-split';
import { mulberry32, shuffled } from './seeded-random';

const F70: SplitFractions = { train: 0.7, validation: 0.15, test: 0.15 };

/** One case per patient, `sizes[k]` patients at site S<k>. */
function cohortBySite(sizes: readonly number[]): DatasetCase[] {
  const cases: DatasetCase[] = [];
  sizes.forEach((n, k) => {
    for (let i = 0; i < n; i++) cases.push(datasetCase(`S${k}-${i}`, `S${k}-P${String(i).padStart(4, '0')}`, { site: `S${k}` }));
  });
  return cases;
}

const splitSizes = (assignment: Record<string, Split>) => {
  const counts = { train: 0, validation: 0, test: 0 };
  for (const split of Object.values(assignment)) counts[split]++;
  return counts;
};

describe('splitByPatient', () => {
  const cohort = randomCohort(mulberry32(1), 200);

  it('gives the same split for the same seed whatever the input order', () => {
    const options = { fractions: F70, seed: 42, stratifyBy: ['sex', 'site'] as DatasetAttribute[] };
    const first = splitByPatient(cohort, options);
    for (const order of [1, 2, 3]) {
      const again = splitByPatient(shuffled(cohort, mulberry32(order)), options);
      expect(again.assignment).toEqual(first.assignment);
      expect(again.caseAssignment).toEqual(first.caseAssignment);
      expect(again.achieved).toEqual(first.achieved);
    }
    expect(Object.keys(first.assignment)).toEqual([...Object.keys(first.assignment)].sort());
  });

  it.each<[number | string, number | string]>([
    [42, 43],
    [1, 'one'],
    ['release-2025', 'release-2026'],
  ])('gives a different split for seed %p and %p, of the same sizes', (a, b) => {
    const x = splitByPatient(cohort, { fractions: F70, seed: a, stratifyBy: ['site'] });
    const y = splitByPatient(cohort, { fractions: F70, seed: b, stratifyBy: ['site'] });
    const differing = Object.keys(x.assignment).filter((p) => x.assignment[p] !== y.assignment[p]);
    expect(differing.length).toBeGreaterThan(10);
    expect(y.perSplit.train.patients).toBe(x.perSplit.train.patients);
  });

  it('never puts a patient in two splits, and splits sizes exactly (random datasets)', () => {
    const random = mulberry32(2024);
    for (let trial = 0; trial < 200; trial++) {
      const patients = 1 + Math.floor(random() * 120);
      const cases = randomCohort(random, patients, 4);
      const a = random(), b = random() * (1 - a);
      const fractions = { train: a, validation: b, test: 1 - a - b };
      const stratifyBy = DATASET_ATTRIBUTES.filter(() => random() < 0.3);
      const result = splitByPatient(cases, { fractions, seed: trial, stratifyBy });

      const patientIds = [...new Set(cases.map((c) => c.patientId))];
      expect(Object.keys(result.assignment).sort()).toEqual(patientIds.sort());
      for (const c of cases) expect(result.caseAssignment[c.caseId]).toBe(result.assignment[c.patientId]);
      const bySplit = SPLITS.map((s) => new Set(cases.filter((c) => result.caseAssignment[c.caseId] === s).map((c) => c.patientId)));
      expect(bySplit[0].size + bySplit[1].size + bySplit[2].size).toBe(patients); // disjoint
      // Largest remainder: each split holds floor or ceil of its share.
      for (const s of SPLITS) {
        expect(result.perSplit[s].patients).toBeGreaterThanOrEqual(Math.floor(fractions[s] * patients - 1e-9));
        expect(result.perSplit[s].patients).toBeLessThanOrEqual(Math.ceil(fractions[s] * patients + 1e-9));
      }
      expect(result.perSplit.train.cases + result.perSplit.validation.cases + result.perSplit.test.cases).toBe(cases.length);
      expect(result.achieved.reduce((n, s) => n + s.patients, 0)).toBe(patients);
      // Per stratum: within two patients of fraction × stratum size (floor, plus at most one pooled leftover move).
      for (const stratum of result.achieved) {
        for (const s of SPLITS) expect(Math.abs(stratum.counts[s] - fractions[s] * stratum.patients)).toBeLessThan(2);
      }
    }
  });

  it('keeps every stratum within ±0.05 of the target fractions (600 patients, 3 strata)', () => {
    const result = splitByPatient(cohortBySite([360, 180, 60]), { fractions: F70, seed: 7, stratifyBy: ['site'] });
    expect(result.achieved.map((s) => [s.key, s.patients])).toEqual([['site=S0', 360], ['site=S1', 180], ['site=S2', 60]]);
    for (const stratum of result.achieved) {
      for (const split of SPLITS) expect(Math.abs(stratum.fractions[split] - F70[split])).toBeLessThanOrEqual(0.05);
    }
    expect(splitSizes(result.assignment)).toEqual({ train: 420, validation: 90, test: 90 });
  });

  it('pools the leftovers of many small strata so that no split starves', () => {
    // 40 one-patient strata: rounding each alone would send all 40 to train.
    const result = splitByPatient(cohortBySite(new Array(40).fill(1)), { fractions: F70, seed: 3, stratifyBy: ['site'] });
    expect(splitSizes(result.assignment)).toEqual({ train: 28, validation: 6, test: 6 });
  });

  it.each<[number, SplitFractions, Record<Split, number>]>([
    [10, { train: 0.8, validation: 0.1, test: 0.1 }, { train: 8, validation: 1, test: 1 }],
    [7, { train: 1, validation: 0, test: 0 }, { train: 7, validation: 0, test: 0 }],
    [3, F70, { train: 2, validation: 1, test: 0 }],
    [0, F70, { train: 0, validation: 0, test: 0 }],
  ])('splits %p patients by %p into %p', (n, fractions, sizes) => {
    const result = splitByPatient(cohortBySite([n]), { fractions, seed: 1 });
    expect(splitSizes(result.assignment)).toEqual(sizes);
  });

  it("stratifies a patient by its dominant stratum, ties going to the patient's first case", () => {
    const cases = [
      // p1: two cases at A, one at B → A
      datasetCase('c3', 'p1', { site: 'B' }),
      datasetCase('c1', 'p1', { site: 'A' }),
      datasetCase('c2', 'p1', { site: 'A' }),
      // p2: one at B (c4), one at C (c5) → tie → B, its first case by id
      datasetCase('c5', 'p2', { site: 'C' }),
      datasetCase('c4', 'p2', { site: 'B' }),
    ];
    const result = splitByPatient(cases, { fractions: F70, seed: 1, stratifyBy: ['site'] });
    expect(result.achieved.map((s) => [s.key, s.patients])).toEqual([['site=A', 1], ['site=B', 1]]);
    expect(result.caseAssignment.c3).toBe(result.assignment.p1);
    expect(result.perSplit.train.cases + result.perSplit.validation.cases + result.perSplit.test.cases).toBe(5);
  });

  it('keeps a frozen test set and honours the overall test fraction when the dataset grows', () => {
    const first = splitByPatient(cohortBySite([60, 40]), { fractions: F70, seed: 11, stratifyBy: ['site'] });
    const frozen = Object.keys(first.assignment).filter((p) => first.assignment[p] === 'test');
    expect(frozen).toHaveLength(15);

    // The dataset doubles; one frozen patient was withdrawn meanwhile.
    const grown = cohortBySite([120, 80]).filter((c) => c.patientId !== frozen[0]);
    const second = splitByPatient(grown, { fractions: F70, seed: 12, stratifyBy: ['site'], frozenTest: frozen });
    for (const p of frozen.slice(1)) expect(second.assignment[p]).toBe('test');
    expect(second.frozenTest).toEqual({ kept: 14, missing: [frozen[0]] });
    // 199 patients: 0.15 × 199 = 29.85 → 30 in test, 14 of them frozen; the rest 0.7 : 0.15.
    expect(splitSizes(second.assignment)).toEqual({ train: 139, validation: 30, test: 30 });
    expect(second.fractions.achieved.test).toBeCloseTo(30 / 199, 12);
    for (const stratum of second.achieved) expect(Math.abs(stratum.fractions.test - 0.15)).toBeLessThanOrEqual(0.05);
  });

  it('adds no test patients when the frozen test set is already larger than the test fraction', () => {
    const cases = cohortBySite([100]);
    const frozen = cases.slice(0, 40).map((c) => c.patientId);
    const result = splitByPatient(cases, { fractions: F70, seed: 5, frozenTest: frozen });
    expect(splitSizes(result.assignment)).toEqual({ train: 49, validation: 11, test: 40 });
    expect(result.fractions.newPatients.test).toBe(0);
  });

  it('takes the test quota from other strata when one stratum holds too many frozen test patients', () => {
    const cases = cohortBySite([100, 100]);
    const frozen = cases.filter((c) => c.attributes.site === 'S0').slice(0, 25).map((c) => c.patientId);
    const result = splitByPatient(cases, { fractions: F70, seed: 5, stratifyBy: ['site'], frozenTest: frozen });
    // 0.15 × 200 = 30 in test overall: 25 frozen in S0, the 5 others from S1.
    expect(result.perSplit.test.patients).toBe(30);
    expect(result.achieved.map((s) => s.counts.test)).toEqual([25, 5]);
  });

  it.each<[string, Partial<Parameters<typeof splitByPatient>[1]>, string]>([
    ['fractions not summing to 1', { fractions: { train: 0.7, validation: 0.2, test: 0.2 } }, 'must sum to 1'],
    ['a negative fraction', { fractions: { train: 0.9, validation: -0.1, test: 0.2 } }, 'Split fraction "validation"'],
    ['an unknown attribute', { stratifyBy: ['race' as DatasetAttribute] }, 'unknown attribute "race"'],
    ['a repeated attribute', { stratifyBy: ['sex', 'sex'] }, 'listed twice'],
    ['no seed', { seed: Number.NaN }, 'seed must be'],
  ])('rejects %s', (_, override, message) => {
    expect(() => splitByPatient(cohortBySite([5]), { fractions: F70, seed: 1, ...override })).toThrow(message);
  });

  it.each<[string, DatasetCase[], string]>([
    ['a repeated case id', [datasetCase('c1', 'p1'), datasetCase('c1', 'p2')], 'Case id "c1" appears more than once'],
    ['a case without patient', [datasetCase('c1', '')], 'Case "c1" has no patientId'],
    ['a negative voxel count', [datasetCase('c1', 'p1', {}, { liver: -1 })], 'label "liver" has voxel count -1'],
  ])('rejects %s', (_, cases, message) => {
    expect(() => splitByPatient(cases, { fractions: F70, seed: 1 })).toThrow(message);
  });

  it('keeps strata apart even when their display keys read the same', () => {
    const cases = [datasetCase('c1', 'p1', { site: 'a, model=b', model: 'c' }), datasetCase('c2', 'p2', { site: 'a', model: 'b, model=c' })];
    const result = splitByPatient(cases, { fractions: F70, seed: 1, stratifyBy: ['site', 'model'] });
    expect(result.achieved.map((s) => [s.key, s.patients])).toEqual([['site=a, model=b, model=c', 1], ['site=a, model=b, model=c', 1]]);
  });

  it('rejects a frozen test set that is not a list of ids', () => {
    expect(() => splitByPatient(cohortBySite([3]), { fractions: F70, seed: 1, frozenTest: 'S0-P0000' as never })).toThrow('frozenTest must be a list of patient ids');
  });

  it('handles a patient id that is also an Object.prototype property name', () => {
    const result = splitByPatient([datasetCase('c1', '__proto__'), datasetCase('c2', 'constructor')], { fractions: { train: 1, validation: 0, test: 0 }, seed: 1 });
    expect(Object.keys(result.assignment)).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(JSON.stringify(result.assignment))).toEqual(result.assignment);
  });
});
