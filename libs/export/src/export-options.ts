import { z } from 'zod';
import { TaskState } from '@contour/workflow';

/** What a manager asks of an export; every field has a sensible default. */
export const ExportOptions = z.object({
  formats: z.array(z.enum(['nnunet', 'dicom-seg', 'rtstruct', 'coco'])).min(1).default(['nnunet', 'dicom-seg', 'coco']),
  /** final: the approved consensus (review edit > adjudication > merged); reads: each reader's read, for inter-reader studies. */
  labelVersion: z.enum(['final', 'reads']).default('final'),
  filters: z
    .object({
      states: z.array(z.enum(TaskState)).min(1).default([TaskState.Approved]),
      from: z.coerce.date().optional(),
      to: z.coerce.date().optional(),
      protocolVersion: z.number().int().optional(),
    })
    .default({ states: [TaskState.Approved] }),
  split: z
    .object({
      fractions: z.object({ train: z.number().min(0).max(1), validation: z.number().min(0).max(1), test: z.number().min(0).max(1) }).default({ train: 0.7, validation: 0.1, test: 0.2 }),
      seed: z.union([z.number(), z.string()]).default(42),
      stratifyBy: z.array(z.string()).default([]),
      frozenTest: z.array(z.string()).optional(),
    })
    .default({ fractions: { train: 0.7, validation: 0.1, test: 0.2 }, seed: 42, stratifyBy: [] }),
  report: z
    .object({
      attributes: z.array(z.string()).default(['sex', 'ageBand', 'site', 'manufacturer', 'model', 'fieldStrength', 'kvp', 'sliceThickness', 'labelPresence']),
      targets: z.record(z.string(), z.record(z.string(), z.number())).optional(),
      minGroupFraction: z.number().min(0).max(1).default(0.05),
    })
    .default({ attributes: ['sex', 'ageBand', 'site', 'manufacturer', 'model', 'fieldStrength', 'kvp', 'sliceThickness', 'labelPresence'], minGroupFraction: 0.05 }),
  coco: z.object({ window: z.object({ center: z.number(), width: z.number().positive() }).optional() }).default({}),
  casePrefix: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,15}$/, 'letters and digits, starting with a letter').default('CASE'),
});
export type ExportOptionsInput = z.input<typeof ExportOptions>;
