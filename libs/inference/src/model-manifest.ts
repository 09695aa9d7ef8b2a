// The model manifest: everything Contour must know about an ONNX model to run it on a study and turn its output
// into protocol labels, validated with zod so a bad manifest is refused at registration with the field named,
// not discovered as garbage masks in the middle of a pre-labelling job.
//
// Axis conventions (used throughout libs/inference): a volume is stored x fastest, then y, then z, channel
// slowest ([c][z][y][x], the NIfTI order), and every 3-vector in a manifest (spacing, fixedGrid, patchSize) is
// given in that [x, y, z] order. The tensor fed to an NCDHW model is therefore [N, C, z, y, x]; an NCHW model
// sees one z slice, [N, C, y, x].
import { z } from 'zod';

// semver.org's recommended expression.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

const positive = z.number().positive();
const count = z.number().int().positive();
const vec3 = z.tuple([positive, positive, positive]);
const grid3 = z.tuple([count, count, count]);
const tensorName = z.string().min(1, 'expected the tensor name used in the ONNX graph');

const intensitySchema = z
  .strictObject({
    /**
     * minmax: (v - min) / (max - min), 0..1. zscore: (v - mean) / std. window: clip to [center - width/2,
     * center + width/2] then scale to 0..1. none: raw scanner values (e.g. Hounsfield units) go in unchanged.
     * Statistics are taken per input channel, after `clip`.
     */
    kind: z.enum(['minmax', 'zscore', 'window', 'none']),
    window: z.strictObject({ center: z.number(), width: positive }).optional(),
    clip: z.tuple([z.number(), z.number()]).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.kind === 'window' && !v.window) ctx.addIssue({ code: 'custom', path: ['window'], message: "required when kind is 'window'" });
    if (v.kind !== 'window' && v.window) ctx.addIssue({ code: 'custom', path: ['window'], message: `only used when kind is 'window' (kind is '${v.kind}')` });
    if (v.clip && !(v.clip[0] < v.clip[1])) ctx.addIssue({ code: 'custom', path: ['clip'], message: `expected [low, high] with low < high, got [${v.clip.join(', ')}]` });
  });

const labelSchema = z.strictObject({
  /** Output channel holding this label's score (for output kind 'labels': the number the model writes). */
  channel: z.number().int().min(0),
  name: z.string().min(1),
  /** Coded concept for DICOM SEG / exports, e.g. { value: '389080008', scheme: 'SCT', meaning: 'White matter' }. */
  code: z.strictObject({ value: z.string().min(1), scheme: z.string().min(1), meaning: z.string().min(1) }).optional(),
});

export const ModelManifestSchema = z
  .strictObject({
    schemaVersion: z.literal(1),
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'expected lower-case letters, digits, ".", "_" or "-" (at most 100)'),
    version: z.string().regex(SEMVER, 'expected a semantic version such as 1.0.0'),
    description: z.string().min(1),
    task: z.enum(['segmentation-3d', 'segmentation-2d', 'classification', 'detection']),
    /**
     * Classification models: the protocol question the model answers (its text, as in the protocol's
     * classification annotation type); `labels` are then the question's choices, by name.
     */
    question: z.string().min(1).optional(),
    appliesTo: z.strictObject({
      /** DICOM Modality (0008,0060) values, e.g. ['CT'] or ['MR']. */
      modalities: z.array(z.string().regex(/^[A-Z0-9_]{2,16}$/, 'expected a DICOM modality code such as CT or MR')).min(1),
      /** DICOM Body Part Examined (0018,0015) values; absent means any. */
      bodyParts: z.array(z.string().min(1)).optional(),
      /** Regular expression matched case-insensitively against Series Description. */
      seriesDescriptionPattern: z
        .string()
        .refine(
          (p) => {
            try {
              new RegExp(p, 'i');
              return true;
            } catch {
              return false;
            }
          },
          { message: 'expected a valid regular expression' },
        )
        .optional(),
    }),
    input: z.strictObject({ name: tensorName, layout: z.enum(['NCDHW', 'NCHW']), channels: count.max(16) }),
    output: z.strictObject({
      name: tensorName,
      /**
       * logits: raw scores; probabilities: already softmax/sigmoid; labels: one channel of label numbers;
       * boxes (detection): rows of [x0, y0, x1, y1, score, class] in pixels of the model's input image,
       * shaped [N, K, 6] (or [K, 6] for a batch of one), class being the output channel named in `labels`.
       */
      kind: z.enum(['logits', 'probabilities', 'labels', 'boxes']),
    }),
    preprocessing: z.strictObject({
      /** Orientation the volume must be resampled to before inference; 'native' leaves it as acquired. */
      orientation: z.enum(['RAS', 'LPS', 'LIA', 'native']).default('native'),
      /** Voxel spacing in mm the volume must be resampled to; null keeps the acquired spacing. */
      spacing: vec3.nullable().default(null),
      /** The model only accepts this exact grid (e.g. 256^3 after a FreeSurfer-style conform). */
      fixedGrid: grid3.optional(),
      intensity: intensitySchema,
    }),
    inference: z
      .strictObject({
        /** whole: one run on the full volume; per-slice: an NCHW model run on every z slice; sliding-window: patches. */
        mode: z.enum(['whole', 'per-slice', 'sliding-window']),
        patchSize: grid3.optional(),
        overlap: z.number().min(0).max(0.9).default(0.5),
        blending: z.enum(['gaussian', 'constant']).default('gaussian'),
        /** Gaussian sigma as a fraction of the patch size (nnU-Net: 1/8). Below 0.05 the weights underflow. */
        sigmaScale: z.number().min(0.05).max(10).default(0.125),
        /** Patches or slices per session.run. */
        batchSize: count.max(256).default(1),
        /**
         * How a patch is filled where it reaches past a volume smaller than the patch: 'edge' repeats the nearest
         * voxel (safe for thin volumes such as a 3-slice CT), 'zero' writes 0 after intensity normalisation (what
         * nnU-Net and MONAI do; use it for models trained that way).
         */
        padding: z.enum(['edge', 'zero']).default('edge'),
      })
      .superRefine((v, ctx) => {
        if (v.mode === 'sliding-window' && !v.patchSize) ctx.addIssue({ code: 'custom', path: ['patchSize'], message: "required when mode is 'sliding-window'" });
        if (v.mode !== 'sliding-window' && v.patchSize) ctx.addIssue({ code: 'custom', path: ['patchSize'], message: `only used when mode is 'sliding-window' (mode is '${v.mode}')` });
      }),
    postprocessing: z.strictObject({
      activation: z.enum(['softmax', 'sigmoid', 'none']),
      decision: z.union([z.literal('argmax'), z.strictObject({ threshold: z.number().gt(0).lt(1) })]),
      /** true: every label keeps only its largest 26-connected component; a list: only those label values. */
      keepLargestComponent: z.union([z.boolean(), z.array(z.number().int().min(1))]).default(false),
      /** Components smaller than this many voxels become background. */
      minComponentSize: z.number().int().min(0).default(0),
      /** Detection: boxes of one label overlapping a higher-scoring one by more than this IoU are dropped (non-maximum suppression). */
      nmsIou: z.number().gt(0).lt(1).optional(),
      /** Detection: at most this many boxes per image, highest scores first (default 100). */
      maxDetections: count.max(10_000).optional(),
    }),
    /**
     * The protocol labels, in label-value order: the n-th entry is label value n in the label map (1-based, like
     * DICOM SEG segment numbers); output channels not listed are background (0).
     */
    labels: z.array(labelSchema).min(1).max(255),
  })
  .superRefine((m, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const { layout } = m.input;
    const { mode, patchSize } = m.inference;
    if (m.task === 'segmentation-3d' && mode === 'per-slice') issue(['inference', 'mode'], "task 'segmentation-3d' needs mode 'whole' or 'sliding-window'; per-slice is for 2D models");
    if (mode === 'per-slice' && layout !== 'NCHW') issue(['input', 'layout'], `mode 'per-slice' feeds 2D slices, so layout must be NCHW (got ${layout})`);
    if (layout === 'NCHW' && mode === 'sliding-window' && patchSize && patchSize[2] !== 1)
      issue(['inference', 'patchSize'], `an NCHW model takes 2D patches, so patchSize must be [x, y, 1] (got [${patchSize.join(', ')}])`);
    if (layout === 'NCHW' && m.preprocessing.fixedGrid && mode === 'whole' && m.preprocessing.fixedGrid[2] !== 1)
      issue(['preprocessing', 'fixedGrid'], `an NCHW model run in mode 'whole' takes one 2D image, so fixedGrid must be [x, y, 1]`);
    if (m.output.kind === 'labels' && m.postprocessing.activation !== 'none')
      issue(['postprocessing', 'activation'], "must be 'none' when output kind is 'labels' (the model already decided)");
    if (m.output.kind === 'probabilities' && m.postprocessing.activation !== 'none')
      issue(['postprocessing', 'activation'], `must be 'none' when output kind is 'probabilities' (applying ${m.postprocessing.activation} twice flattens the scores)`);
    const classifies = m.task === 'classification';
    const detects = m.task === 'detection';
    if (classifies && !m.question) issue(['question'], "required when task is 'classification': the protocol question the model answers");
    if (!classifies && m.question) issue(['question'], `only used when task is 'classification' (task is '${m.task}')`);
    if ((classifies || detects) && mode === 'sliding-window') issue(['inference', 'mode'], `task '${m.task}' runs on whole images: mode 'whole' or 'per-slice'`);
    if (classifies && m.output.kind !== 'logits' && m.output.kind !== 'probabilities')
      issue(['output', 'kind'], `a classification model outputs one score per choice: 'logits' or 'probabilities' (got '${m.output.kind}')`);
    if (detects && m.output.kind !== 'boxes') issue(['output', 'kind'], `a detection model must output 'boxes' (rows of x0, y0, x1, y1, score, class); got '${m.output.kind}'`);
    if (!detects && m.output.kind === 'boxes') issue(['output', 'kind'], `'boxes' is the output of detection models (task is '${m.task}')`);
    if (detects && layout !== 'NCHW') issue(['input', 'layout'], 'a detection model finds boxes on 2D images, so layout must be NCHW');
    if (detects && m.postprocessing.activation !== 'none') issue(['postprocessing', 'activation'], "must be 'none' for a detection model (its boxes carry their scores)");
    if (detects && m.postprocessing.decision === 'argmax') issue(['postprocessing', 'decision'], 'a detection model needs { threshold }: the lowest box score kept');
    if (!detects && (m.postprocessing.nmsIou !== undefined || m.postprocessing.maxDetections !== undefined))
      issue(['postprocessing'], `nmsIou and maxDetections are for detection models (task is '${m.task}')`);
    const seenChannels = new Map<number, number>();
    const seenNames = new Map<string, number>();
    m.labels.forEach((label, i) => {
      const c = seenChannels.get(label.channel);
      if (c !== undefined) issue(['labels', i, 'channel'], `channel ${label.channel} is already used by labels[${c}] ('${m.labels[c].name}')`);
      seenChannels.set(label.channel, i);
      const n = seenNames.get(label.name.toLowerCase());
      if (n !== undefined) issue(['labels', i, 'name'], `name '${label.name}' is already used by labels[${n}]`);
      seenNames.set(label.name.toLowerCase(), i);
    });
    const keep = m.postprocessing.keepLargestComponent;
    if (Array.isArray(keep))
      keep.forEach((value, i) => {
        if (value > m.labels.length)
          issue(['postprocessing', 'keepLargestComponent', i], `label value ${value} does not exist: label values are 1..${m.labels.length} (positions in labels)`);
      });
  });

/** A validated manifest, defaults filled in. */
export type ModelManifest = z.output<typeof ModelManifestSchema>;
/** What an author writes (defaults may be left out). */
export type ModelManifestInput = z.input<typeof ModelManifestSchema>;
export type IntensitySpec = ModelManifest['preprocessing']['intensity'];
export type ManifestLabel = ModelManifest['labels'][number];

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid model manifest:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}

/** 'inference.patchSize' / 'labels[2].channel': the path a person would look for in the JSON. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(manifest)';
}

/** Validates a manifest (e.g. parsed JSON), filling defaults; throws a ManifestError naming every bad field. */
export function parseModelManifest(input: unknown): ModelManifest {
  const parsed = ModelManifestSchema.safeParse(input);
  if (!parsed.success)
    throw new ManifestError(
      parsed.error.issues.flatMap((i) =>
        // A misspelt key is reported at its own path, where the author will look for it.
        i.code === 'unrecognized_keys'
          ? i.keys.map((k) => `${formatIssuePath([...i.path, k])}: not a manifest field`)
          : [`${formatIssuePath(i.path)}: ${i.message}`],
      ),
    );
  return parsed.data;
}

/** Maps each output channel to its label value (1-based position in `labels`), 0 for background channels. */
export function channelLabelValues(manifest: ModelManifest, channelCount: number): Uint8Array {
  const map = new Uint8Array(channelCount);
  manifest.labels.forEach((label, i) => {
    if (label.channel < channelCount) map[label.channel] = i + 1;
  });
  return map;
}

/** What Contour knows about a series when it looks for models to pre-label it (DICOM attribute values). */
export interface SeriesDescriptor {
  modality: string;
  bodyPartExamined?: string;
  seriesDescription?: string;
}

/**
 * Whether the manifest's appliesTo admits a series: modality listed; body part listed (when the manifest lists
 * any and the series states one: many scanners leave Body Part Examined empty, which should not hide a model);
 * series description matching the pattern, case-insensitively (when both are present).
 */
export function manifestAppliesTo(manifest: ModelManifest, series: SeriesDescriptor): boolean {
  const { modalities, bodyParts, seriesDescriptionPattern } = manifest.appliesTo;
  if (!modalities.includes(series.modality.trim().toUpperCase())) return false;
  const part = series.bodyPartExamined?.trim().toUpperCase();
  if (bodyParts?.length && part && !bodyParts.some((b) => b.toUpperCase() === part)) return false;
  const description = series.seriesDescription?.trim();
  if (seriesDescriptionPattern && description && !new RegExp(seriesDescriptionPattern, 'i').test(description)) return false;
  return true;
}
