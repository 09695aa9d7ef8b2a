// Pre-labelling of one task (prelabel queue, worker): the project's model drafts a mask on the task's series.
// The series is conformed to the model's grid, run through ONNX Runtime (one warm session per model per
// process), post-processed, brought back onto the native grid and stored as the task's draft label version,
// with an uncertainty score that raises the task's routing priority. A model that fails leaves the task
// going to annotators without a draft, with the reason recorded.
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Actor, AuditService, systemActor } from '@contour/audit';
import { CONFIG, ContourConfig } from '@contour/config';
import { Instance, LabelProtocol, LabelVersion, Model, Project, Series, Task } from '@contour/db';
import { readDicom } from '@contour/dicom';
import { SegmentDefinition, writeSegmentation } from '@contour/seg';
import { LoadedModel, manifestAppliesTo, ModelManifest, ModelRunner } from '@contour/inference';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { TaskLifecycle } from '@contour/tasks';
import { conformTo, unconform } from '@contour/volume';
import { encodeLabelMap, LABELMAP_ENCODING, labelCounts, parseProjectSettings, TaskEvent, TaskState } from '@contour/workflow';
import { ModelRegistry } from './model-registry.service';
import { SeriesVolumeLoader } from './series-volume.service';

const actor: Actor = systemActor('prelabel');
type ProtocolLabel = { id: number; name: string; color?: string; code?: { value: string; scheme: string; meaning: string } };

export interface PrelabelOutcome {
  taskId: string;
  status: 'drafted' | 'no-model' | 'skipped' | 'failed';
  reason?: string;
  uncertainty?: number | null;
  timing?: { totalMs: number; sessionRunMs: number; loadMs: number; preprocessMs: number; inferMs: number; postprocessMs: number; storeMs: number };
}

/** Maps the model's label values (1..n, manifest order) to the protocol's label ids, by code then by name. */
export function labelMapping(manifest: ModelManifest, protocolLabels: { id: number; name: string; code?: { value: string } }[] | null): Map<number, number> {
  const map = new Map<number, number>();
  manifest.labels.forEach((l, i) => {
    if (!protocolLabels) return map.set(i + 1, i + 1);
    const match = protocolLabels.find((p) => (l.code && p.code && p.code.value === l.code.value) || p.name.toLowerCase() === l.name.toLowerCase());
    if (match) map.set(i + 1, match.id);
  });
  return map;
}

@Injectable()
export class PrelabelService implements OnModuleDestroy {
  private readonly logger = new Logger(PrelabelService.name);
  private readonly runner: ModelRunner;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(CONFIG) config: ContourConfig,
    private readonly models: ModelRegistry,
    private readonly volumes: SeriesVolumeLoader,
    private readonly lifecycle: TaskLifecycle,
    private readonly audit: AuditService,
  ) {
    this.runner = new ModelRunner({ intraOpNumThreads: config.inference.threads, executionProviders: config.inference.providers, logger: { warn: (m: string) => this.logger.warn(m) } });
  }

  private async loaded(model: Model): Promise<LoadedModel> {
    // The runner caches sessions by checksum: one warm session per model per process.
    return this.runner.load(new Uint8Array(await this.models.file(model)));
  }

  /** The first of the project's models that applies to the task's series. */
  private async chooseModel(task: Task, modelIds: string[]): Promise<{ model: Model; manifest: ModelManifest } | null> {
    const series = await this.dataSource.getRepository(Series).findOneByOrFail({ id: task.seriesIds[0] });
    for (const id of modelIds) {
      const model = await this.dataSource.getRepository(Model).findOneBy({ id });
      if (!model) continue;
      const manifest = model.manifest as unknown as ModelManifest;
      if (manifestAppliesTo(manifest, { modality: series.modality, bodyPartExamined: series.bodyPart ?? undefined, seriesDescription: series.description })) return { model, manifest };
    }
    return null;
  }

  async run(taskId: string, finalAttempt: boolean): Promise<PrelabelOutcome> {
    const task = await this.dataSource.getRepository(Task).findOneBy({ id: taskId });
    if (!task || task.state !== TaskState.Prelabelling) return { taskId, status: 'skipped', reason: `task is ${task?.state ?? 'gone'}` };
    const project = await this.dataSource.getRepository(Project).findOneByOrFail({ id: task.projectId });
    const settings = parseProjectSettings(project.settings);
    const chosen = await this.chooseModel(task, settings.prelabelModels);
    if (!chosen || task.kind !== 'series') {
      await this.finish(task, null, chosen ? 'pre-labelling applies to 3D series tasks only' : 'no registered model of the project applies to this series');
      return { taskId, status: 'no-model' };
    }
    const t0 = performance.now();
    try {
      const volume = await this.volumes.load(task.seriesIds[0]);
      const t1 = performance.now();
      const manifest = chosen.manifest;
      const pre = manifest.preprocessing;
      const conformed = pre.fixedGrid || pre.spacing || (pre.orientation && pre.orientation !== 'native')
        ? conformTo({ data: volume.data }, { dims: volume.dims, affineRas: volume.affineRas as never }, { dims: pre.fixedGrid ?? undefined, spacing: pre.spacing ?? undefined, orientation: pre.orientation && pre.orientation !== 'native' ? pre.orientation : undefined })
        : null;
      const input = conformed ? conformed.data : volume.data;
      const dims = (conformed ? conformed.dims : volume.dims) as [number, number, number];
      const t2 = performance.now();
      const model = await this.loaded(chosen.model);
      const { segmentation, timing } = await model.segment(input, dims, manifest);
      const t3 = performance.now();
      const native = conformed ? (unconform(segmentation.labelMap, conformed, 'nearest').data as Uint8Array) : segmentation.labelMap;
      const protocol = task.protocolVersion ? await this.dataSource.getRepository(LabelProtocol).findOneBy({ projectId: task.projectId, version: task.protocolVersion }) : null;
      const mapping = labelMapping(manifest, (protocol?.definition.labels as { id: number; name: string; code?: { value: string } }[]) ?? null);
      const lut = new Uint8Array(256);
      for (const [from, to] of mapping) lut[from] = to;
      const draft = new Uint8Array(native.length);
      for (let i = 0; i < native.length; i++) draft[i] = lut[native[i]];
      const t4 = performance.now();
      const blob = await this.blobs.put(encodeLabelMap(draft));
      const segKey = volume.source === 'dicom' ? await this.writeSeg(task, volume.order, draft, manifest, mapping, protocol?.definition.labels as ProtocolLabel[] | undefined, chosen.model) : null;
      const uncertainty = segmentation.uncertainty.score;
      const stats = { voxels: labelCounts(draft), uncertainty, modelLabels: segmentation.labels, timing: { ...timing, loadMs: t1 - t0, preprocessMs: t2 - t1 } };
      await this.finish(task, { modelId: chosen.model.id, name: chosen.model.name, version: chosen.model.version, blobKey: blob.key, segKey, stats, uncertainty });
      const t5 = performance.now();
      const outcome = { taskId, status: 'drafted' as const, uncertainty, timing: { totalMs: t5 - t0, sessionRunMs: timing.sessionRunMs, loadMs: t1 - t0, preprocessMs: t2 - t1, inferMs: t3 - t2, postprocessMs: t4 - t3, storeMs: t5 - t4 } };
      this.logger.log({ taskId, model: chosen.model.name, uncertainty, totalMs: Math.round(outcome.timing.totalMs), sessionRunMs: Math.round(timing.sessionRunMs) }, 'draft stored');
      return outcome;
    } catch (e) {
      // Transient errors are retried by the queue; on the last attempt the task goes on without a draft.
      if (!finalAttempt) throw e;
      const reason = `${chosen.model.name} ${chosen.model.version} failed: ${(e as Error).message}`;
      await this.finish(task, null, reason);
      return { taskId, status: 'failed', reason };
    }
  }

  /** Stores the draft (if any), raises the priority by the uncertainty, and hands the task to annotators. */
  /**
   * The draft as a DICOM SEG referencing the de-identified source instances, with the protocol's segment
   * descriptions and codes (or the model's, when the project has no protocol).
   */
  private async writeSeg(task: Task, order: string[], draft: Uint8Array, manifest: ModelManifest, mapping: Map<number, number>, protocolLabels: ProtocolLabel[] | undefined, model: Model): Promise<string | null> {
    const present = new Set(draft);
    const segments: SegmentDefinition[] = [];
    for (const [from, to] of mapping) {
      if (!present.has(to)) continue;
      const p = protocolLabels?.find((l) => l.id === to);
      const m = manifest.labels[from - 1];
      const code = p?.code ?? m.code;
      segments.push({ labelValue: to, label: p?.name ?? m.name, color: p?.color, type: code ? { value: code.value, scheme: code.scheme, meaning: code.meaning } : { value: '85756007', scheme: 'SCT', meaning: 'Tissue' }, algorithmType: 'AUTOMATIC', algorithmName: model.name, algorithmVersion: model.version });
    }
    if (!segments.length) return null;
    const instances = await this.dataSource.getRepository(Instance).findBy({ seriesId: task.seriesIds[0] });
    const byId = new Map(instances.map((i) => [i.id, i]));
    const sources = [];
    for (const id of order) sources.push(readDicom(await this.blobs.getBuffer(byId.get(id)!.blobKey)).dataset);
    const seg = writeSegmentation({ sources, order: order.map((id) => byId.get(id)!.sopInstanceUid), labelMap: draft, segments, seriesDescription: `Draft by ${model.name} ${model.version}`, softwareVersions: 'contour 0.1.0', contentLabel: 'DRAFT', uidSeed: `draft/${task.id}/${model.id}` });
    return (await this.blobs.put(seg)).key;
  }

  private async finish(task: Task, draft: { modelId: string; name: string; version: string; blobKey: string; segKey?: string | null; stats: Record<string, unknown>; uncertainty: number | null } | null, reason?: string) {
    await this.dataSource.transaction(async (m) => {
      const locked = await m.getRepository(Task).createQueryBuilder('t').setLock('pessimistic_write').where('t.id = :id', { id: task.id }).getOne();
      if (!locked || locked.state !== TaskState.Prelabelling) return;
      if (draft) {
        const grid = await m.query(`SELECT geometry FROM series WHERE id = $1`, [task.seriesIds[0]]);
        await m.save(m.create(LabelVersion, { taskId: task.id, projectId: task.projectId, kind: 'draft', authorId: null, model: { id: draft.modelId, name: draft.name, version: draft.version }, round: 0, protocolVersion: task.protocolVersion, blobKey: draft.blobKey, segBlobKey: draft.segKey ?? null, encoding: LABELMAP_ENCODING, grid: { seriesId: task.seriesIds[0], dims: grid[0]?.geometry?.dims ?? null }, stats: draft.stats }));
      }
      // Uncertain drafts go first: up to +100 priority for a maximally uncertain model.
      const boost = draft?.uncertainty != null ? Math.round(draft.uncertainty * 100) : 0;
      await this.lifecycle.apply(m, task.id, TaskEvent.PrelabelDone, actor, draft ? `draft by ${draft.name} ${draft.version}` : reason, { uncertainty: draft?.uncertainty ?? null, priority: locked.priority + boost, stateReason: draft ? null : reason ?? null });
      await m.query(`UPDATE task_reads SET priority = $2 WHERE task_id = $1`, [task.id, locked.priority + boost]);
    });
  }

  async onModuleDestroy() {
    await this.runner.release();
  }
}
