// Pre-labelling of one task (prelabel queue, worker): the project's models that apply to the task draft it, one
// per output: a segmentation model's mask, a detector's boxes, a classifier's answer to its question. The task's
// images (its series, each view of a view group, or an instance's frames) are put on each model's grid, run
// through ONNX Runtime (one warm session per model per process), post-processed and brought back to the task's
// own grid and pixels; the parts are stored as one draft label version, with an uncertainty score that raises
// the task's routing priority. A model that fails leaves the task going to annotators without its part, with the
// reason recorded.
import { BadRequestException, Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Actor, systemActor } from '@contour/audit';
import { CONFIG, ContourConfig } from '@contour/config';
import { Instance, LabelProtocol, LabelVersion, Model, Project, Series, Task } from '@contour/db';
import { readDicom } from '@contour/dicom';
import { SegmentDefinition, writeSegmentation } from '@contour/seg';
import { addTiming, Detection, detectionUncertainty, InferenceError, LoadedModel, manifestAppliesTo, ModelManifest, ModelRunner } from '@contour/inference';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { findStuckTasks, lockTaskReads, TaskGrid, TaskLifecycle } from '@contour/tasks';
import { JobName, JobQueue, prelabelJobId, QueueName } from '@contour/queue';
import { conformTo, coveringGrid, frameSources, resizeTo, sliceSources, StoredSeriesGeometry, toNativePixels, unconform, type Grid } from '@contour/volume';
import { BoxShape, encodeLabelMapAsync, LABELMAP_ENCODING, labelCounts, MAX_SHAPES, parseProjectSettings, SHAPES_KEY, TaskEvent, TaskState } from '@contour/workflow';
import { ModelRegistry } from './model-registry.service';
import { LoadedVolume, SeriesVolumeLoader } from './series-volume.service';

const actor: Actor = systemActor('prelabel');
type ProtocolLabel = { id: number; name: string; color?: string; code?: { value: string; scheme: string; meaning: string } };

export interface PrelabelOutcome {
  taskId: string;
  status: 'drafted' | 'no-model' | 'skipped' | 'failed';
  reason?: string;
  uncertainty?: number | null;
  timing?: { totalMs: number; sessionRunMs: number; loadMs: number; preprocessMs: number; inferMs: number; postprocessMs: number; storeMs: number };
}

type MappableLabel = { id: number; name: string; code?: { value: string; scheme?: string } };

/**
 * Maps the model's label values (1..n, manifest order) to the protocol's label ids: by code (value, and scheme
 * when both give one) over all the protocol's labels first, then by name. Without a protocol the model's own
 * numbers stand. `unmapped`: the model's labels the protocol lacks (left out of the draft).
 */
export function labelMapping(manifest: ModelManifest, protocolLabels: MappableLabel[] | null): Map<number, number> & { unmapped: string[] } {
  const map = Object.assign(new Map<number, number>(), { unmapped: [] as string[] });
  manifest.labels.forEach((l, i) => {
    if (!protocolLabels) return map.set(i + 1, i + 1);
    const code = l.code;
    const byCode = code && protocolLabels.find((p) => p.code && p.code.value === code.value && (!p.code.scheme || !code.scheme || p.code.scheme === code.scheme));
    const match = byCode ?? protocolLabels.find((p) => p.name.toLowerCase() === l.name.toLowerCase());
    if (match) map.set(i + 1, match.id);
    else map.unmapped.push(l.name);
  });
  // A model none of whose labels the protocol knows would give an empty draft that looks like "nothing found".
  if (protocolLabels && map.size === 0)
    throw new ProtocolMismatch(
      `none of the model's labels (${manifest.labels.map((l) => `'${l.name}'`).join(', ')}) is a label of the protocol (${protocolLabels.map((p) => `'${p.name}'`).join(', ') || 'none'}): match them by name or by code`,
    );
  return map;
}

/** A model's draft for a task: a mask (blobKey) or answers (classification choices, boxes), with its numbers. */
interface Draft {
  model: Model;
  blobKey: string | null;
  segKey: string | null;
  answers: Record<string, unknown>;
  grid: Record<string, unknown> | null;
  stats: Record<string, unknown>;
  uncertainty: number | null;
}

/** The task's draft: the parts of every model that drafted it, merged. */
interface MergedDraft extends Omit<Draft, 'model'> {
  models: Model[];
}

type Part = { model: Model; draft: Draft };
type Chosen = { model: Model; manifest: ModelManifest };

/** "name version" of each model of a draft. */
const draftModels = (d: MergedDraft) => d.models.map((m) => `${m.name} ${m.version}`).join(', ');

/**
 * Which of the applicable models (in the project's order) pre-label a task: one per output, so their drafts
 * combine: the first segmentation model draws the mask, the first detector the boxes, and the first classifier
 * of each question answers it.
 */
export function pickModels<T extends { manifest: ModelManifest }>(candidates: T[]): T[] {
  const taken = new Set<string>();
  return candidates.filter((c) => {
    const m = c.manifest;
    const slot = m.task === 'classification' ? `question:${m.question!.trim().toLowerCase()}` : m.task === 'detection' ? 'boxes' : 'mask';
    if (taken.has(slot)) return false;
    taken.add(slot);
    return true;
  });
}

/**
 * One draft from the parts of several models: the mask (and SEG) of the segmentation model, the answers and
 * boxes of the others, the highest uncertainty (the task is as uncertain as its least sure model). One part's
 * statistics are kept as they are; several are listed per model, with their outputs' numbers side by side.
 */
export function mergeDrafts(parts: readonly Part[]): MergedDraft {
  const mask = parts.find((p) => p.draft.blobKey);
  const uncertainties = parts.map((p) => p.draft.uncertainty).filter((u): u is number => u !== null && u !== undefined);
  const uncertainty = uncertainties.length ? Math.max(...uncertainties) : null;
  let stats: Record<string, unknown>;
  if (parts.length === 1) stats = parts[0].draft.stats;
  else {
    const classifications = parts.map((p) => p.draft.stats.classification).filter(Boolean);
    const outputs = parts.map((p) => {
      const { timing: _timing, uncertainty: _uncertainty, classification: _classification, ...rest } = p.draft.stats;
      return rest;
    });
    stats = {
      ...Object.assign({}, ...outputs),
      ...(classifications.length === 1 ? { classification: classifications[0] } : classifications.length ? { classifications } : {}),
      uncertainty,
      models: parts.map((p) => ({ name: p.model.name, version: p.model.version, uncertainty: p.draft.uncertainty, timing: p.draft.stats.timing })),
    };
  }
  return {
    models: parts.map((p) => p.model),
    blobKey: mask?.draft.blobKey ?? null,
    segKey: mask?.draft.segKey ?? null,
    grid: mask?.draft.grid ?? null,
    answers: Object.assign({}, ...parts.map((p) => p.draft.answers)),
    stats,
    uncertainty,
  };
}

/** One image of the task on the model's input grid, with what brings results back to the task's grid. */
interface Prepared {
  seriesId: string;
  volume: LoadedVolume;
  input: LoadedVolume['data'];
  dims: [number, number, number];
  /** Absent when the model runs on the native grid. */
  back?: { dims: [number, number, number]; affineRas: number[][]; native: Grid };
}

/** Why the model cannot pre-label a task of this kind, or null. */
export function unsupportedReason(kind: string, manifest: ModelManifest): string | null {
  const segmentation = manifest.task === 'segmentation-3d' || manifest.task === 'segmentation-2d';
  if (segmentation && kind === 'view-group') return `${manifest.name} draws masks, and view-group tasks take boxes, points and answers per view`;
  // Each image of a task is one grey-level volume (colour becomes luminance): a model wanting several channels at
  // once (MR sequences stacked, RGB) would fail on every attempt.
  if (manifest.input.channels > 1)
    return `${manifest.name} takes ${manifest.input.channels} input channels, and Contour feeds a model one single-channel image at a time (multi-channel input is not supported)`;
  return null;
}

/**
 * The volume on the grid the manifest asks for. Orientation 'native' keeps the image's own axes and only
 * resizes (a 2D image stays in its plane; per-slice models keep every slice); any other orientation is a
 * conform (reorientation and resampling, e.g. FreeSurfer's LIA 256^3).
 */
export function prepareInput(volume: Pick<LoadedVolume, 'data' | 'dims' | 'affineRas'>, manifest: ModelManifest): { input: LoadedVolume['data']; dims: [number, number, number]; back?: Prepared['back'] } {
  const pre = manifest.preprocessing;
  const grid = { dims: volume.dims, affineRas: volume.affineRas };
  if (pre.orientation && pre.orientation !== 'native') {
    // Without a fixed grid the conformed grid covers the whole image (at the manifest's spacing, else the image's own).
    const target = pre.fixedGrid ? { dims: pre.fixedGrid, spacing: pre.spacing ?? undefined } : coveringGrid(grid, pre.orientation, pre.spacing ?? undefined);
    const c = conformTo({ data: volume.data }, grid, { ...target, orientation: pre.orientation });
    return { input: c.data as LoadedVolume['data'], dims: c.dims, back: c };
  }
  if (!pre.fixedGrid && !pre.spacing) return { input: volume.data, dims: volume.dims };
  // A per-slice model sees every slice: only the in-plane size (or spacing) is the manifest's.
  const perSlice = manifest.inference.mode === 'per-slice';
  const g = pre.fixedGrid;
  const sp = pre.spacing;
  const r = g
    ? resizeTo({ data: volume.data }, grid, { dims: [g[0], g[1], perSlice ? volume.dims[2] : g[2]] })
    : resizeTo({ data: volume.data }, grid, { spacing: [sp![0], sp![1], perSlice ? spacingOf(volume.affineRas, 2) : sp![2]] });
  return { input: r.data as LoadedVolume['data'], dims: r.dims, back: r };
}

const spacingOf = (a: number[][], axis: number) => Math.hypot(a[0][axis], a[1][axis], a[2][axis]);

/** A detection on the model's input grid as a box on the task's image: corners mapped back, slice from the box centre. */
export function nativeBox(d: Detection, image: Pick<Prepared, 'back' | 'volume'>): { slice: number; box: [number, number, number, number] } {
  if (!image.back) return { slice: d.image, box: d.box };
  const toNative = toNativePixels(image.back);
  const [x0, y0, x1, y1] = d.box;
  const z = d.image + 0.5;
  const corners = [toNative([x0, y0, z]), toNative([x1, y0, z]), toNative([x0, y1, z]), toNative([x1, y1, z])];
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  const [w, h, slices] = image.volume.dims;
  const clip = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  const slice = Math.min(slices - 1, Math.max(0, Math.floor(toNative([(x0 + x1) / 2, (y0 + y1) / 2, z])[2])));
  return { slice, box: [clip(Math.min(...xs), w), clip(Math.min(...ys), h), clip(Math.max(...xs), w), clip(Math.max(...ys), h)] };
}

/**
 * The model's label values (1..n) as the protocol's label ids. When every value maps to itself the model's map
 * is returned as it is (no 80 M-voxel copy for a CT).
 */
export function remapLabels(labels: Uint8Array, mapping: Map<number, number>, modelLabelCount: number): Uint8Array {
  let identity = true;
  for (let v = 1; v <= modelLabelCount; v++) if ((mapping.get(v) ?? 0) !== v) identity = false;
  if (identity) return labels;
  const lut = new Uint8Array(256);
  for (const [from, to] of mapping) lut[from] = to;
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = lut[labels[i]];
  return out;
}

/** At most `max` items, the highest scores kept, in their original order (all of them when they fit). */
export function bestScoring<T>(items: T[], max: number, score: (item: T) => number): T[] {
  if (items.length <= max) return items;
  const cut = items.map(score).sort((a, b) => b - a)[max - 1];
  let ties = items.filter((i) => score(i) > cut).length;
  return items.filter((i) => score(i) > cut || (score(i) === cut && ties++ < max));
}

/** The model does not fit the task's protocol (a question or choice it lacks): retrying cannot help. */
export class ProtocolMismatch extends Error {}

/** The protocol's classification question the model answers; every model choice must be one of its choices. */
export function protocolQuestion(manifest: ModelManifest, protocol: Pick<LabelProtocol, 'definition'> | null): { question: string; choices: string[]; multiple: boolean } {
  const types = ((protocol?.definition.annotationTypes ?? []) as { kind: string; question?: string; choices?: string[]; multiple?: boolean }[]).filter((t) => t.kind === 'classification');
  const wanted = manifest.question!.trim().toLowerCase();
  const found = types.find((t) => t.question!.trim().toLowerCase() === wanted);
  if (!found) throw new ProtocolMismatch(`the protocol has no classification question '${manifest.question}' (its questions: ${types.map((t) => `'${t.question}'`).join(', ') || 'none'})`);
  const missing = manifest.labels.filter((l) => !found.choices!.some((c) => c.toLowerCase() === l.name.toLowerCase())).map((l) => `'${l.name}'`);
  if (missing.length) throw new ProtocolMismatch(`the model's choice(s) ${missing.join(', ')} are not choices of '${found.question}' (${found.choices!.map((c) => `'${c}'`).join(', ')})`);
  return { question: found.question!, choices: found.choices!, multiple: Boolean(found.multiple) };
}

/** The routing priority points an uncertainty score in [0, 1] is worth. */
const uncertaintyPoints = (uncertainty: number | null | undefined) => (uncertainty != null ? Math.round(uncertainty * 100) : 0);

@Injectable()
export class PrelabelService implements OnApplicationShutdown {
  private readonly logger = new Logger(PrelabelService.name);
  private readonly runner: ModelRunner;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(CONFIG) config: ContourConfig,
    private readonly models: ModelRegistry,
    private readonly volumes: SeriesVolumeLoader,
    private readonly lifecycle: TaskLifecycle,
    private readonly grids: TaskGrid,
    private readonly jobs: JobQueue,
  ) {
    this.runner = new ModelRunner({ intraOpNumThreads: config.inference.threads, executionProviders: config.inference.providers, logger: { warn: (m: string) => this.logger.warn(m) } });
  }

  private async loaded(model: Model): Promise<LoadedModel> {
    // The runner caches sessions by checksum: one warm session per model per process.
    return this.runner.load(new Uint8Array(await this.models.file(model)));
  }

  /** The project's models that apply to the task's series, in the project's order. */
  private async applicableModels(task: Task, modelIds: string[]): Promise<Chosen[]> {
    const series = await this.dataSource.getRepository(Series).findOneByOrFail({ id: task.seriesIds[0] });
    const out: Chosen[] = [];
    for (const id of modelIds) {
      const model = await this.dataSource.getRepository(Model).findOneBy({ id });
      if (!model) continue;
      const manifest = model.manifest as unknown as ModelManifest;
      // A NIfTI has no Series Description to match (its series is described as "NIfTI volume"): modality and body part decide.
      const seriesDescription = series.source === 'nifti' ? undefined : series.description;
      if (manifestAppliesTo(manifest, { modality: series.modality, bodyPartExamined: series.bodyPart ?? undefined, seriesDescription })) out.push({ model, manifest });
    }
    return out;
  }

  async run(taskId: string, finalAttempt: boolean): Promise<PrelabelOutcome> {
    const task = await this.dataSource.getRepository(Task).findOneBy({ id: taskId });
    if (!task || task.state !== TaskState.Prelabelling) return { taskId, status: 'skipped', reason: `task is ${task?.state ?? 'gone'}` };
    const project = await this.dataSource.getRepository(Project).findOneByOrFail({ id: task.projectId });
    const settings = parseProjectSettings(project.settings);
    const applicable = pickModels(await this.applicableModels(task, settings.prelabelModels));
    const reasons = applicable.map((c) => unsupportedReason(task.kind, c.manifest));
    const unsupported = reasons.filter((r): r is string => r !== null);
    const chosen = applicable.filter((_, i) => reasons[i] === null);
    if (!chosen.length) {
      const reason = unsupported[0] ?? 'no registered model of the project applies to this series';
      await this.finish(task, null, reason);
      return { taskId, status: 'no-model', reason };
    }
    const t0 = performance.now();
    let protocol: LabelProtocol | null;
    let images: Awaited<ReturnType<SeriesVolumeLoader['loadForTask']>>;
    try {
      protocol = await this.grids.protocolOf(task);
      images = await this.volumes.loadForTask(task);
    } catch (e) {
      if (!finalAttempt) throw e;
      const reason = `the task's images could not be read for pre-labelling: ${(e as Error).message}`;
      await this.finish(task, null, reason);
      return { taskId, status: 'failed', reason };
    }
    const loadMs = performance.now() - t0;
    const parts: Part[] = [];
    const failures: string[] = [...unsupported];
    const totals = { sessionRunMs: 0, preprocessMs: 0, inferMs: 0, postprocessMs: 0, storeMs: 0 };
    for (const c of chosen) {
      try {
        const t1 = performance.now();
        const prepared = images.map((image) => ({ seriesId: image.seriesId, volume: image.volume, ...prepareInput(image.volume, c.manifest) }));
        const t2 = performance.now();
        const model = await this.loaded(c.model);
        let result: { draft: Draft; sessionRunMs: number; inferMs: number; postprocessMs: number; storeStart: number };
        if (c.manifest.task === 'classification') result = await this.classify(task, model, prepared, c.manifest, protocol, c.model, t2);
        else if (c.manifest.task === 'detection') result = await this.detect(task, model, prepared, c.manifest, protocol, c.model, t2);
        else result = await this.segment(task, model, prepared[0], c.manifest, protocol, c.model, t2);
        result.draft.stats.timing = { ...(result.draft.stats.timing as object), loadMs, preprocessMs: t2 - t1 };
        parts.push({ model: c.model, draft: result.draft });
        totals.sessionRunMs += result.sessionRunMs;
        totals.preprocessMs += t2 - t1;
        totals.inferMs += result.inferMs;
        totals.postprocessMs += result.postprocessMs;
        totals.storeMs += performance.now() - result.storeStart;
      } catch (e) {
        // Transient errors are retried by the queue (every model again); on the last attempt the task goes on with
        // the drafts of the models that worked. A model that does not fit the project's protocol fails the same way
        // every time: no retry.
        // Nor does a model whose tensors do not fit its manifest or the image (InferenceError): it fails alike on every attempt.
        if (!finalAttempt && !(e instanceof ProtocolMismatch || e instanceof BadRequestException || e instanceof InferenceError)) throw e;
        failures.push(`${c.model.name} ${c.model.version} failed: ${(e as Error).message}`);
      }
    }
    const reason = failures.length ? failures.join('; ') : undefined;
    if (!parts.length) {
      await this.finish(task, null, reason);
      return { taskId, status: 'failed', reason };
    }
    const draft = mergeDrafts(parts);
    await this.finish(task, draft, reason);
    const t5 = performance.now();
    const outcome = { taskId, status: 'drafted' as const, uncertainty: draft.uncertainty, reason, timing: { totalMs: t5 - t0, loadMs, ...totals } };
    this.logger.log({ taskId, models: parts.map((p) => p.model.name), uncertainty: draft.uncertainty, totalMs: Math.round(outcome.timing.totalMs), sessionRunMs: Math.round(totals.sessionRunMs) }, 'draft stored');
    return outcome;
  }

  /** A segmentation model's mask on the task's grid, stored as a label map (and as a DICOM SEG for DICOM series). */
  private async segment(task: Task, model: LoadedModel, image: Prepared, manifest: ModelManifest, protocol: LabelProtocol | null, record: Model, t2: number) {
    const { segmentation, timing } = await model.segment(image.input, image.dims, manifest);
    const t3 = performance.now();
    const native = image.back ? (unconform(segmentation.labelMap, image.back, 'nearest').data as Uint8Array) : segmentation.labelMap;
    const mapping = labelMapping(manifest, (protocol?.definition.labels as MappableLabel[]) ?? null);
    const draft = remapLabels(native, mapping, manifest.labels.length);
    const t4 = performance.now();
    // Post-processing counted the model's labels; they are the draft's when the labels kept their numbers.
    const voxels = draft === native && !image.back ? Object.fromEntries(segmentation.labels.filter((l) => l.voxels > 0).map((l) => [l.value, l.voxels])) : labelCounts(draft);
    // The label map is deflated on libuv's thread pool while this thread writes the DICOM SEG.
    // A SEG of a series, or of a task's one 2D image (a radiograph: pixel for pixel on it). One of an image that
    // cannot have one (a frame of a multi-frame object) is skipped with the reason; the draft itself stands.
    const segOf = image.volume.source !== 'dicom' ? null : task.kind === 'series' ? 'series' : (task.kind === 'image' || task.kind === 'frames') && task.instanceId ? 'image' : null;
    let segSkipped: string | undefined;
    // One that cannot be made (slices cut from one image, such as mosaic tiles, have no frame to reference) is
    // skipped with the reason; the draft itself stands.
    const seg = segOf && this.writeSeg(task, segOf, image.volume.dims[2], draft, voxels, manifest, mapping, protocol?.definition.labels as ProtocolLabel[] | undefined, record);
    const [blob, segKey] = await Promise.all([
      encodeLabelMapAsync(draft).then((encoded) => this.blobs.put(encoded)),
      seg?.catch((e: Error) => {
        segSkipped = e.message;
        this.logger.warn({ taskId: task.id, reason: e.message }, 'no DICOM SEG for this draft');
        return null;
      }) ?? null,
    ]);
    const uncertainty = segmentation.uncertainty.score;
    const stats = { voxels, uncertainty, modelLabels: segmentation.labels, ...(mapping.unmapped.length ? { unmappedLabels: mapping.unmapped } : {}), ...(segSkipped ? { segSkipped } : {}), timing: { ...timing, storeDraftMs: performance.now() - t4 } };
    const grid = await this.grids.gridOf(task);
    return {
      draft: { model: record, blobKey: blob.key, segKey, answers: {}, grid: { seriesId: grid.seriesId, dims: grid.dims }, stats, uncertainty },
      sessionRunMs: timing.sessionRunMs,
      inferMs: t3 - t2,
      postprocessMs: t4 - t3,
      storeStart: t4,
    };
  }

  /**
   * A classification model's answer to its protocol question: every image of the task (slices or frames in
   * per-slice mode, each view of a view group) is scored and the probabilities averaged.
   */
  private async classify(task: Task, model: LoadedModel, images: Prepared[], manifest: ModelManifest, protocol: LabelProtocol | null, record: Model, t2: number) {
    const question = protocolQuestion(manifest, protocol);
    const { classification, timing } = await model.classify(images.map((i) => ({ volume: i.input, dims: i.dims })), manifest);
    const t3 = performance.now();
    const choices = classification.choices.map((c) => question.choices.find((q) => q.toLowerCase() === c.toLowerCase())!);
    const answers = choices.length ? { [question.question]: question.multiple ? choices : choices[0] } : {};
    const uncertainty = classification.uncertainty;
    const stats = { classification: { question: question.question, choices, probabilities: classification.probabilities, images: classification.images, model: `${record.name} ${record.version}` }, uncertainty, timing };
    return { draft: { model: record, blobKey: null, segKey: null, answers, grid: null, stats, uncertainty }, sessionRunMs: timing.sessionRunMs, inferMs: t3 - t2, postprocessMs: 0, storeStart: t3 };
  }

  /**
   * A detection model's boxes on every slice (frame, view) of the task, brought back from the model's input
   * grid to the task's pixel coordinates and checked like an annotator's boxes.
   */
  private async detect(task: Task, model: LoadedModel, images: Prepared[], manifest: ModelManifest, protocol: LabelProtocol | null, record: Model, t2: number) {
    const mapping = labelMapping(manifest, (protocol?.definition.labels as MappableLabel[]) ?? null);
    let found: { d: Detection; shape: BoxShape }[] = [];
    const timing = { sessionRunMs: 0, totalMs: 0, patches: 0, batches: 0 };
    for (const image of images) {
      const run = await model.detect(image.input, image.dims, manifest);
      addTiming(timing, run.timing);
      for (const d of run.detections) {
        const label = mapping.get(d.label);
        if (label === undefined) continue;
        found.push({ d, shape: { kind: 'box', label, image: image.seriesId, ...nativeBox(d, image) } });
      }
    }
    // maxDetections holds per image; a read holds at most MAX_SHAPES shapes (a 300-slice series could give more):
    // the best-scoring ones are kept.
    const dropped = Math.max(0, found.length - MAX_SHAPES);
    found = bestScoring(found, MAX_SHAPES, (f) => f.d.score);
    const t3 = performance.now();
    const uncertainty = detectionUncertainty(found.map((f) => f.d));
    // The same checks as an annotator's boxes (protocol allows boxes, labels exist, inside the image).
    const answers = (await this.grids.checkAnswers(task, { [SHAPES_KEY]: found.map((f) => f.shape) })) ?? {};
    const stats = { detection: { boxes: found.length, dropped, scores: found.map((f) => Math.round(f.d.score * 1000) / 1000) }, uncertainty, ...(mapping.unmapped.length ? { unmappedLabels: mapping.unmapped } : {}), timing };
    return { draft: { model: record, blobKey: null, segKey: null, answers, grid: null, stats, uncertainty }, sessionRunMs: timing.sessionRunMs, inferMs: t3 - t2, postprocessMs: 0, storeStart: t3 };
  }

  /** Stores the draft (if any), raises the priority by the uncertainty, and hands the task to annotators. */
  /**
   * The draft as a DICOM SEG referencing the de-identified source instances, with the protocol's segment
   * descriptions and codes (or the model's, when the project has no protocol).
   */
  private async writeSeg(task: Task, segOf: 'series' | 'image', slices: number, draft: Uint8Array, voxels: Record<string, number>, manifest: ModelManifest, mapping: Map<number, number>, protocolLabels: ProtocolLabel[] | undefined, model: Model): Promise<string | null> {
    const present = new Set(Object.keys(voxels).map(Number));
    const segments: SegmentDefinition[] = [];
    for (const [from, to] of mapping) {
      if (!present.has(to)) continue;
      const p = protocolLabels?.find((l) => l.id === to);
      const m = manifest.labels[from - 1];
      const code = p?.code ?? m.code;
      segments.push({ labelValue: to, label: p?.name ?? m.name, color: p?.color, type: code ? { value: code.value, scheme: code.scheme, meaning: code.meaning } : { value: '85756007', scheme: 'SCT', meaning: 'Tissue' }, algorithmType: 'AUTOMATIC', algorithmName: model.name, algorithmVersion: model.version });
    }
    if (!segments.length) return null;
    const series = await this.dataSource.getRepository(Series).findOneByOrFail({ id: task.seriesIds[0] });
    const instances = await this.dataSource.getRepository(Instance).findBy({ seriesId: series.id });
    const byId = new Map(instances.map((i) => [i.id, i]));
    const refs = segOf === 'series' ? sliceSources(series.geometry as unknown as StoredSeriesGeometry) : frameSources(task.instanceId!, task.frameStart, slices, byId.get(task.instanceId!)!.numberOfFrames);
    const sources = [];
    // The SEG needs the sources' attributes, not their pixels: header-only parses, one per instance.
    for (const id of new Set(refs.ids)) sources.push(readDicom(await this.blobs.getBuffer(byId.get(id)!.blobKey), { untilPixelData: true }).dataset);
    const order = refs.ids.map((id) => byId.get(id)!.sopInstanceUid);
    const seg = writeSegmentation({ sources, order, sourceFrames: refs.frames, labelMap: draft, segments, seriesDescription: `Draft by ${model.name} ${model.version}`, softwareVersions: 'contour 0.1.0', contentLabel: 'DRAFT', uidSeed: `draft/${task.id}/${model.id}` });
    return (await this.blobs.put(seg)).key;
  }

  /**
   * Tasks left in "prelabelling" with no job to draft them (see stuck-tasks.ts in @contour/tasks): a job that was
   * never queued, or completed while the task waited, is queued again; for one that failed for good (a worker
   * killed on the same volume again and again, a model that cannot even be looked up) the task goes to annotators
   * without a draft, with the job's reason, as any failed pre-label does.
   */
  async recoverStuck(olderThanSeconds?: number): Promise<{ requeued: number; released: number }> {
    const queue = this.jobs.queue(QueueName.Prelabel);
    // A task's job is named by its project's current models.
    const projects: { id: string; settings: Record<string, unknown> }[] = await this.dataSource.query(`SELECT id, settings FROM projects WHERE id IN (SELECT project_id FROM tasks WHERE state = $1)`, [TaskState.Prelabelling]);
    const models = new Map(projects.map((p) => [p.id, parseProjectSettings(p.settings).prelabelModels]));
    const stuck = await findStuckTasks(this.dataSource, queue, TaskState.Prelabelling, (t) => prelabelJobId(t.id, models.get(t.projectId) ?? []), olderThanSeconds);
    let released = 0;
    for (const t of stuck) {
      if (t.jobState === 'failed') {
        const task = await this.dataSource.getRepository(Task).findOneBy({ id: t.id });
        if (task) await this.finish(task, null, `pre-labelling did not finish: ${t.job?.failedReason ?? 'unknown error'}`);
        released++;
      } else {
        await t.job?.remove();
        await this.jobs.add(JobName.PrelabelTask, { taskId: t.id, lane: 'batch' }, { jobId: t.jobId, priority: 10 });
      }
    }
    if (stuck.length) this.logger.warn(`pre-labelling: ${stuck.length - released} stuck task(s) queued again, ${released} sent to annotators without a draft`);
    return { requeued: stuck.length - released, released };
  }

  private async finish(task: Task, draft: MergedDraft | null, reason?: string) {
    await this.dataSource.transaction(async (m) => {
      // The task's reads before the task (lockTaskReads), as a manager's priority change or a privacy hold takes them.
      await lockTaskReads(m, task.id);
      const locked = await m.getRepository(Task).createQueryBuilder('t').setLock('pessimistic_write').where('t.id = :id', { id: task.id }).getOne();
      if (!locked || locked.state !== TaskState.Prelabelling) return;
      if (draft) {
        const [first, ...others] = draft.models;
        // The first model names the draft; with several, all of them are listed.
        const model = { id: first.id, name: first.name, version: first.version, ...(others.length ? { models: draft.models.map((x) => ({ id: x.id, name: x.name, version: x.version })) } : {}) };
        await m.save(m.create(LabelVersion, { taskId: task.id, projectId: task.projectId, kind: 'draft', authorId: null, model, round: 0, protocolVersion: task.protocolVersion, blobKey: draft.blobKey, segBlobKey: draft.segKey, encoding: LABELMAP_ENCODING, grid: draft.grid, answers: draft.answers, stats: draft.stats }));
      }
      // Uncertain drafts go first: up to +100 priority for a maximally uncertain model. A task drafted again (new
      // models) trades the earlier draft's points for the new one's rather than adding them up.
      const boost = uncertaintyPoints(draft?.uncertainty);
      const priority = locked.priority - locked.uncertaintyPoints + boost;
      await this.lifecycle.apply(m, task.id, TaskEvent.PrelabelDone, actor, draft ? `draft by ${draftModels(draft)}${reason ? ` (${reason})` : ''}` : reason, { uncertainty: draft?.uncertainty ?? null, uncertaintyPoints: boost, priority, stateReason: reason ?? null });
      // The reads keep the points their task earned by waiting.
      await m.query(`UPDATE task_reads SET priority = $2 + age_boost WHERE task_id = $1`, [task.id, priority]);
    });
  }

  /** After the workers drained (WorkerHost.beforeApplicationShutdown): a job in progress at SIGTERM keeps its model session to the end. */
  async onApplicationShutdown() {
    await this.runner.release();
  }
}
