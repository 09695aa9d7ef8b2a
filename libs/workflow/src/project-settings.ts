// A project's settings, validated: quality (k reads, agreement threshold, merge, review, rework limit, lease),
// how studies are split into tasks, which skills tasks need, and how images are de-identified on the way in.
import { z } from 'zod';

export const SplitPolicy = z.enum(['series', 'image', 'frames', 'view-group']);
export type SplitPolicy = z.infer<typeof SplitPolicy>;

export const QualitySettings = z.object({
  /** Independent reads per task. */
  reads: z.number().int().min(1).max(5).default(1),
  /** Task-level agreement (mean Dice over labels, or kappa for classifications) needed to skip adjudication. */
  agreementThreshold: z.number().min(0).max(1).default(0.8),
  mergeMethod: z.enum(['majority', 'staple']).default('majority'),
  reviewRequired: z.boolean().default(true),
  maxReworkRounds: z.number().int().min(0).max(20).default(2),
  leaseSeconds: z.number().int().min(10).max(7 * 24 * 3600).default(1800),
});

/**
 * Routing by age: a task that has waited rises in the queue by `agePointsPerDay` priority points per day since it
 * was created, up to `ageMaxPoints` (for scale: a maximally uncertain draft adds 100, rework 100, adjudication 50;
 * managers set -1000..1000). 0 points per day turns ageing off; within one priority the oldest task goes first anyway.
 */
export const RoutingSettings = z.object({
  agePointsPerDay: z.number().int().min(0).max(1000).default(10),
  ageMaxPoints: z.number().int().min(0).max(1000).default(100),
});

export const DeidSettings = z.object({
  retainLongitudinalTemporal: z.boolean().default(false),
  retainPatientCharacteristics: z.boolean().default(true),
  retainDeviceIdentity: z.boolean().default(false),
  cleanDescriptors: z.boolean().default(true),
  keepSafePrivateTags: z.boolean().default(true),
  /**
   * Images whose pixels may carry identifying text wait for a manager's look before annotators or reviewers see
   * them: 'declared' (Burned In Annotation YES), 'all' (also ultrasound, secondary capture and derived images that
   * do not say: the default, since ultrasound nearly always has text burned in), 'none'. Projects made before 'all'
   * became the default keep 'declared' (migration 1795830000000).
   */
  burnedInHold: z.enum(['declared', 'all', 'none']).default('all'),
});

export const ProjectSettings = z.object({
  quality: QualitySettings.default(QualitySettings.parse({})),
  routing: RoutingSettings.default(RoutingSettings.parse({})),
  split: z
    .object({
      policy: SplitPolicy.default('series'),
      /** For policy "frames": frames per task (cine/ultrasound). */
      framesPerTask: z.number().int().min(1).max(10_000).default(50),
    })
    .default({ policy: 'series', framesPerTask: 50 }),
  /** Skills an annotator needs for this project's tasks, by modality ("*" for all), e.g. { MR: ['neuro-mr'] }. */
  requiredSkills: z.record(z.string(), z.array(z.string())).default({}),
  /** Modalities this project expects; anything else is quarantined ("unexpected modality"). Empty: any. */
  expectedModalities: z.array(z.string().toUpperCase()).default([]),
  deid: DeidSettings.default(DeidSettings.parse({})),
  /** Registered model ids that pre-label this project's tasks, in order of preference. */
  prelabelModels: z.array(z.string()).default([]),
});
export type ProjectSettings = z.infer<typeof ProjectSettings>;

/** Settings with every default filled in; throws a zod error naming the bad field. */
export const parseProjectSettings = (raw: unknown): ProjectSettings => ProjectSettings.parse(raw ?? {});

/** The priority points a task has earned by waiting `ageSeconds` (whole points, rounded down, capped). */
export function ageBoost(ageSeconds: number, routing: Pick<z.infer<typeof RoutingSettings>, 'agePointsPerDay' | 'ageMaxPoints'>): number {
  if (!(ageSeconds > 0)) return 0;
  return Math.min(routing.ageMaxPoints, Math.floor((ageSeconds / 86_400) * routing.agePointsPerDay));
}

/** ageBoost() in SQL: the points for a task created at `createdAt` (an SQL expression), parameters $perDay and $max. */
export function ageBoostSql(createdAt: string, perDay: number, max: number): string {
  return `LEAST($${max}, GREATEST(0, floor(extract(epoch FROM now() - ${createdAt}) / 86400 * $${perDay})))::int`;
}

/** Skills a task of this modality needs. */
export function skillsFor(settings: ProjectSettings, modality: string): string[] {
  return [...new Set([...(settings.requiredSkills['*'] ?? []), ...(settings.requiredSkills[modality.toUpperCase()] ?? [])])].sort();
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The groups of settings whose fields a change names one by one; anything else (lists, maps such as requiredSkills) is replaced. */
const SETTING_GROUPS = new Set(['quality', 'routing', 'deid', 'split']);

/**
 * Project settings with a partial change applied: the fields of a group (quality, routing, deid, split) are merged one
 * by one (a PATCH of `{ quality: { leaseSeconds: 600 } }` changes the lease only; it used to replace the whole quality
 * group, whose other fields then took their defaults: k reads and the agreement threshold changed without anyone
 * asking), while lists and maps (requiredSkills: an entry left out is removed) are replaced as given.
 */
export function mergeSettings(stored: Record<string, unknown>, change: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...stored };
  for (const [key, value] of Object.entries(change)) out[key] = SETTING_GROUPS.has(key) && isPlainObject(value) && isPlainObject(stored[key]) ? { ...stored[key], ...value } : value;
  return out;
}
