// Hand-made and seeded synthetic cases for the dataset specs: small builders so that each test states only the
// attributes it is about.
import type { DatasetCase, DatasetCaseAttributes, DatasetCaseQuality } from '../src/dataset-case';
import type { RandomSource } from '../src/seeded-random';

export function datasetCase(
  caseId: string,
  patientId: string,
  attributes: DatasetCaseAttributes = {},
  labels: Record<string, number> = {},
  quality?: DatasetCaseQuality,
): DatasetCase {
  return { caseId, patientId, studyId: `st-${caseId}`, seriesId: `se-${caseId}`, attributes, labels, ...(quality ? { quality } : {}) };
}

const pick = <T>(random: RandomSource, items: readonly T[]): T => items[Math.floor(random() * items.length)];

/** A random cohort: `patients` patients with 1..maxCasesPerPatient cases each and random attributes. */
export function randomCohort(random: RandomSource, patients: number, maxCasesPerPatient = 3): DatasetCase[] {
  const cases: DatasetCase[] = [];
  for (let p = 0; p < patients; p++) {
    const patientId = `P${String(p).padStart(4, '0')}`;
    const sex = pick(random, ['M', 'F', 'O', null] as const);
    const age = random() < 0.1 ? null : Math.floor(random() * 95);
    const n = 1 + Math.floor(random() * maxCasesPerPatient);
    for (let c = 0; c < n; c++) {
      cases.push(
        datasetCase(`${patientId}-C${c}`, patientId, {
          sex,
          age,
          site: pick(random, ['A', 'B', 'C', 'D']),
          manufacturer: pick(random, ['GE', 'Siemens', 'Philips']),
          modality: pick(random, ['CT', 'MR']),
        }, { liver: Math.floor(random() * 1000), tumour: random() < 0.4 ? Math.floor(random() * 100) : 0 }),
      );
    }
  }
  return cases;
}
