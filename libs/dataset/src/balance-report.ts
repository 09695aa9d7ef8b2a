// The dataset balance (bias) report that ships with every export: who is in the dataset and in each split, how
// that compares with the project manager's targets, which labels each split sees, and how annotation quality
// (agreement, rejections) varies across subgroups. A model's future bias often shows first as annotator
// disagreement on a subgroup, so quality is broken down by the same groups as the counts.
//
// Unit: counts and fractions are of cases (what a model trains on); distinct patients are reported beside them.
//
// Warning rules (all thresholds are in `settings` of the report):
// - under-represented: a known group (not 'unknown') with cases in the dataset whose fraction of the cases,
//   overall or in a split that has cases, is below minGroupFraction (default 0.05), or whose case count there is
//   below minGroupCount (when set).
// - absent-from-split: the same, when the group has no case at all in that split.
// - off-target: |fraction − target| > targetTolerance (default 0.05, absolute), overall or in a split with cases.
// - label-absent-from-split: a label present in the dataset that no case of a split (with cases) carries.
// - low-agreement: see {@link QUALITY_RULE}; high-rejection likewise.
import {
  assertDatasetAttributes,
  assertDatasetCases,
  caseAttributeValue,
  compareStrings,
  UNKNOWN,
  type AttributeBanding,
  type DatasetAttribute,
  type DatasetCase,
} from './dataset-case';
import { SPLITS, type Split } from './patient-split';

export interface BalanceReportOptions extends AttributeBanding {
  /** The attributes to count, in report order. */
  attributes: readonly DatasetAttribute[];
  /** Target distribution per attribute: value → fraction of cases (values not listed are not compared). */
  targets?: Partial<Record<DatasetAttribute, Readonly<Record<string, number>>>>;
  /** A group below this fraction of the cases (overall or in a split) is warned about. Default 0.05. */
  minGroupFraction?: number;
  /** A group with fewer cases than this (overall or in a split) is warned about. Default: no count rule. */
  minGroupCount?: number;
  /** Largest tolerated |achieved − target| fraction. Default 0.05. */
  targetTolerance?: number;
  /** Thresholds of the quality flags; see {@link QUALITY_RULE}. */
  quality?: {
    /** Smallest group (cases with a score) that can be flagged. Default 5. */
    minCases?: number;
    /** Least gap below the overall mean agreement that flags a group. Default 0.05. */
    agreementGap?: number;
    /** Least excess over the overall rejection rate that flags a group. Default 0.10. */
    rejectionGap?: number;
    /** Standard errors the gap must also exceed. Default 2. */
    standardErrors?: number;
  };
}

export interface GroupCount {
  value: string;
  cases: number;
  patients: number;
  /** cases / cases of the distribution (0 when it has none). */
  fraction: number;
}

export interface GroupDistribution {
  cases: number;
  patients: number;
  /** One entry per value of the attribute (the same values, in the same order, for overall and every split). */
  groups: GroupCount[];
}

export interface TargetComparison {
  value: string;
  target: number;
  /** achieved − target, overall and per split (null for a split with no cases). */
  overall: { fraction: number; difference: number };
  splits: Record<Split, { fraction: number; difference: number } | null>;
}

export interface AttributeBalance {
  attribute: DatasetAttribute;
  /** Values in display order: numeric where they start with a number (age bands), 'unknown' last. */
  values: string[];
  overall: GroupDistribution;
  splits: Record<Split, GroupDistribution>;
  targets: TargetComparison[];
}

export interface LabelCount {
  /** Cases where the label has at least one voxel. */
  cases: number;
  /** cases / cases of the split. */
  fraction: number;
  voxels: number;
}

export interface LabelFrequency {
  label: string;
  overall: LabelCount;
  splits: Record<Split, LabelCount>;
}

export interface GroupQuality {
  value: string;
  cases: number;
  /** Cases with an agreement score, and their mean (null when none). */
  agreementCases: number;
  meanAgreement: number | null;
  /** Cases with a review outcome, those rejected, and the rate (null when none). */
  reviewedCases: number;
  rejected: number;
  rejectionRate: number | null;
  meanReworkRounds: number | null;
  lowAgreement: boolean;
  highRejection: boolean;
}

export interface QualityOverall {
  agreementCases: number;
  meanAgreement: number | null;
  /** Sample standard deviation of the case agreement scores (null with fewer than two). */
  agreementSd: number | null;
  reviewedCases: number;
  rejected: number;
  rejectionRate: number | null;
  meanReworkRounds: number | null;
}

export interface AttributeQuality {
  attribute: DatasetAttribute;
  groups: GroupQuality[];
}

export type BalanceWarningKind = 'under-represented' | 'absent-from-split' | 'off-target' | 'label-absent-from-split' | 'low-agreement' | 'high-rejection';

export interface BalanceWarning {
  kind: BalanceWarningKind;
  /** 'overall' or the split the warning is about. */
  scope: Split | 'overall';
  attribute?: DatasetAttribute;
  value?: string;
  label?: string;
  /** The observed fraction (or mean agreement, or rejection rate) and the threshold it crossed. */
  observed: number;
  threshold: number;
  message: string;
}

export interface BalanceReport {
  cases: number;
  patients: number;
  splits: Record<Split, { cases: number; patients: number }>;
  settings: {
    minGroupFraction: number;
    minGroupCount: number | null;
    targetTolerance: number;
    quality: Required<NonNullable<BalanceReportOptions['quality']>>;
  };
  warnings: BalanceWarning[];
  attributes: AttributeBalance[];
  labels: LabelFrequency[];
  quality: {
    /** The flagging rule in words, for the reader of the report. */
    rule: string;
    overall: QualityOverall;
    byAttribute: AttributeQuality[];
  };
}

/**
 * A group is flagged for low agreement when it has at least minCases cases with an agreement score and its mean
 * agreement is below the overall mean (all scored cases) by more than both agreementGap and standardErrors × the
 * standard error of a mean of that many cases (overall sample SD / √n). The gap keeps trivial differences out;
 * the standard error keeps a noisy five-case group from being flagged by chance. High rejection: the same with
 * rejection rates, rejectionGap, and the binomial standard error √(p(1−p)/n) of the overall rate p.
 */
export const QUALITY_RULE =
  'A group is flagged when it has at least {minCases} scored cases and its mean agreement is below the overall mean by more than ' +
  '{agreementGap} and by more than {standardErrors} standard errors (overall SD / √n); rejection rate likewise above the overall rate ' +
  'by more than {rejectionGap} and {standardErrors} binomial standard errors.';

const percent = (f: number) => `${(f * 100).toFixed(1)}%`;

/** Display order of group values: leading numbers numerically ('5-17' before '18-39'), then text, 'unknown' last. */
export function compareGroupValues(a: string, b: string): number {
  if (a === b) return 0;
  if (a === UNKNOWN) return 1;
  if (b === UNKNOWN) return -1;
  const na = Number.parseFloat(a), nb = Number.parseFloat(b);
  const aNum = /^\d/.test(a), bNum = /^\d/.test(b);
  if (aNum && bNum && na !== nb) return na - nb;
  if (aNum !== bNum) return aNum ? -1 : 1;
  return compareStrings(a, b);
}

function assertFraction(value: number, what: string): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new RangeError(`${what} must be a fraction in [0, 1], got ${String(value)}`);
}

function splitOf(assignment: Readonly<Record<string, Split>> | ReadonlyMap<string, Split>, patientId: string): Split | undefined {
  if (assignment instanceof Map) return assignment.get(patientId);
  const record = assignment as Readonly<Record<string, Split>>;
  return Object.prototype.hasOwnProperty.call(record, patientId) ? record[patientId] : undefined;
}

/**
 * The balance report of a split dataset. `assignment` maps patientId → split (the `assignment` of
 * {@link splitByPatient}, or any other); every patient of `cases` must be in it.
 */
export function balanceReport(
  cases: readonly DatasetCase[],
  assignment: Readonly<Record<string, Split>> | ReadonlyMap<string, Split>,
  options: BalanceReportOptions,
): BalanceReport {
  assertDatasetCases(cases);
  assertDatasetAttributes(options.attributes, 'Balance report attributes');
  const minGroupFraction = options.minGroupFraction ?? 0.05;
  const targetTolerance = options.targetTolerance ?? 0.05;
  assertFraction(minGroupFraction, 'minGroupFraction');
  assertFraction(targetTolerance, 'targetTolerance');
  const minGroupCount = options.minGroupCount ?? null;
  if (minGroupCount !== null && !(Number.isInteger(minGroupCount) && minGroupCount >= 0)) throw new RangeError(`minGroupCount must be a whole number >= 0, got ${minGroupCount}`);
  const quality = {
    minCases: options.quality?.minCases ?? 5,
    agreementGap: options.quality?.agreementGap ?? 0.05,
    rejectionGap: options.quality?.rejectionGap ?? 0.1,
    standardErrors: options.quality?.standardErrors ?? 2,
  };
  if (!(Number.isInteger(quality.minCases) && quality.minCases >= 1)) throw new RangeError(`quality.minCases must be a whole number >= 1, got ${quality.minCases}`);
  assertFraction(quality.agreementGap, 'quality.agreementGap');
  assertFraction(quality.rejectionGap, 'quality.rejectionGap');
  if (!(quality.standardErrors >= 0)) throw new RangeError(`quality.standardErrors must be >= 0, got ${quality.standardErrors}`);
  const targets = options.targets ?? {};
  for (const [attribute, distribution] of Object.entries(targets)) {
    if (!(options.attributes as readonly string[]).includes(attribute)) {
      throw new RangeError(`A target is given for attribute "${attribute}", which is not among the report attributes (${options.attributes.join(', ')})`);
    }
    let sum = 0;
    for (const [value, fraction] of Object.entries(distribution ?? {})) {
      assertFraction(fraction, `Target of ${attribute} = ${value}`);
      sum += fraction;
    }
    if (sum > 1 + 1e-6) throw new RangeError(`Targets of "${attribute}" sum to ${sum}; target fractions cannot add up to more than 1`);
  }

  const splitOfCase = new Map<DatasetCase, Split>();
  const unassigned = new Set<string>();
  for (const c of cases) {
    const split = splitOf(assignment, c.patientId);
    if (split === undefined) unassigned.add(c.patientId);
    else if (!(SPLITS as readonly string[]).includes(split)) throw new RangeError(`Patient "${c.patientId}" is assigned to "${split}"; the splits are ${SPLITS.join(', ')}`);
    else splitOfCase.set(c, split);
  }
  if (unassigned.size > 0) {
    const some = [...unassigned].sort(compareStrings).slice(0, 5);
    throw new RangeError(`${unassigned.size} patient(s) have no split in the assignment, e.g. ${some.map((p) => `"${p}"`).join(', ')}`);
  }

  const patientsOf = (list: readonly DatasetCase[]) => new Set(list.map((c) => c.patientId)).size;
  const casesIn = (split: Split) => cases.filter((c) => splitOfCase.get(c) === split);
  const bySplit = Object.fromEntries(SPLITS.map((s) => [s, casesIn(s)])) as Record<Split, DatasetCase[]>;
  const warnings: BalanceWarning[] = [];
  const scopes: Array<{ scope: Split | 'overall'; list: readonly DatasetCase[] }> = [
    { scope: 'overall', list: cases },
    ...SPLITS.map((s) => ({ scope: s, list: bySplit[s] })),
  ];
  const inScope = (scope: Split | 'overall') => (scope === 'overall' ? 'overall' : `in ${scope}`);

  // Per attribute distributions, target comparison, representation warnings.
  const valuesByAttribute = new Map(options.attributes.map((attribute) => [attribute, new Map(cases.map((c) => [c, caseAttributeValue(c, attribute, options)]))]));
  const attributes: AttributeBalance[] = options.attributes.map((attribute) => {
    const valueOf = valuesByAttribute.get(attribute)!;
    const target = targets[attribute] ?? {};
    const values = [...new Set([...valueOf.values(), ...Object.keys(target)])].sort(compareGroupValues);
    const distribution = (list: readonly DatasetCase[]): GroupDistribution => ({
      cases: list.length,
      patients: patientsOf(list),
      groups: values.map((value) => {
        const members = list.filter((c) => valueOf.get(c) === value);
        return { value, cases: members.length, patients: patientsOf(members), fraction: list.length > 0 ? members.length / list.length : 0 };
      }),
    });
    const overall = distribution(cases);
    const splits = Object.fromEntries(SPLITS.map((s) => [s, distribution(bySplit[s])])) as Record<Split, GroupDistribution>;
    const of = (scope: Split | 'overall') => (scope === 'overall' ? overall : splits[scope]);

    for (const { scope } of scopes) {
      const d = of(scope);
      if (d.cases === 0) continue;
      for (const g of d.groups) {
        const present = overall.groups.find((o) => o.value === g.value)!.cases > 0;
        if (!present || g.value === UNKNOWN) continue;
        if (g.cases === 0) {
          warnings.push({ kind: 'absent-from-split', scope, attribute, value: g.value, observed: 0, threshold: minGroupFraction, message: `${attribute} = ${g.value} has no case in ${scope}` });
        } else if (g.fraction < minGroupFraction) {
          warnings.push({
            kind: 'under-represented', scope, attribute, value: g.value, observed: g.fraction, threshold: minGroupFraction,
            message: `${attribute} = ${g.value} is ${percent(g.fraction)} of cases ${inScope(scope)} (${g.cases} of ${d.cases}), below the ${percent(minGroupFraction)} minimum`,
          });
        } else if (minGroupCount !== null && g.cases < minGroupCount) {
          warnings.push({
            kind: 'under-represented', scope, attribute, value: g.value, observed: g.fraction, threshold: minGroupFraction,
            message: `${attribute} = ${g.value} has ${g.cases} case(s) ${inScope(scope)}, below the minimum of ${minGroupCount}`,
          });
        }
      }
    }

    const comparisons: TargetComparison[] = Object.entries(target).map(([value, t]) => {
      const at = (d: GroupDistribution) => {
        const fraction = d.groups.find((g) => g.value === value)!.fraction;
        return { fraction, difference: fraction - t };
      };
      const comparison: TargetComparison = {
        value,
        target: t,
        overall: at(overall),
        splits: Object.fromEntries(SPLITS.map((s) => [s, splits[s].cases > 0 ? at(splits[s]) : null])) as TargetComparison['splits'],
      };
      for (const { scope } of scopes) {
        const c = scope === 'overall' ? comparison.overall : comparison.splits[scope];
        if (c && Math.abs(c.difference) > targetTolerance + 1e-12) {
          warnings.push({
            kind: 'off-target', scope, attribute, value, observed: c.fraction, threshold: t,
            message: `${attribute} = ${value} is ${percent(c.fraction)} of cases ${inScope(scope)}, target ${percent(t)} (${c.difference > 0 ? '+' : '−'}${percent(Math.abs(c.difference))}, tolerance ±${percent(targetTolerance)})`,
          });
        }
      }
      return comparison;
    });
    return { attribute, values, overall, splits, targets: comparisons };
  });

  // Label frequencies.
  const labelNames = [...new Set(cases.flatMap((c) => Object.keys(c.labels)))].sort(compareStrings);
  const labelCount = (list: readonly DatasetCase[], label: string): LabelCount => {
    let withLabel = 0, voxels = 0;
    for (const c of list) {
      const n = c.labels[label] ?? 0;
      if (n > 0) withLabel++;
      voxels += n;
    }
    return { cases: withLabel, fraction: list.length > 0 ? withLabel / list.length : 0, voxels };
  };
  const labels: LabelFrequency[] = labelNames.map((label) => ({
    label,
    overall: labelCount(cases, label),
    splits: Object.fromEntries(SPLITS.map((s) => [s, labelCount(bySplit[s], label)])) as Record<Split, LabelCount>,
  }));
  for (const l of labels) {
    if (l.overall.cases === 0) continue;
    for (const s of SPLITS) {
      if (bySplit[s].length > 0 && l.splits[s].cases === 0) {
        warnings.push({ kind: 'label-absent-from-split', scope: s, label: l.label, observed: 0, threshold: 0, message: `label "${l.label}" is present in no case of ${s}` });
      }
    }
  }

  // Quality by group.
  const overallQuality = qualityOf(cases);
  const agreementScores = cases.map((c) => c.quality?.agreement).filter(isScore);
  const agreementSd = sampleSd(agreementScores);
  const byAttribute: AttributeQuality[] = options.attributes.map((attribute) => {
    const groups = attributes.find((a) => a.attribute === attribute)!.values
      .map((value) => {
        const valueOf = valuesByAttribute.get(attribute)!;
        const members = cases.filter((c) => valueOf.get(c) === value);
        const q = qualityOf(members);
        let lowAgreement = false, highRejection = false;
        if (q.meanAgreement !== null && overallQuality.meanAgreement !== null && q.agreementCases >= quality.minCases) {
          const se = (agreementSd ?? 0) / Math.sqrt(q.agreementCases);
          const threshold = Math.max(quality.agreementGap, quality.standardErrors * se);
          lowAgreement = overallQuality.meanAgreement - q.meanAgreement > threshold;
          if (lowAgreement) {
            warnings.push({
              kind: 'low-agreement', scope: 'overall', attribute, value, observed: q.meanAgreement, threshold: overallQuality.meanAgreement - threshold,
              message: `${attribute} = ${value}: mean agreement ${q.meanAgreement.toFixed(3)} over ${q.agreementCases} cases, below the overall ${overallQuality.meanAgreement.toFixed(3)} by more than ${threshold.toFixed(3)}`,
            });
          }
        }
        if (q.rejectionRate !== null && overallQuality.rejectionRate !== null && q.reviewedCases >= quality.minCases) {
          const p = overallQuality.rejectionRate;
          const threshold = Math.max(quality.rejectionGap, quality.standardErrors * Math.sqrt((p * (1 - p)) / q.reviewedCases));
          highRejection = q.rejectionRate - p > threshold;
          if (highRejection) {
            warnings.push({
              kind: 'high-rejection', scope: 'overall', attribute, value, observed: q.rejectionRate, threshold: p + threshold,
              message: `${attribute} = ${value}: ${percent(q.rejectionRate)} of ${q.reviewedCases} reviewed cases rejected, above the overall ${percent(p)} by more than ${percent(threshold)}`,
            });
          }
        }
        return { value, cases: members.length, ...q, lowAgreement, highRejection };
      })
      .filter((g) => g.cases > 0);
    return { attribute, groups };
  });

  return {
    cases: cases.length,
    patients: patientsOf(cases),
    splits: Object.fromEntries(SPLITS.map((s) => [s, { cases: bySplit[s].length, patients: patientsOf(bySplit[s]) }])) as BalanceReport['splits'],
    settings: { minGroupFraction, minGroupCount, targetTolerance, quality },
    warnings,
    attributes,
    labels,
    quality: {
      rule: QUALITY_RULE.replace('{minCases}', String(quality.minCases))
        .replace('{agreementGap}', String(quality.agreementGap))
        .replace('{rejectionGap}', String(quality.rejectionGap))
        .replaceAll('{standardErrors}', String(quality.standardErrors)),
      overall: { ...overallQuality, agreementSd },
      byAttribute,
    },
  };
}

const isScore = (x: number | undefined): x is number => typeof x === 'number' && Number.isFinite(x);
const mean = (xs: readonly number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function sampleSd(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs)!;
  return Math.sqrt(xs.reduce((sum, x) => sum + (x - m) ** 2, 0) / (xs.length - 1));
}

function qualityOf(list: readonly DatasetCase[]): Omit<QualityOverall, 'agreementSd'> {
  const scores = list.map((c) => c.quality?.agreement).filter(isScore);
  const reviewed = list.filter((c) => typeof c.quality?.rejected === 'boolean');
  const rejected = reviewed.filter((c) => c.quality!.rejected).length;
  const rounds = list.map((c) => c.quality?.reworkRounds).filter(isScore);
  return {
    agreementCases: scores.length,
    meanAgreement: mean(scores),
    reviewedCases: reviewed.length,
    rejected,
    rejectionRate: reviewed.length > 0 ? rejected / reviewed.length : null,
    meanReworkRounds: mean(rounds),
  };
}
