import { datasetCase } from '../test/synthetic-cases';
import { balanceReport, compareGroupValues, type BalanceReport } from './balance-report';
import type { DatasetCase } from './dataset-case';
import type { Split } from './patient-split';

// Ten hand-made cases of eight patients. Train: p1–p5 (c1–c7), validation: p6 (c8), test: p7, p8 (c9, c10).
//   case patient sex site age  labels (liver, tumour)  agreement rejected
//   c1   p1      F   A    30   100, 10                 0.90      no
//   c2   p1      F   A    30   120, –                  0.80      yes
//   c3   p2      M   A    70    90, –                  0.85      no
//   c4   p3      M   B    50    80, 5                  0.70      no
//   c5   p4      F   B    10    60, –                  –         –
//   c6   p5      –   A    –     70, 0                  0.95      no
//   c7   p5      –   A    –     75, –                  0.90      –
//   c8   p6      M   B    45    50, 20                 0.60      yes
//   c9   p7      F   C    66    40, –                  0.80      no
//   c10  p8      M   A    20    30, –                  0.90      no
const tenCases: DatasetCase[] = [
  datasetCase('c1', 'p1', { sex: 'F', site: 'A', age: 30 }, { liver: 100, tumour: 10 }, { agreement: 0.9, rejected: false, reworkRounds: 0 }),
  datasetCase('c2', 'p1', { sex: 'F', site: 'A', age: 30 }, { liver: 120 }, { agreement: 0.8, rejected: true, reworkRounds: 2 }),
  datasetCase('c3', 'p2', { sex: 'M', site: 'A', age: 70 }, { liver: 90 }, { agreement: 0.85, rejected: false }),
  datasetCase('c4', 'p3', { sex: 'M', site: 'B', age: 50 }, { liver: 80, tumour: 5 }, { agreement: 0.7, rejected: false }),
  datasetCase('c5', 'p4', { sex: 'F', site: 'B', age: 10 }, { liver: 60 }),
  datasetCase('c6', 'p5', { sex: null, site: 'A' }, { liver: 70, tumour: 0 }, { agreement: 0.95, rejected: false }),
  datasetCase('c7', 'p5', { site: 'A' }, { liver: 75 }, { agreement: 0.9 }),
  datasetCase('c8', 'p6', { sex: 'M', site: 'B', age: 45 }, { liver: 50, tumour: 20 }, { agreement: 0.6, rejected: true, reworkRounds: 1 }),
  datasetCase('c9', 'p7', { sex: 'F', site: 'C', age: 66 }, { liver: 40 }, { agreement: 0.8, rejected: false }),
  datasetCase('c10', 'p8', { sex: 'M', site: 'A', age: 20 }, { liver: 30 }, { agreement: 0.9, rejected: false }),
];
const tenSplit: Record<string, Split> = { p1: 'train', p2: 'train', p3: 'train', p4: 'train', p5: 'train', p6: 'validation', p7: 'test', p8: 'test' };

const groups = (report: BalanceReport, attribute: string, scope: Split | 'overall') => {
  const a = report.attributes.find((x) => x.attribute === attribute)!;
  const d = scope === 'overall' ? a.overall : a.splits[scope];
  return Object.fromEntries(d.groups.map((g) => [g.value, [g.cases, g.patients, g.fraction]]));
};

describe('balanceReport on ten hand-made cases', () => {
  const report = balanceReport(tenCases, tenSplit, { attributes: ['sex', 'site', 'ageBand'], targets: { sex: { F: 0.5, M: 0.5 } } });

  it('counts cases and patients per split', () => {
    expect([report.cases, report.patients]).toEqual([10, 8]);
    expect(report.splits).toEqual({ train: { cases: 7, patients: 5 }, validation: { cases: 1, patients: 1 }, test: { cases: 2, patients: 2 } });
  });

  it.each<[string, Split | 'overall', Record<string, [number, number, number]>]>([
    ['sex', 'overall', { F: [4, 3, 0.4], M: [4, 4, 0.4], unknown: [2, 1, 0.2] }],
    ['sex', 'train', { F: [3, 2, 3 / 7], M: [2, 2, 2 / 7], unknown: [2, 1, 2 / 7] }],
    ['sex', 'validation', { F: [0, 0, 0], M: [1, 1, 1], unknown: [0, 0, 0] }],
    ['sex', 'test', { F: [1, 1, 0.5], M: [1, 1, 0.5], unknown: [0, 0, 0] }],
    ['site', 'overall', { A: [6, 4, 0.6], B: [3, 3, 0.3], C: [1, 1, 0.1] }],
    ['site', 'train', { A: [5, 3, 5 / 7], B: [2, 2, 2 / 7], C: [0, 0, 0] }],
    ['ageBand', 'overall', { '0-17': [1, 1, 0.1], '18-39': [3, 2, 0.3], '40-64': [2, 2, 0.2], '65+': [2, 2, 0.2], unknown: [2, 1, 0.2] }],
  ])('%s in %s', (attribute, scope, expected) => {
    const actual = groups(report, attribute, scope);
    expect(Object.keys(actual)).toEqual(Object.keys(expected));
    for (const [value, [cases, patients, fraction]] of Object.entries(expected)) {
      expect(actual[value].slice(0, 2)).toEqual([cases, patients]);
      expect(actual[value][2]).toBeCloseTo(fraction, 12);
    }
  });

  it('compares with the target distribution and warns beyond the tolerance', () => {
    const sex = report.attributes.find((a) => a.attribute === 'sex')!;
    expect(sex.targets.map((t) => [t.value, t.target])).toEqual([['F', 0.5], ['M', 0.5]]);
    expect(sex.targets[0].overall.difference).toBeCloseTo(-0.1, 12);
    expect(sex.targets[1].splits.validation!.difference).toBeCloseTo(0.5, 12);
    expect(sex.targets[0].splits.test!.difference).toBeCloseTo(0, 12);
    const offTarget = report.warnings.filter((w) => w.kind === 'off-target').map((w) => `${w.value}@${w.scope}`);
    // overall F, M −10 %; train F 42.9 % (−7.1), M 28.6 % (−21.4); validation F 0 %, M 100 %; test exact.
    expect(offTarget.sort()).toEqual(['F@overall', 'F@train', 'F@validation', 'M@overall', 'M@train', 'M@validation']);
    expect(report.warnings.find((w) => w.kind === 'off-target' && w.value === 'F' && w.scope === 'overall')!.message).toBe(
      'sex = F is 40.0% of cases overall, target 50.0% (−10.0%, tolerance ±5.0%)',
    );
  });

  it('counts label frequencies per split and warns about a label missing from a split', () => {
    expect(report.labels.map((l) => [l.label, l.overall.cases, l.overall.voxels])).toEqual([['liver', 10, 715], ['tumour', 3, 35]]);
    const tumour = report.labels[1];
    expect(tumour.splits.train).toEqual({ cases: 2, fraction: 2 / 7, voxels: 15 });
    expect(tumour.splits.validation).toEqual({ cases: 1, fraction: 1, voxels: 20 });
    expect(tumour.splits.test).toEqual({ cases: 0, fraction: 0, voxels: 0 });
    expect(report.warnings.filter((w) => w.kind === 'label-absent-from-split').map((w) => [w.label, w.scope])).toEqual([['tumour', 'test']]);
  });

  it('warns about known groups absent from a split, never about unknown', () => {
    const absent = report.warnings.filter((w) => w.kind === 'absent-from-split').map((w) => `${w.attribute}=${w.value}@${w.scope}`);
    expect(absent).toContain('site=C@train');
    expect(absent).toContain('sex=F@validation');
    expect(absent.some((a) => a.includes('unknown'))).toBe(false);
  });

  it('breaks agreement and rejection down by group', () => {
    expect(report.quality.overall.agreementCases).toBe(9);
    expect(report.quality.overall.meanAgreement).toBeCloseTo(7.4 / 9, 12);
    expect(report.quality.overall.reviewedCases).toBe(8);
    expect(report.quality.overall.rejectionRate).toBeCloseTo(0.25, 12);
    expect(report.quality.overall.meanReworkRounds).toBeCloseTo(1, 12);
    const sex = report.quality.byAttribute.find((a) => a.attribute === 'sex')!.groups;
    expect(sex.map((g) => g.value)).toEqual(['F', 'M', 'unknown']);
    expect(sex[0]).toMatchObject({ cases: 4, agreementCases: 3, reviewedCases: 3, rejected: 1, lowAgreement: false });
    expect(sex[0].meanAgreement).toBeCloseTo(2.5 / 3, 12);
    expect(sex[0].rejectionRate).toBeCloseTo(1 / 3, 12);
    expect(sex[1].meanAgreement).toBeCloseTo((0.85 + 0.7 + 0.6 + 0.9) / 4, 12);
    expect(sex[2]).toMatchObject({ cases: 2, agreementCases: 2, reviewedCases: 1, rejected: 0 });
  });

  it('is JSON', () => {
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('balanceReport warnings', () => {
  // 100 patients, one case each: P000–P069 train, P070–P084 validation, P085–P099 test; 3 % women, all in train.
  const cases = Array.from({ length: 100 }, (_, i) => datasetCase(`c${i}`, `P${String(i).padStart(3, '0')}`, { sex: i < 3 ? 'F' : 'M', site: i % 2 ? 'A' : 'B' }));
  const assignment = Object.fromEntries(cases.map((c, i) => [c.patientId, (i < 70 ? 'train' : i < 85 ? 'validation' : 'test') as Split]));

  it('names the attribute, value and split of an under-represented group', () => {
    const report = balanceReport(cases, assignment, { attributes: ['sex', 'site'], minGroupFraction: 0.05 });
    const women = report.warnings.filter((w) => w.attribute === 'sex' && w.value === 'F');
    expect(women.map((w) => [w.kind, w.scope])).toEqual([
      ['under-represented', 'overall'],
      ['under-represented', 'train'],
      ['absent-from-split', 'validation'],
      ['absent-from-split', 'test'],
    ]);
    expect(women[0].message).toBe('sex = F is 3.0% of cases overall (3 of 100), below the 5.0% minimum');
    expect(women[1].message).toBe('sex = F is 4.3% of cases in train (3 of 70), below the 5.0% minimum');
    expect(women[1]).toMatchObject({ observed: 3 / 70, threshold: 0.05 });
    expect(report.warnings.filter((w) => w.attribute === 'site')).toEqual([]);
  });

  it('applies the count minimum as well as the fraction minimum', () => {
    const report = balanceReport(cases, assignment, { attributes: ['site'], minGroupCount: 8 });
    // Validation (P070–P084) has 7 at A (odd numbers) and 8 at B; test (P085–P099) 8 at A and 7 at B.
    expect(report.warnings.map((w) => [w.value, w.scope]).sort()).toEqual([['A', 'validation'], ['B', 'test']]);
    expect(report.warnings[0].message).toMatch(/has 7 case\(s\) in (validation|test), below the minimum of 8/);
  });

  it.each<[string, object, string]>([
    ['a target on an attribute not reported', { attributes: ['sex'], targets: { site: { A: 0.5 } } }, 'not among the report attributes'],
    ['targets over 1', { attributes: ['sex'], targets: { sex: { F: 0.6, M: 0.6 } } }, 'sum to 1.2'],
    ['a fraction out of range', { attributes: ['sex'], minGroupFraction: 5 }, 'minGroupFraction must be a fraction'],
    ['an unknown attribute', { attributes: ['ethnicity'] }, 'unknown attribute "ethnicity"'],
  ])('rejects %s', (_, options, message) => {
    expect(() => balanceReport(cases, assignment, options as Parameters<typeof balanceReport>[2])).toThrow(message);
  });

  it('names patients missing from the assignment', () => {
    const { P050: _, ...partial } = assignment;
    expect(() => balanceReport(cases, partial, { attributes: ['sex'] })).toThrow('1 patient(s) have no split in the assignment, e.g. "P050"');
  });

  it('accepts a Map as the assignment', () => {
    const report = balanceReport(cases, new Map(Object.entries(assignment)), { attributes: ['sex'] });
    expect(report.splits.validation.cases).toBe(15);
  });
});

describe('balanceReport quality flags', () => {
  // 20 cases at A and 10 at B around 0.9 agreement; C: 10 cases around 0.7; D: 3 cases at 0.5 (too few to flag).
  const jitter = (i: number) => ((i % 5) - 2) * 0.01;
  const cases: DatasetCase[] = [
    ...Array.from({ length: 20 }, (_, i) => datasetCase(`a${i}`, `pa${i}`, { site: 'A' }, {}, { agreement: 0.9 + jitter(i), rejected: i === 0 })),
    ...Array.from({ length: 10 }, (_, i) => datasetCase(`b${i}`, `pb${i}`, { site: 'B' }, {}, { agreement: 0.9 + jitter(i), rejected: false })),
    ...Array.from({ length: 10 }, (_, i) => datasetCase(`c${i}`, `pc${i}`, { site: 'C' }, {}, { agreement: 0.7 + jitter(i), rejected: i < 5 })),
    ...Array.from({ length: 3 }, (_, i) => datasetCase(`d${i}`, `pd${i}`, { site: 'D' }, {}, { agreement: 0.5, rejected: true })),
  ];
  const assignment = Object.fromEntries(cases.map((c) => [c.patientId, 'train' as Split]));
  const report = balanceReport(cases, assignment, { attributes: ['site'] });

  it('flags the subgroup whose agreement is well below the overall mean', () => {
    const site = report.quality.byAttribute[0].groups;
    expect(site.map((g) => [g.value, g.lowAgreement])).toEqual([['A', false], ['B', false], ['C', true], ['D', false]]);
    const warning = report.warnings.find((w) => w.kind === 'low-agreement')!;
    expect(warning).toMatchObject({ attribute: 'site', value: 'C', scope: 'overall' });
    // Overall (20·0.9 + 10·0.9 + 10·0.7 + 3·0.5) / 43 = 0.8256 (the jitter sums to 0 in each group).
    expect(warning.message).toMatch(/^site = C: mean agreement 0\.700 over 10 cases, below the overall 0\.826 by more than 0\.0\d\d$/);
  });

  it('flags the subgroup with a high rejection rate', () => {
    const site = report.quality.byAttribute[0].groups;
    expect(site.map((g) => [g.value, g.highRejection])).toEqual([['A', false], ['B', false], ['C', true], ['D', false]]);
    expect(report.warnings.filter((w) => w.kind === 'high-rejection').map((w) => w.value)).toEqual(['C']);
  });

  it('states the rule with its thresholds', () => {
    expect(report.quality.rule).toContain('at least 5 scored cases');
    expect(report.quality.rule).toContain('by more than 0.05 and by more than 2 standard errors');
  });

  it('flags the small group too once minCases allows it', () => {
    const loose = balanceReport(cases, assignment, { attributes: ['site'], quality: { minCases: 3 } });
    expect(loose.quality.byAttribute[0].groups.filter((g) => g.lowAgreement).map((g) => g.value)).toEqual(['C', 'D']);
  });
});

describe('compareGroupValues', () => {
  it('orders numeric bands numerically and unknown last', () => {
    expect(['unknown', '65+', '5-17', '18-39', 'none', '0-4'].sort(compareGroupValues)).toEqual(['0-4', '5-17', '18-39', '65+', 'none', 'unknown']);
    expect(['3T', '1.5T', '0.5T'].sort(compareGroupValues)).toEqual(['0.5T', '1.5T', '3T']);
  });
});
