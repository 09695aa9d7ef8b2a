// The labelling protocol: what annotators mark and how. Versioned: a change makes a new version, and every
// task and label records the version it was made under.
import { z } from 'zod';
import { SHAPES_KEY } from './shapes';

export const CodedConcept = z.object({
  value: z.string().min(1),
  scheme: z.string().min(1),
  meaning: z.string().min(1),
});

export const ProtocolLabel = z.object({
  /** The voxel value of this label in masks (1..255). */
  id: z.number().int().min(1).max(255),
  name: z.string().trim().min(1, 'a label needs a name').max(100),
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'colours are #rrggbb'),
  /** e.g. SNOMED CT code, as DICOM SEG needs (Segmented Property Type). */
  code: CodedConcept.optional(),
  category: CodedConcept.optional(),
});

export const AnnotationType = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('segmentation-3d') }),
  z.object({ kind: z.literal('segmentation-2d') }),
  z.object({ kind: z.literal('bounding-box') }),
  z.object({ kind: z.literal('polygon') }),
  z.object({ kind: z.literal('point') }),
  z.object({ kind: z.literal('classification'), question: z.string().min(1), choices: z.array(z.string().min(1)).min(2), multiple: z.boolean().default(false), required: z.boolean().default(true) }),
]);

export const ProtocolInput = z
  .object({
    labels: z.array(ProtocolLabel).default([]),
    annotationTypes: z.array(AnnotationType).min(1, 'a protocol needs at least one annotation type'),
    instructions: z.string().max(100_000).default(''),
    appliesTo: z.object({ modalities: z.array(z.string().toUpperCase()).default([]), bodyParts: z.array(z.string().toUpperCase()).default([]) }).default({ modalities: [], bodyParts: [] }),
  })
  .superRefine((p, ctx) => {
    const ids = new Set<number>();
    const names = new Map<string, string>();
    p.labels.forEach((l, i) => {
      if (ids.has(l.id)) ctx.addIssue({ code: 'custom', path: ['labels', i, 'id'], message: `label id ${l.id} is used twice` });
      ids.add(l.id);
      // Exports name classes by label (nnU-Net's dataset.json, COCO categories, SEG segments): two labels of one
      // name, even in another case, could not be told apart there, and nnU-Net keeps "background" for value 0.
      const key = l.name.toLowerCase();
      if (key === 'background') ctx.addIssue({ code: 'custom', path: ['labels', i, 'name'], message: `"${l.name}" is reserved for the unlabelled voxels (value 0 in exported masks); name the label after what it marks` });
      else if (names.has(key)) ctx.addIssue({ code: 'custom', path: ['labels', i, 'name'], message: `label name "${l.name}" is used twice (also "${names.get(key)}"); exports could not tell the two apart` });
      names.set(key, l.name);
    });
    // Answers are keyed by question text and are one of its choices: a question asked twice could only ever be
    // answered as one of them (the other's choices were refused), and two choices of one text cannot be told apart.
    const questions = new Set<string>();
    p.annotationTypes.forEach((t, i) => {
      if (t.kind !== 'classification') return;
      if (t.question === SHAPES_KEY) ctx.addIssue({ code: 'custom', path: ['annotationTypes', i, 'question'], message: '"shapes" is reserved for boxes, points and polygons; name the question differently' });
      else if (questions.has(t.question.trim())) ctx.addIssue({ code: 'custom', path: ['annotationTypes', i, 'question'], message: `the question "${t.question}" is asked twice; answers are kept by question, so give each its own wording` });
      questions.add(t.question.trim());
      const choices = new Set<string>();
      t.choices.forEach((c, j) => {
        if (choices.has(c.trim())) ctx.addIssue({ code: 'custom', path: ['annotationTypes', i, 'choices', j], message: `the choice "${c.trim()}" is offered twice for "${t.question}"` });
        choices.add(c.trim());
      });
    });
    const needsLabels = p.annotationTypes.some((t) => t.kind !== 'classification');
    if (needsLabels && p.labels.length === 0) ctx.addIssue({ code: 'custom', path: ['labels'], message: 'masks, boxes, polygons and points need at least one label' });
  });
export type ProtocolInput = z.infer<typeof ProtocolInput>;
