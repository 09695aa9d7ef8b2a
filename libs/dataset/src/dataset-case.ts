// The case model an export works on (one labelled series of one pseudonymous patient, with the attributes a
// balance report groups by) and the rules that turn raw attributes (a DICOM age string, a field strength of
// 2.89 T, a slice thickness of 1.25 mm) into the discrete groups that splits stratify on and reports count.

export type Sex = 'M' | 'F' | 'O';

export interface DatasetCaseAttributes {
  /** DICOM PatientSex (0010,0040): M, F, O; null or absent when not recorded. */
  sex?: Sex | null;
  /** Age at the study in years (fractional for infants); see {@link parseDicomAge} for DICOM AS strings. */
  age?: number | null;
  /** A precomputed band; when absent it is derived from `age` with the configured age bands. */
  ageBand?: string | null;
  /** Institution, pseudonymised or not: treated as an opaque label. */
  site?: string | null;
  manufacturer?: string | null;
  /** Scanner model name (DICOM ManufacturerModelName). */
  model?: string | null;
  /** MR magnetic field strength in tesla. */
  fieldStrength?: number | null;
  /** CT peak kilovoltage. */
  kvp?: number | null;
  /** Slice thickness in mm; grouped by the configured slice thickness bands. */
  sliceThickness?: number | null;
  modality?: string | null;
}

export interface DatasetCaseQuality {
  /** Inter-reader agreement of the case (e.g. mean Dice), in [0, 1]. */
  agreement?: number;
  /** True when review rejected the case (at least once, or finally: the caller decides and says so). */
  rejected?: boolean;
  reworkRounds?: number;
}

export interface DatasetCase {
  caseId: string;
  /** Pseudonymous patient id: the unit a split never divides. */
  patientId: string;
  studyId: string;
  seriesId: string;
  attributes: DatasetCaseAttributes;
  /** Voxel count per label name; a label is present in the case when its count is > 0. */
  labels: Readonly<Record<string, number>>;
  quality?: DatasetCaseQuality;
}

/** The attributes a split can be stratified on and a balance report can group by. */
export const DATASET_ATTRIBUTES = [
  'sex',
  'ageBand',
  'site',
  'manufacturer',
  'model',
  'modality',
  'fieldStrength',
  'kvp',
  'sliceThickness',
  'labelPresence',
] as const;
export type DatasetAttribute = (typeof DATASET_ATTRIBUTES)[number];

/** The group of a case whose attribute was not recorded. */
export const UNKNOWN = 'unknown';

/** Band edges in years: [0,18) [18,40) [40,65) [65,∞) → '0-17', '18-39', '40-64', '65+'. */
export const DEFAULT_AGE_BANDS: readonly number[] = [0, 18, 40, 65, Infinity];
/** Band edges in mm: thin (< 1.5), standard, thick, very thick; labels '0-1.5 mm' … '5+ mm', lower edge inclusive. */
export const DEFAULT_SLICE_THICKNESS_BANDS: readonly number[] = [0, 1.5, 3, 5, Infinity];

/** How continuous attributes become groups; shared by splits and balance reports so both see the same groups. */
export interface AttributeBanding {
  /** Increasing integer edges in years, the last may be Infinity (default {@link DEFAULT_AGE_BANDS}). */
  ageBands?: readonly number[];
  /** Increasing edges in mm, the last may be Infinity (default {@link DEFAULT_SLICE_THICKNESS_BANDS}). */
  sliceThicknessBands?: readonly number[];
}

const DAYS_PER_YEAR = 365.25;
const AGE_UNIT_IN_YEARS: Record<string, number> = { D: 1 / DAYS_PER_YEAR, W: 7 / DAYS_PER_YEAR, M: 1 / 12, Y: 1 };

/**
 * Years from a DICOM Age String (VR AS): 'nnnD', 'nnnW', 'nnnM' or 'nnnY', e.g. '045Y' → 45, '006M' → 0.5,
 * '010W' → 70/365.25, '003D' → 3/365.25. Returns null when the age is absent (undefined, null, empty or only
 * padding), because a missing age is common and is reported as 'unknown', not as an error. Tolerates
 * surrounding spaces, a lower-case unit and fewer than three digits ('45Y'), which real files carry although
 * the standard asks for exactly four characters. Throws on anything else: a value that is not an age is a bug
 * upstream that a report should not silently count as 'unknown'.
 */
export function parseDicomAge(value: string | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  const trimmed = value.replace(/\0/g, '').trim();
  if (trimmed === '') return null;
  const match = /^(\d{1,3})([DWMYdwmy])$/.exec(trimmed);
  if (!match) throw new RangeError(`"${value}" is not a DICOM age string: expected three digits and a unit D, W, M or Y, such as "045Y"`);
  return Number(match[1]) * AGE_UNIT_IN_YEARS[match[2].toUpperCase()];
}

function assertBandEdges(edges: readonly number[], what: string, integers: boolean): void {
  if (edges.length < 2) throw new RangeError(`${what} need at least two edges, got [${edges.join(', ')}]`);
  edges.forEach((edge, i) => {
    const last = i === edges.length - 1;
    if (Number.isNaN(edge) || edge < 0 || (!last && !Number.isFinite(edge))) {
      throw new RangeError(`${what}: edge ${i} is ${edge}; edges must be finite numbers >= 0 (only the last may be Infinity)`);
    }
    if (integers && Number.isFinite(edge) && !Number.isInteger(edge)) throw new RangeError(`${what}: edge ${i} is ${edge}; age band edges must be whole years`);
    if (i > 0 && !(edge > edges[i - 1])) throw new RangeError(`${what} must increase: edge ${i} (${edge}) is not above edge ${i - 1} (${edges[i - 1]})`);
  });
}

/** Index of the band [edges[i], edges[i+1]) holding the value, or -1 when it falls outside every band. */
function bandIndex(value: number, edges: readonly number[]): number {
  for (let i = 0; i + 1 < edges.length; i++) if (value >= edges[i] && value < edges[i + 1]) return i;
  return -1;
}

/**
 * The age band of an age in years: '18-39' for [18, 40) (whole-year labels, so 39.9 is '18-39'), '65+' for the
 * open last band. Null when the age is missing or outside every band (then it counts as 'unknown').
 */
export function ageBand(age: number | null | undefined, bands: readonly number[] = DEFAULT_AGE_BANDS): string | null {
  assertBandEdges(bands, 'Age bands', true);
  if (age === null || age === undefined || !Number.isFinite(age)) return null;
  const i = bandIndex(age, bands);
  if (i < 0) return null;
  const [lo, hi] = [bands[i], bands[i + 1]];
  return hi === Infinity ? `${lo}+` : `${lo}-${hi - 1}`;
}

/** The slice thickness band: '1.5-3 mm' for [1.5, 3), '5+ mm' for the open last band; null when missing or outside. */
export function sliceThicknessBand(thickness: number | null | undefined, bands: readonly number[] = DEFAULT_SLICE_THICKNESS_BANDS): string | null {
  assertBandEdges(bands, 'Slice thickness bands', false);
  if (thickness === null || thickness === undefined || !Number.isFinite(thickness)) return null;
  const i = bandIndex(thickness, bands);
  if (i < 0) return null;
  const [lo, hi] = [bands[i], bands[i + 1]];
  return hi === Infinity ? `${lo}+ mm` : `${lo}-${hi} mm`;
}

/**
 * Nominal field strength: rounded to the nearest 0.5 T so that a Siemens "3 T" (which reports 2.89362) and a
 * Philips "3 T" (3.0) land in the same '3T' group, and 1.494 is '1.5T'.
 */
export function fieldStrengthGroup(tesla: number | null | undefined): string | null {
  if (tesla === null || tesla === undefined || !Number.isFinite(tesla) || tesla <= 0) return null;
  return `${Math.round(tesla * 2) / 2}T`;
}

/** The labels present in the case (voxel count > 0), sorted: what 'labelPresence' groups on. */
export function labelsPresent(datasetCase: DatasetCase): string[] {
  return Object.keys(datasetCase.labels)
    .filter((name) => datasetCase.labels[name] > 0)
    .sort(compareStrings);
}

function text(value: string | null | undefined): string {
  const trimmed = typeof value === 'string' ? value.trim() : '';
  return trimmed === '' ? UNKNOWN : trimmed;
}

/**
 * The group a case falls in for one attribute, as a display string; {@link UNKNOWN} when the attribute was not
 * recorded. Strings (site, manufacturer, model, modality) are only trimmed: spelling variants of one vendor stay
 * separate groups, because merging them is a judgement the caller should make visibly, before this point.
 */
export function caseAttributeValue(datasetCase: DatasetCase, attribute: DatasetAttribute, banding: AttributeBanding = {}): string {
  const a = datasetCase.attributes;
  switch (attribute) {
    case 'sex':
      return a.sex === 'M' || a.sex === 'F' || a.sex === 'O' ? a.sex : UNKNOWN;
    case 'ageBand':
      if (typeof a.ageBand === 'string' && a.ageBand.trim() !== '') return a.ageBand.trim();
      return ageBand(a.age, banding.ageBands ?? DEFAULT_AGE_BANDS) ?? UNKNOWN;
    case 'site':
    case 'manufacturer':
    case 'model':
    case 'modality':
      return text(a[attribute]);
    case 'fieldStrength':
      return fieldStrengthGroup(a.fieldStrength) ?? UNKNOWN;
    case 'kvp':
      return a.kvp === null || a.kvp === undefined || !Number.isFinite(a.kvp) ? UNKNOWN : `${Math.round(a.kvp)} kV`;
    case 'sliceThickness':
      return sliceThicknessBand(a.sliceThickness, banding.sliceThicknessBands ?? DEFAULT_SLICE_THICKNESS_BANDS) ?? UNKNOWN;
    case 'labelPresence': {
      const present = labelsPresent(datasetCase);
      return present.length === 0 ? 'none' : present.join('+');
    }
    default:
      throw new RangeError(`Unknown dataset attribute "${String(attribute)}"; expected one of ${DATASET_ATTRIBUTES.join(', ')}`);
  }
}

/** Code-unit order: the same on every machine and locale, which determinism of splits depends on. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Throws when an attribute name is not one this library knows (a typo in an API request, say). */
export function assertDatasetAttributes(attributes: readonly string[], what: string): asserts attributes is readonly DatasetAttribute[] {
  for (const attribute of attributes) {
    if (!(DATASET_ATTRIBUTES as readonly string[]).includes(attribute)) {
      throw new RangeError(`${what}: unknown attribute "${attribute}"; expected one of ${DATASET_ATTRIBUTES.join(', ')}`);
    }
  }
  const duplicate = attributes.find((attribute, i) => attributes.indexOf(attribute) !== i);
  if (duplicate !== undefined) throw new RangeError(`${what}: attribute "${duplicate}" is listed twice`);
}

/** Checks the identifiers every function here relies on, and that no case id appears twice. */
export function assertDatasetCases(cases: readonly DatasetCase[]): void {
  const seen = new Set<string>();
  cases.forEach((c, i) => {
    if (typeof c.caseId !== 'string' || c.caseId === '') throw new RangeError(`Case ${i} has no caseId`);
    if (typeof c.patientId !== 'string' || c.patientId === '') throw new RangeError(`Case "${c.caseId}" has no patientId`);
    if (seen.has(c.caseId)) throw new RangeError(`Case id "${c.caseId}" appears more than once`);
    seen.add(c.caseId);
    if (c.attributes === null || typeof c.attributes !== 'object') throw new RangeError(`Case "${c.caseId}" has no attributes object`);
    if (c.labels === null || typeof c.labels !== 'object') throw new RangeError(`Case "${c.caseId}" has no labels object`);
    for (const [name, count] of Object.entries(c.labels)) {
      if (!(Number.isFinite(count) && count >= 0)) throw new RangeError(`Case "${c.caseId}": label "${name}" has voxel count ${count}; expected a number >= 0`);
    }
  });
}
