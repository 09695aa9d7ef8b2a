// Compares what an ONNX model declares (input/output names, element types, shapes) with what its manifest
// promises, so a model that would fail or silently produce nonsense is refused when it is registered, with
// every mismatch spelled out, instead of failing inside a pre-labelling job.
import type { ModelManifest } from './model-manifest';

/** One input or output as the model declares it (onnxruntime's ValueMetadata has this shape). */
export interface TensorSignature {
  name: string;
  /** false for sequences/maps, which Contour never feeds. */
  isTensor?: boolean;
  /** onnxruntime element type, e.g. 'float32'. */
  type?: string;
  /** Numbers are fixed sizes, strings symbolic (dynamic) dimensions; empty means unknown. */
  shape?: ReadonlyArray<number | string>;
}

export interface ModelSignature {
  inputs: readonly TensorSignature[];
  outputs: readonly TensorSignature[];
}

/** The part of an onnxruntime InferenceSession that describes its inputs and outputs. */
export interface SessionMetadata {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly unknown[];
  readonly outputMetadata?: readonly unknown[];
}

/** Reads the signature from an onnxruntime InferenceSession (1.30 exposes inputMetadata/outputMetadata). */
export function modelSignature(session: SessionMetadata): ModelSignature {
  const read = (names: readonly string[], metadata: readonly unknown[] | undefined): TensorSignature[] =>
    names.map((name, i) => {
      const m = metadata?.[i] as { name?: string; isTensor?: boolean; type?: string; shape?: ReadonlyArray<number | string> } | undefined;
      return m && m.name === name ? { name, isTensor: m.isTensor, type: m.isTensor ? m.type : undefined, shape: m.isTensor ? m.shape : undefined } : { name };
    });
  return { inputs: read(session.inputNames, session.inputMetadata), outputs: read(session.outputNames, session.outputMetadata) };
}

const describe = (shape: ReadonlyArray<number | string>) => `[${shape.join(', ')}]`;
const list = (values: readonly TensorSignature[]) => values.map((v) => v.name).join(', ') || '(none)';

/** Spatial sizes (tensor order) a manifest feeds, or undefined where it accepts any size. */
function expectedSpatial(manifest: ModelManifest): { dims: number[]; why: string } | undefined {
  const { layout } = manifest.input;
  const { mode, patchSize } = manifest.inference;
  const grid = manifest.preprocessing.fixedGrid;
  const toTensorOrder = (v: readonly number[]) => (layout === 'NCDHW' ? [v[2], v[1], v[0]] : [v[1], v[0]]);
  if (mode === 'sliding-window' && patchSize) return { dims: toTensorOrder(patchSize), why: `inference.patchSize [${patchSize.join(', ')}]` };
  if (grid) return { dims: toTensorOrder(grid), why: `preprocessing.fixedGrid [${grid.join(', ')}]` };
  return undefined;
}

/**
 * Every way the model (its signature, or an InferenceSession) and its manifest disagree, as sentences a person
 * can act on; empty when they agree. Registration refuses a model while this list is not empty.
 */
export function checkModelAgainstManifest(modelOrSession: ModelSignature | SessionMetadata, manifest: ModelManifest): string[] {
  const model = 'inputNames' in modelOrSession ? modelSignature(modelOrSession) : modelOrSession;
  const problems: string[] = [];
  const rank = manifest.input.layout === 'NCDHW' ? 5 : 4;
  const input = model.inputs.find((i) => i.name === manifest.input.name);
  const output = model.outputs.find((o) => o.name === manifest.output.name);
  if (!input) problems.push(`manifest says input '${manifest.input.name}' but the model's inputs are: ${list(model.inputs)}`);
  if (!output) problems.push(`manifest says output '${manifest.output.name}' but the model's outputs are: ${list(model.outputs)}`);
  const extra = model.inputs.filter((i) => i.name !== manifest.input.name);
  if (input && extra.length)
    problems.push(`the model has ${model.inputs.length} inputs (${list(model.inputs)}) but Contour feeds only '${manifest.input.name}'`);

  const batchSize = manifest.inference.mode === 'whole' ? 1 : manifest.inference.batchSize;
  const spatial = expectedSpatial(manifest);
  let inputSpatial: ReadonlyArray<number | string> | undefined;

  if (input) {
    if (input.isTensor === false) problems.push(`input '${input.name}' is not a tensor`);
    if (input.type && input.type !== 'float32') problems.push(`input '${input.name}' is ${input.type}; Contour feeds float32`);
    const shape = input.shape;
    if (shape && shape.length) {
      if (shape.length !== rank) {
        problems.push(`input '${input.name}' has rank ${shape.length} ${describe(shape)} but layout ${manifest.input.layout} needs rank ${rank}`);
      } else {
        const [batch, channels, ...rest] = shape;
        inputSpatial = rest;
        if (typeof batch === 'number' && batch !== batchSize && batch !== 1)
          problems.push(`input '${input.name}' has a fixed batch of ${batch}; set inference.batchSize to ${batch} or 1, or export the model with a dynamic batch`);
        if (typeof batch === 'number' && batch === 1 && batchSize > 1)
          problems.push(`input '${input.name}' has a fixed batch of 1 but inference.batchSize is ${batchSize}; set batchSize to 1`);
        if (typeof channels === 'number' && channels !== manifest.input.channels)
          problems.push(`input '${input.name}' takes ${channels} channel(s) but manifest input.channels is ${manifest.input.channels}`);
        rest.forEach((d, i) => {
          if (typeof d !== 'number') return;
          if (!spatial)
            problems.push(
              `input '${input.name}' has fixed spatial size ${describe(rest)} (tensor order) but the manifest sets neither inference.patchSize nor preprocessing.fixedGrid, so any other volume size would fail`,
            );
          else if (spatial.dims[i] !== d)
            problems.push(`input '${input.name}' has spatial size ${describe(rest)} (tensor order) but ${spatial.why} gives ${describe(spatial.dims)}`);
        });
        // Report each disagreement once, not once per axis.
        dedupe(problems);
      }
    }
  }

  if (output) {
    if (output.isTensor === false) problems.push(`output '${output.name}' is not a tensor`);
    if (output.type && output.type !== 'float32') problems.push(`output '${output.name}' is ${output.type}; Contour reads float32`);
    const shape = output.shape;
    if (shape && shape.length) {
      if (manifest.task === 'classification') checkScoresOutput(output.name, shape, manifest, problems);
      else if (manifest.task === 'detection') checkBoxesOutput(output.name, shape, batchSize, problems);
      else checkSegmentationOutput(output.name, shape, inputSpatial, rank, manifest, problems);
      dedupe(problems);
    }
  }
  return problems;
}

/** The channels the labels read exist, and argmax has something to choose between. */
function checkChannels(name: string, channels: number | string | undefined, manifest: ModelManifest, problems: string[]): void {
  if (typeof channels !== 'number') return;
  manifest.labels.forEach((label, i) => {
    if (label.channel >= channels) problems.push(`labels[${i}] ('${label.name}') reads channel ${label.channel} but output '${name}' has ${channels} channel(s) (0..${channels - 1})`);
  });
  if (manifest.postprocessing.decision === 'argmax' && channels < 2)
    problems.push(`output '${name}' has 1 channel; argmax over one channel always picks it, use decision { threshold } instead`);
}

function checkSegmentationOutput(name: string, shape: ReadonlyArray<number | string>, inputSpatial: ReadonlyArray<number | string> | undefined, rank: number, manifest: ModelManifest, problems: string[]): void {
  if (shape.length !== rank) {
    problems.push(`output '${name}' has rank ${shape.length} ${describe(shape)} but a ${manifest.input.layout} segmentation model must output rank ${rank}`);
    return;
  }
  const [, channels, ...rest] = shape;
  if (manifest.output.kind === 'labels' && typeof channels === 'number' && channels !== 1)
    problems.push(`output '${name}' has ${channels} channels but output kind 'labels' expects one channel of label numbers`);
  if (manifest.output.kind !== 'labels') checkChannels(name, channels, manifest, problems);
  if (inputSpatial)
    rest.forEach((d, i) => {
      const inDim = inputSpatial[i];
      if (typeof d === 'number' && typeof inDim === 'number' && d !== inDim)
        problems.push(`output '${name}' spatial size ${describe(rest)} differs from input size ${describe(inputSpatial)}; Contour needs outputs on the input grid`);
    });
}

/** Classification: [N, C], one score per choice. */
function checkScoresOutput(name: string, shape: ReadonlyArray<number | string>, manifest: ModelManifest, problems: string[]): void {
  if (shape.length !== 2) {
    problems.push(`output '${name}' has rank ${shape.length} ${describe(shape)} but a classification model must output [N, C]: one score per choice`);
    return;
  }
  checkChannels(name, shape[1], manifest, problems);
}

/** Detection: [N, K, 6] or, for a batch of one, [K, 6]: rows of x0, y0, x1, y1, score, class. */
function checkBoxesOutput(name: string, shape: ReadonlyArray<number | string>, batchSize: number, problems: string[]): void {
  if (shape.length !== 3 && shape.length !== 2) {
    problems.push(`output '${name}' has rank ${shape.length} ${describe(shape)} but a detection model must output [N, K, 6] or [K, 6] (x0, y0, x1, y1, score, class)`);
    return;
  }
  const last = shape[shape.length - 1];
  if (typeof last === 'number' && last !== 6) problems.push(`output '${name}' rows have ${last} values ${describe(shape)}; a detection row is x0, y0, x1, y1, score, class (6 values)`);
  if (shape.length === 2 && batchSize > 1) problems.push(`output '${name}' ${describe(shape)} has no batch axis, so inference.batchSize must be 1 (it is ${batchSize})`);
}

function dedupe(items: string[]): void {
  const unique = [...new Set(items)];
  items.length = 0;
  items.push(...unique);
}
