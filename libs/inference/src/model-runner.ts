// Runs segmentation models on volumes with onnxruntime-node: one warm InferenceSession per model (cached by the
// model's SHA-256, so the same file registered twice or under two paths shares a session), the manifest's
// intensity normalisation, and whole-volume / per-slice / sliding-window inference with batching.
//
// Memory is bounded by the output volume plus one batch (inputs and outputs, buffers reused across batches), on
// top of what onnxruntime needs inside session.run: the input is never normalised into a second full copy (the
// transform is applied while each batch is copied in; in 'whole' mode the batch is the volume), onnxruntime writes
// each batch's output into our buffer when the model declares its channel count (in 'whole' mode, straight into
// the output volume), and sliding-window blending needs no weight volume (see sliding-window.ts).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { applyIntensity, channelTransforms, isIdentityTransform, type IntensityTransform } from './intensity';
import { checkModelAgainstManifest, modelSignature, type ModelSignature } from './model-check';
import type { ModelManifest } from './model-manifest';
import { classifyScores, decodeDetections, detectionUncertainty, type Classification, type Detection } from './heads';
import { postprocess, type Segmentation } from './postprocessing';
import { accumulatePatch, extractPatch, planSlidingWindow, type Vec3, type VoxelArray } from './sliding-window';

export type ExecutionProviderName = 'cpu' | 'cuda';

export interface ModelRunnerOptions {
  /** Threads one session.run may use; onnxruntime's default is the number of physical cores. */
  intraOpNumThreads?: number;
  /** In order of preference. 'cuda' is tried only when listed, and falls back to 'cpu' with a logged reason. */
  executionProviders?: readonly ExecutionProviderName[];
  logger?: { warn(message: string): void };
}

export class InferenceError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length ? `${message}:\n${problems.map((p) => `  - ${p}`).join('\n')}` : message);
    this.name = 'InferenceError';
  }
}

export interface InferenceTiming {
  /** Time spent inside session.run, summed over batches: the model's own cost. */
  sessionRunMs: number;
  /** Everything run() did (statistics, copying patches in, blending outputs, session.run). */
  totalMs: number;
  /** Patches (sliding-window), slices (per-slice) or 1 (whole) fed to the model. */
  patches: number;
  batches: number;
}

/** Adds `more` into `total` (several runs of one job: views, models). */
export function addTiming(total: InferenceTiming, more: InferenceTiming): void {
  total.sessionRunMs += more.sessionRunMs;
  total.totalMs += more.totalMs;
  total.patches += more.patches;
  total.batches += more.batches;
}

export interface InferenceResult {
  /** Model output, [channel][z][y][x] (x fastest), on the input grid. */
  channels: Float32Array;
  channelCount: number;
  dims: Vec3;
  timing: InferenceTiming;
}

export interface SegmentationResult {
  segmentation: Segmentation;
  timing: InferenceTiming & { postprocessMs: number };
}

/** One model with its warm session. Obtain through ModelRunner.load. */
export class LoadedModel {
  readonly signature: ModelSignature;

  constructor(
    /** SHA-256 of the model file, hex. */
    readonly checksum: string,
    readonly session: ort.InferenceSession,
    readonly executionProvider: ExecutionProviderName,
    /** Why a requested provider was not used, when it was not. */
    readonly fallbackReason?: string,
  ) {
    this.signature = modelSignature(session);
  }

  /** Mismatches between this model and `manifest` (empty: they agree). */
  check(manifest: ModelManifest): string[] {
    return checkModelAgainstManifest(this.signature, manifest);
  }

  /**
   * Normalises intensities as the manifest says and runs the model over the volume. `volume` is [c][z][y][x]
   * with input.channels channels, `dims` is [x, y, z]; the volume must already be on the manifest's grid
   * (orientation, spacing, fixedGrid are the volume library's job). The input is not modified.
   */
  async run(volume: VoxelArray, dims: Vec3, manifest: ModelManifest): Promise<InferenceResult> {
    return this.runModel(volume, dims, manifest, false);
  }

  private async runModel(volume: VoxelArray, dims: Vec3, manifest: ModelManifest, pooled: boolean): Promise<InferenceResult> {
    const started = performance.now();
    this.assertRunnable(volume, dims, manifest, 'segmentation');
    const inChannels = manifest.input.channels;
    const transforms = channelTransforms(volume, inChannels, manifest.preprocessing.intensity);
    const state: RunState = { sessionRunMs: 0, batches: 0, patches: 0 };
    let out: { channels: Float32Array; channelCount: number };
    switch (manifest.inference.mode) {
      case 'whole':
        out = await this.runWhole(volume, dims, manifest, transforms, state);
        break;
      case 'per-slice':
        out = await this.runPerSlice(volume, dims, manifest, transforms, state);
        break;
      case 'sliding-window':
        out = await this.runSlidingWindow(volume, dims, manifest, transforms, state, pooled);
        break;
    }
    return {
      ...out,
      dims,
      timing: { sessionRunMs: state.sessionRunMs, totalMs: performance.now() - started, patches: state.patches, batches: state.batches },
    };
  }

  /** run() followed by the manifest's post-processing: label map, voxels per label, uncertainty. */
  async segment(volume: VoxelArray, dims: Vec3, manifest: ModelManifest): Promise<SegmentationResult> {
    const pooled = manifest.inference.mode === 'sliding-window';
    const result = await this.runModel(volume, dims, manifest, pooled);
    const started = performance.now();
    const segmentation = postprocess(result.channels, result.channelCount, dims, manifest);
    // The blended output is not part of the result: its buffer serves the next sliding-window job.
    if (pooled) outputPool.giveBack(result.channels);
    return { segmentation, timing: { ...result.timing, postprocessMs: performance.now() - started } };
  }

  /**
   * A classification model on one or more volumes (the views of an exam): one run per volume (mode 'whole'), or
   * one per z slice (mode 'per-slice': frames of a cine, slices of a series), the probabilities averaged over all.
   */
  async classify(images: readonly { volume: VoxelArray; dims: Vec3 }[], manifest: ModelManifest): Promise<{ classification: Classification; timing: InferenceTiming }> {
    const outputs: Float32Array[] = [];
    const timing: InferenceTiming = { sessionRunMs: 0, totalMs: 0, patches: 0, batches: 0 };
    let channels = 0;
    for (const { volume, dims } of images) {
      this.assertRunnable(volume, dims, manifest, 'classification');
      const run = await this.runImages(volume, dims, manifest);
      outputs.push(...run.outputs);
      if (channels && run.channels !== channels) throw new InferenceError(`output '${manifest.output.name}' gave ${run.channels} scores on one image and ${channels} on another`);
      channels = run.channels;
      addTiming(timing, run.timing);
    }
    return { classification: classifyScores(outputs, channels, manifest), timing };
  }

  /** A detection model on every z slice (or the one image) of the volume: boxes in the volume's pixel coordinates, `image` = slice. */
  async detect(volume: VoxelArray, dims: Vec3, manifest: ModelManifest): Promise<{ detections: Detection[]; uncertainty: number | null; timing: InferenceTiming }> {
    this.assertRunnable(volume, dims, manifest, 'detection');
    const { outputs, timing } = await this.runImages(volume, dims, manifest);
    const detections = outputs.flatMap((rows, slice) => decodeDetections(rows, slice, dims[0], dims[1], manifest));
    return { detections, uncertainty: detectionUncertainty(detections), timing };
  }

  /**
   * The model's raw output for each image it is fed: the whole (normalised) volume in mode 'whole', each z
   * slice in mode 'per-slice' (batched). Outputs are split per image along the batch axis.
   */
  private async runImages(volume: VoxelArray, dims: Vec3, manifest: ModelManifest): Promise<{ outputs: Float32Array[]; channels: number; timing: InferenceTiming }> {
    const started = performance.now();
    const [nx, ny, nz] = dims;
    const perSlice = manifest.inference.mode === 'per-slice';
    const imageVoxels = perSlice ? nx * ny : nx * ny * nz;
    const images = perSlice ? nz : 1;
    const voxels = nx * ny * nz;
    const inChannels = manifest.input.channels;
    const transforms = channelTransforms(volume, inChannels, manifest.preprocessing.intensity);
    const batch = perSlice ? (this.fixedBatch(manifest) ?? manifest.inference.batchSize) : 1;
    const buffer = new Float32Array(batch * inChannels * imageVoxels);
    const spatial = manifest.input.layout === 'NCDHW' ? [nz, ny, nx] : [ny, nx];
    const state: RunState = { sessionRunMs: 0, batches: 0, patches: 0 };
    const outputs: Float32Array[] = [];
    let channels = 0;
    for (let i0 = 0; i0 < images; i0 += batch) {
      const count = Math.min(batch, images - i0);
      fillImages(volume, voxels, imageVoxels, transforms, i0, count, buffer);
      const feed = this.fixedBatch(manifest) ?? count;
      const y = await this.infer(manifest, buffer.subarray(0, feed * inChannels * imageVoxels), [feed, inChannels, ...spatial], state);
      // [N, C] scores, [N, K, 6] boxes, or [K, 6] boxes for a batch of one.
      const batched = !(manifest.output.kind === 'boxes' && y.dims.length === 2);
      if (batched && y.dims[0] !== feed)
        throw new InferenceError(`output '${manifest.output.name}' has shape [${y.dims.join(', ')}] for a batch of ${feed}; expected the batch first`);
      const per = batched ? y.data.length / feed : y.data.length;
      channels = manifest.output.kind === 'boxes' ? 6 : per;
      for (let b = 0; b < count; b++) outputs.push(y.data.slice(b * per, (b + 1) * per));
      state.patches += count;
    }
    return { outputs, channels, timing: { sessionRunMs: state.sessionRunMs, totalMs: performance.now() - started, patches: state.patches, batches: state.batches } };
  }

  release(): Promise<void> {
    return this.session.release();
  }

  private assertRunnable(volume: VoxelArray, dims: Vec3, manifest: ModelManifest, purpose: 'segmentation' | 'classification' | 'detection'): void {
    const kind = manifest.task === 'segmentation-3d' || manifest.task === 'segmentation-2d' ? 'segmentation' : manifest.task;
    if (kind !== purpose) throw new InferenceError(`manifest '${manifest.name}' is a ${manifest.task} model; it cannot be used for ${purpose}`);
    const problems = this.check(manifest);
    if (problems.length) throw new InferenceError(`model ${this.checksum.slice(0, 12)} does not match manifest '${manifest.name}'`, problems);
    if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0))
      throw new InferenceError(`dims must be three positive whole numbers [x, y, z], got [${dims.join(', ')}]`);
    const voxels = dims[0] * dims[1] * dims[2];
    if (volume.length !== voxels * manifest.input.channels)
      throw new InferenceError(
        `volume has ${volume.length} values but dims ${dims.join('x')} with ${manifest.input.channels} channel(s) need ${voxels * manifest.input.channels}`,
      );
    const grid = manifest.preprocessing.fixedGrid;
    if (grid && (grid[0] !== dims[0] || grid[1] !== dims[1] || (manifest.inference.mode !== 'per-slice' && grid[2] !== dims[2])))
      throw new InferenceError(
        `volume is ${dims.join('x')} but manifest '${manifest.name}' needs the fixed grid ${grid.join('x')}; resample (conform) the volume first`,
      );
    if (manifest.input.layout === 'NCHW' && manifest.inference.mode === 'whole' && dims[2] !== 1)
      throw new InferenceError(`manifest '${manifest.name}' runs an NCHW model on one 2D image, but the volume has ${dims[2]} slices; use mode 'per-slice'`);
  }

  /** A fixed batch size declared by the model (then every batch is sent full), else undefined. */
  private fixedBatch(manifest: ModelManifest): number | undefined {
    const b = this.signature.inputs.find((i) => i.name === manifest.input.name)?.shape?.[0];
    return typeof b === 'number' ? b : undefined;
  }

  /** The output channel count the model declares, when it is a fixed number. */
  private declaredChannels(manifest: ModelManifest): number | undefined {
    const c = this.signature.outputs.find((o) => o.name === manifest.output.name)?.shape?.[1];
    return typeof c === 'number' ? c : undefined;
  }

  /**
   * One session.run. With `into`, onnxruntime writes the output straight into that buffer (no allocation per
   * batch); without, it allocates and the output's shape is whatever the model produced.
   */
  private async infer(
    manifest: ModelManifest,
    data: Float32Array,
    shape: number[],
    state: RunState,
    into?: { data: Float32Array; dims: number[] },
  ): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const feeds = { [manifest.input.name]: new ort.Tensor('float32', data, shape) };
    const fetches = into ? { [manifest.output.name]: new ort.Tensor('float32', into.data, into.dims) } : [manifest.output.name];
    const t = performance.now();
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.session.run(feeds, fetches);
    } catch (err) {
      const expected = into ? ` into an output of shape [${into.dims.join(', ')}]` : '';
      throw new InferenceError(`onnxruntime failed on input '${manifest.input.name}' of shape [${shape.join(', ')}]${expected}: ${(err as Error).message}`);
    }
    state.sessionRunMs += performance.now() - t;
    state.batches++;
    if (into) return into;
    const tensor = result[manifest.output.name] as ort.Tensor;
    if (tensor.type !== 'float32') throw new InferenceError(`output '${manifest.output.name}' is ${tensor.type}, not float32`);
    return { data: tensor.data as Float32Array, dims: tensor.dims };
  }

  /** Checks an output batch is [batch, C, ...spatial] and returns C. */
  private outputChannels(manifest: ModelManifest, dims: readonly number[], batch: number, spatial: number[]): number {
    const ok = dims.length === spatial.length + 2 && dims[0] === batch && spatial.every((s, i) => dims[i + 2] === s);
    if (!ok)
      throw new InferenceError(
        `output '${manifest.output.name}' has shape [${dims.join(', ')}] for an input batch of ${batch} x [${spatial.join(', ')}]; expected [${batch}, C, ${spatial.join(', ')}]`,
      );
    return dims[1];
  }

  private async runWhole(volume: VoxelArray, dims: Vec3, manifest: ModelManifest, transforms: IntensityTransform[], state: RunState) {
    const [nx, ny, nz] = dims;
    const voxels = nx * ny * nz;
    const inChannels = manifest.input.channels;
    // The one "batch" of whole-volume mode is the normalised volume itself.
    const input = new Float32Array(voxels * inChannels);
    for (let c = 0; c < inChannels; c++) {
      const t = transforms[c];
      for (let i = c * voxels; i < (c + 1) * voxels; i++) input[i] = applyIntensity(volume[i], t);
    }
    const spatial = manifest.input.layout === 'NCDHW' ? [nz, ny, nx] : [ny, nx];
    // With a declared channel count the model writes straight into the output volume.
    const declared = this.declaredChannels(manifest);
    const into = declared ? { data: new Float32Array(declared * voxels), dims: [1, declared, ...spatial] } : undefined;
    const y = await this.infer(manifest, input, [1, inChannels, ...spatial], state, into);
    state.patches = 1;
    const channelCount = this.outputChannels(manifest, y.dims, 1, spatial);
    return { channels: y.data, channelCount };
  }

  private async runPerSlice(volume: VoxelArray, dims: Vec3, manifest: ModelManifest, transforms: IntensityTransform[], state: RunState) {
    const [nx, ny, nz] = dims;
    const sliceVoxels = nx * ny;
    const voxels = sliceVoxels * nz;
    const inChannels = manifest.input.channels;
    const batch = this.fixedBatch(manifest) ?? manifest.inference.batchSize;
    const buffer = new Float32Array(batch * inChannels * sliceVoxels);
    let output: Float32Array | undefined;
    // Reused for every batch once the channel count is known (declared by the model, or seen in batch one).
    let channelCount = this.declaredChannels(manifest) ?? 0;
    let batchOutput = channelCount ? new Float32Array(batch * channelCount * sliceVoxels) : undefined;
    for (let z0 = 0; z0 < nz; z0 += batch) {
      const count = Math.min(batch, nz - z0);
      fillImages(volume, voxels, sliceVoxels, transforms, z0, count, buffer);
      const feed = this.fixedBatch(manifest) ?? count;
      const into = batchOutput && { data: batchOutput.subarray(0, feed * channelCount * sliceVoxels), dims: [feed, channelCount, ny, nx] };
      const y = await this.infer(manifest, buffer.subarray(0, feed * inChannels * sliceVoxels), [feed, inChannels, ny, nx], state, into);
      channelCount = this.outputChannels(manifest, y.dims, feed, [ny, nx]);
      output ??= new Float32Array(channelCount * voxels);
      batchOutput ??= new Float32Array(batch * channelCount * sliceVoxels);
      for (let b = 0; b < count; b++)
        for (let c = 0; c < channelCount; c++) {
          const src = (b * channelCount + c) * sliceVoxels;
          output.set(y.data.subarray(src, src + sliceVoxels), c * voxels + (z0 + b) * sliceVoxels);
        }
      state.patches += count;
    }
    return { channels: output!, channelCount };
  }

  private async runSlidingWindow(volume: VoxelArray, dims: Vec3, manifest: ModelManifest, transforms: IntensityTransform[], state: RunState, pooled: boolean) {
    const { patchSize, overlap, blending, sigmaScale, padding } = manifest.inference;
    const plan = planSlidingWindow(dims, patchSize!, { overlap, blending, sigmaScale });
    const [px, py, pz] = plan.patchSize;
    const patchVoxels = px * py * pz;
    const inChannels = manifest.input.channels;
    const batch = this.fixedBatch(manifest) ?? manifest.inference.batchSize;
    const buffer = new Float32Array(batch * inChannels * patchVoxels);
    const spatial = manifest.input.layout === 'NCDHW' ? [pz, py, px] : [py, px];
    const map = transforms.every(isIdentityTransform) ? undefined : (v: number, c: number) => applyIntensity(v, transforms[c]);
    let output: Float32Array | undefined;
    let channelCount = this.declaredChannels(manifest) ?? 0;
    let batchOutput = channelCount ? new Float32Array(batch * channelCount * patchVoxels) : undefined;
    // For segment(), whose output only feeds the softmax: logits blended relative to channel 0 (see accumulatePatch).
    const relative = pooled && manifest.output.kind === 'logits' && manifest.postprocessing.activation === 'softmax';
    for (let p0 = 0; p0 < plan.patchCount; p0 += batch) {
      const count = Math.min(batch, plan.patchCount - p0);
      for (let b = 0; b < count; b++) extractPatch(plan, volume, inChannels, p0 + b, buffer, b * inChannels * patchVoxels, padding, map);
      const feed = this.fixedBatch(manifest) ?? count;
      const into = batchOutput && { data: batchOutput.subarray(0, feed * channelCount * patchVoxels), dims: [feed, channelCount, ...spatial] };
      const y = await this.infer(manifest, buffer.subarray(0, feed * inChannels * patchVoxels), [feed, inChannels, ...spatial], state, into);
      channelCount = this.outputChannels(manifest, y.dims, feed, spatial);
      output ??= pooled ? outputPool.take(channelCount * dims[0] * dims[1] * dims[2]) : new Float32Array(channelCount * dims[0] * dims[1] * dims[2]);
      batchOutput ??= new Float32Array(batch * channelCount * patchVoxels);
      for (let b = 0; b < count; b++) accumulatePatch(plan, output, channelCount, p0 + b, y.data, b * channelCount * patchVoxels, relative);
      state.patches += count;
    }
    return { channels: output!, channelCount };
  }
}

/**
 * Copies images first..first+count-1 (each `imageVoxels` long; channel c starts at c · voxels) into a batch
 * buffer [b][c][...], normalised by the per-channel transforms.
 */
function fillImages(volume: VoxelArray, voxels: number, imageVoxels: number, transforms: IntensityTransform[], first: number, count: number, buffer: Float32Array): void {
  const channels = transforms.length;
  for (let b = 0; b < count; b++)
    for (let c = 0; c < channels; c++) {
      const t = transforms[c];
      const src = c * voxels + (first + b) * imageVoxels;
      const dst = (b * channels + c) * imageVoxels;
      for (let i = 0; i < imageVoxels; i++) buffer[dst + i] = applyIntensity(volume[src + i], t);
    }
}

/**
 * Sliding-window output volumes kept between jobs. Blending writes every voxel of a volume-sized output (600 MB
 * for two channels of a 512x512x300 CT), and the first touch of a fresh buffer's pages cost as much as the
 * blending itself (1.6 s of 3.3 s measured); a reused buffer is only zeroed. One idle buffer is kept: a worker
 * pre-labels series of a few sizes, and memory stays bounded.
 */
const outputPool = {
  idle: null as Float32Array | null,
  take(length: number): Float32Array {
    const buffer = this.idle;
    if (buffer && buffer.length === length) {
      this.idle = null;
      return buffer.fill(0);
    }
    return new Float32Array(length);
  },
  giveBack(buffer: Float32Array): void {
    this.idle = buffer;
  },
};

interface RunState {
  sessionRunMs: number;
  batches: number;
  patches: number;
}

/** Holds one warm session per model file and runs manifests against them. A plain class: wrap it in Nest as needed. */
export class ModelRunner {
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly logger: { warn(message: string): void };

  constructor(private readonly options: ModelRunnerOptions = {}) {
    this.logger = options.logger ?? { warn: (m) => console.warn(m) };
  }

  /** Loads (or returns the already-warm) model for a file path or the model's bytes. */
  async load(source: string | Uint8Array): Promise<LoadedModel> {
    let bytes: Uint8Array;
    try {
      bytes = typeof source === 'string' ? await readFile(source) : source;
    } catch (err) {
      throw new InferenceError(`cannot read model file '${source as string}': ${(err as Error).message}`);
    }
    const checksum = createHash('sha256').update(bytes).digest('hex');
    let model = this.models.get(checksum);
    if (!model) {
      model = this.createSession(checksum, bytes);
      this.models.set(checksum, model);
      // A failed load is not cached: the next call tries again.
      model.catch(() => this.models.delete(checksum));
    }
    return model;
  }

  /** load(source) then run(). */
  async run(source: string | Uint8Array, volume: VoxelArray, dims: Vec3, manifest: ModelManifest): Promise<InferenceResult> {
    return (await this.load(source)).run(volume, dims, manifest);
  }

  /** Checksums of the models with a session. */
  get loadedChecksums(): string[] {
    return [...this.models.keys()];
  }

  /** Releases every session; the runner can still load again afterwards. */
  async release(): Promise<void> {
    const models = [...this.models.values()];
    this.models.clear();
    await Promise.all(models.map(async (m) => (await m.catch(() => undefined))?.release()));
  }

  private async createSession(checksum: string, bytes: Uint8Array): Promise<LoadedModel> {
    // No CPU memory arena and no memory pattern: the arena keeps (and over-allocates, growing by powers of two)
    // its high-water mark for the life of the session. MeshNet on a 256^3 volume: peak RSS 2.26 GB with it,
    // 0.98 GB without, for ~4 % more time in session.run.
    const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', enableCpuMemArena: false, enableMemPattern: false };
    if (this.options.intraOpNumThreads !== undefined) base.intraOpNumThreads = this.options.intraOpNumThreads;
    const requested = this.options.executionProviders ?? ['cpu'];
    let fallbackReason: string | undefined;
    if (requested.includes('cuda')) {
      try {
        // CPU stays listed after CUDA so operators CUDA lacks still run.
        const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cuda', 'cpu'], logSeverityLevel: 4 });
        return new LoadedModel(checksum, session, 'cuda');
      } catch (err) {
        fallbackReason = `CUDA execution provider unavailable (${(err as Error).message.split('\n')[0]})`;
        this.logger.warn(`model ${checksum.slice(0, 12)}: ${fallbackReason}; running on CPU`);
      }
    }
    try {
      const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] });
      return new LoadedModel(checksum, session, 'cpu', fallbackReason);
    } catch (err) {
      throw new InferenceError(`onnxruntime cannot load model ${checksum.slice(0, 12)}: ${(err as Error).message}`);
    }
  }
}
