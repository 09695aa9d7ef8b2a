// Dataset export (export queue, worker): approved labels of the chosen tasks leave as an archive with
// nnU-Net v2 / Decathlon NIfTI pairs, DICOM SEG (and RTSTRUCT) referencing the de-identified sources, COCO for
// 2D tasks, a provenance manifest per case, patient-level splits and the balance report. Cases are exported one
// at a time (bounded memory) and each case's files are recorded, so an interrupted export resumes; the archive
// is then streamed together from the stored files.
import { createHmac } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService, systemActor } from '@contour/audit';
import { DatasetExport, ExportCase, Instance, LabelProtocol, LabelVersion, Project, Series, Task } from '@contour/db';
import { balanceReport, balanceReportHtml, caseProvenance, DatasetAttribute, DatasetCase, nnunetCaseFiles, nnunetCaseName, nnunetDatasetJson, nnunetLabelsFromProtocol, nnunetSplitsFinal, parseDicomAge, pseudonymousUserId, splitByPatient, Split, applyLabelRemap, maskToCocoRle, bboxOfMask, maskArea, boxToCoco, polygonArea as cocoPolygonArea } from '@contour/dataset';
import { readDicom } from '@contour/dicom';
import { DeploymentSecret } from '@contour/ingest';
import { LoadedVolume, SeriesNifti, SeriesVolumeLoader } from '@contour/prelabel';
import { TerminalJobError } from '@contour/queue';
import { SegmentDefinition, writeRtStruct, writeSegmentation } from '@contour/seg';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { applyWindow, encodePng, minMaxWindow, NIFTI_INTENT_LABEL, frameSources, sliceSources, StoredSeriesGeometry, VoiWindow, writeNiftiGzip } from '@contour/volume';
import { decodeLabelMapAsync, labelCounts, Shape, shapesOf, TaskState, taskImageSource } from '@contour/workflow';
import { ExportOptions } from './export-options';
import { inLanes } from './lanes';

const actor = systemActor('export');
/** Cases exported at once: two lanes keep two cores busy (decoding on this thread, compressing on libuv's pool). */
const EXPORT_CASES_IN_FLIGHT = 2;
const VERSION_PREFERENCE = ['review-edit', 'adjudicated', 'merged'];

interface ProtocolLabel {
  id: number;
  name: string;
  color: string;
  code?: { value: string; scheme: string; meaning: string };
  category?: { value: string; scheme: string; meaning: string };
}

@Injectable()
export class ExportService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly niftis: SeriesNifti,
    private readonly volumes: SeriesVolumeLoader,
    private readonly secret: DeploymentSecret,
    private readonly audit: AuditService,
  ) {}

  async run(exportId: string, progress: (p: number) => Promise<void> = async () => undefined, finalAttempt = true) {
    const exp = await this.dataSource.getRepository(DatasetExport).findOneBy({ id: exportId });
    if (!exp) throw new TerminalJobError(`Export ${exportId} no longer exists`);
    if (exp.state === 'done') return { state: 'done' };
    const options = ExportOptions.parse(exp.options);
    await this.dataSource.getRepository(DatasetExport).update(exportId, { state: 'running', error: null });
    try {
      const result = await this.build(exp, options, progress);
      await this.dataSource.getRepository(DatasetExport).update(exportId, { state: 'done', progress: 100, report: result.report, resultBlobKey: result.key, sizeBytes: String(result.size), finishedAt: new Date() });
      await this.audit.record(actor, { action: 'export.done', objectType: 'export', objectId: exportId, projectId: exp.projectId, details: { cases: result.cases, sizeBytes: result.size } });
      return { state: 'done', cases: result.cases };
    } catch (e) {
      // Transient failures are retried by the queue (resuming after the cases already exported); the last one
      // marks the export failed with its reason.
      if (e instanceof TerminalJobError || finalAttempt) await this.dataSource.getRepository(DatasetExport).update(exportId, { state: 'failed', error: (e as Error).message });
      throw e;
    }
  }

  private async build(exp: DatasetExport, options: ReturnType<typeof ExportOptions.parse>, progress: (p: number) => Promise<void>) {
    const project = await this.dataSource.getRepository(Project).findOneByOrFail({ id: exp.projectId });
    const secret = await this.secret.get();
    const tasks = await this.selectTasks(exp.projectId, options);
    if (!tasks.length) throw new TerminalJobError('No task matches the export filters (by default only approved tasks are exported)');

    // 1. Describe every case (attributes from the de-identified headers) and split by patient.
    const cases: (DatasetCase & { task: Task; versionIds: string[] })[] = [];
    for (const task of tasks) cases.push(await this.describe(task, options, secret));
    const split = splitByPatient(cases, { fractions: options.split.fractions, seed: options.split.seed, stratifyBy: options.split.stratifyBy as DatasetAttribute[], frozenTest: options.split.frozenTest });
    const protocolRow = await this.dataSource.getRepository(LabelProtocol).findOne({ where: { projectId: exp.projectId }, order: { version: 'DESC' } });
    const protocolLabels = ((protocolRow?.definition.labels as ProtocolLabel[] | undefined) ?? []).sort((a, b) => a.id - b.id);
    const { labels: nnLabels, remap } = nnunetLabelsFromProtocol(protocolLabels.map((l) => ({ id: l.id, name: l.name })));

    // 2. Two cases at a time (one case's volume is decoded on this thread while the other's NIfTI is compressed
    //    on libuv's thread pool; memory stays bounded by two cases); cases exported by an earlier attempt are skipped.
    const done = new Map((await this.dataSource.getRepository(ExportCase).findBy({ exportId: exp.id })).map((c) => [c.taskId, c]));
    const sorted = [...cases].sort((a, b) => a.caseId.localeCompare(b.caseId));
    const pending = [...sorted.entries()].filter(([, c]) => !done.has(c.task.id));
    const exportOne = async ([index, c]: [number, (typeof sorted)[number]]) => {
      const caseName = nnunetCaseName(options.casePrefix, index + 1);
      const s = split.caseAssignment[c.caseId];
      const files = await this.exportCase(c, caseName, s, options, protocolLabels, remap, secret);
      const row = await this.dataSource.getRepository(ExportCase).save({ exportId: exp.id, taskId: c.task.id, caseName, split: s, files: files.files, summary: files.summary });
      done.set(c.task.id, row);
      const pct = Math.round((done.size / sorted.length) * 90);
      await this.dataSource.getRepository(DatasetExport).update(exp.id, { progress: pct });
      await progress(pct);
    };
    await inLanes(pending, EXPORT_CASES_IN_FLIGHT, exportOne);

    // 3. Dataset-level files, then the archive.
    const exported = [...done.values()];
    const trainCount = exported.filter((c) => c.split !== 'test' && (c.summary as { nnunet?: boolean }).nnunet).length;
    const balance = balanceReport(cases, split.assignment, { attributes: options.report.attributes as DatasetAttribute[], targets: options.report.targets as never, minGroupFraction: options.report.minGroupFraction });
    const notices: string[] = [];
    const datasetFiles: { path: string; data: Buffer }[] = [
      { path: 'report/balance.json', data: Buffer.from(JSON.stringify(balance, null, 2)) },
      { path: 'report/balance.html', data: Buffer.from(balanceReportHtml(balance, { title: `${project.name}: dataset balance`, subtitle: exp.name })) },
      { path: 'splits.json', data: Buffer.from(JSON.stringify({ seed: options.split.seed, fractions: split.fractions, perSplit: split.perSplit, achieved: split.achieved, cases: Object.fromEntries(exported.map((c) => [c.caseName, c.split])) }, null, 2)) },
    ];
    if (options.formats.includes('nnunet')) {
      const channel = cases[0]?.attributes.modality ?? 'image';
      datasetFiles.push({ path: 'nnunet/dataset.json', data: Buffer.from(JSON.stringify(nnunetDatasetJson({ name: project.name, description: exp.name, channelNames: { 0: channel }, labels: nnLabels, numTraining: trainCount }), null, 2)) });
      const trainVal = exported.filter((c) => c.split !== 'test');
      if (trainVal.some((c) => c.split === 'train') && trainVal.some((c) => c.split === 'validation')) {
        datasetFiles.push({ path: 'nnunet/splits_final.json', data: Buffer.from(JSON.stringify(nnunetSplitsFinal(Object.fromEntries(trainVal.map((c) => [c.caseName, c.split as Split]))), null, 2)) });
      } else {
        // Too few patients (or a zero fraction) for a validation case: rather than fail the whole export at the
        // end, leave splits_final.json out, which makes nnU-Net create its own 5-fold cross-validation split.
        notices.push(`No ${trainVal.some((c) => c.split === 'train') ? 'validation' : 'training'} case among the ${trainVal.length} non-test case(s): nnunet/splits_final.json is left out, so nnU-Net will make its own 5-fold cross-validation split. Raise split.fractions.validation or export more patients for a fixed validation set.`);
      }
    }
    const coco = exported.flatMap((c) => ((c.summary as { coco?: unknown }).coco ? [c] : []));
    if (coco.length) datasetFiles.push({ path: 'coco/annotations.json', data: Buffer.from(JSON.stringify(this.cocoJson(coco, protocolLabels), null, 2)) });
    const archive = await this.writeArchive(exported, datasetFiles);
    // The balance report itself goes with the summary, so the dashboard can show it without the archive.
    const report = { cases: exported.length, splits: split.perSplit, fractions: split.fractions, warnings: balance.warnings, notices, labelRemap: remap, balance };
    return { key: archive.key, size: archive.size, cases: exported.length, report };
  }

  private async selectTasks(projectId: string, options: ReturnType<typeof ExportOptions.parse>): Promise<Task[]> {
    const qb = this.dataSource.getRepository(Task).createQueryBuilder('t').where('t.project_id = :projectId', { projectId }).andWhere('t.state = ANY(:states)', { states: options.filters.states });
    if (options.filters.from) qb.andWhere('t.state_changed_at >= :from', { from: options.filters.from });
    if (options.filters.to) qb.andWhere('t.state_changed_at <= :to', { to: options.filters.to });
    if (options.filters.protocolVersion) qb.andWhere('t.protocol_version = :v', { v: options.filters.protocolVersion });
    return qb.orderBy('t.created_at').getMany();
  }

  /** The label versions to export for a task: the final one, or every reader's read. */
  private async versionsOf(task: Task, choice: 'final' | 'reads'): Promise<LabelVersion[]> {
    const all = await this.dataSource.getRepository(LabelVersion).find({ where: { taskId: task.id }, order: { createdAt: 'DESC' } });
    if (choice === 'reads') {
      const latest = new Map<string, LabelVersion>();
      for (const v of all.filter((x) => x.kind === 'read')) if (!latest.has(v.authorId ?? '')) latest.set(v.authorId ?? '', v);
      return [...latest.values()];
    }
    for (const kind of VERSION_PREFERENCE) {
      const v = all.find((x) => x.kind === kind);
      if (v) return [v];
    }
    const read = all.find((x) => x.kind === 'read');
    return read ? [read] : [];
  }

  private async describe(task: Task, options: ReturnType<typeof ExportOptions.parse>, secret: string) {
    const series = await this.dataSource.getRepository(Series).findOneByOrFail({ id: task.seriesIds[0] });
    const [patient] = await this.dataSource.query(`SELECT p.pseudonym, p.sex, p.age FROM studies s JOIN patients p ON p.id = s.patient_id WHERE s.id = $1`, [task.studyId]);
    const first = await this.dataSource.getRepository(Instance).findOne({ where: { seriesId: series.id }, order: { instanceNumber: 'ASC' } });
    const header = first ? readDicom(await this.blobs.getBuffer(first.blobKey)).dataset : {};
    const [site] = await this.dataSource.query(`SELECT original->>'InstitutionName' AS institution FROM reid_keys r JOIN studies s ON s.study_instance_uid = r.deid_value AND s.project_id = r.project_id WHERE s.id = $1 AND r.kind = 'study'`, [task.studyId]);
    // A read of the re-identification key, as every one is: only the site, turned into a pseudonym below.
    if (site) await this.audit.record(systemActor('export'), { action: 'reid-key.read', objectType: 'reid_key', projectId: task.projectId, details: { studyId: task.studyId, field: 'InstitutionName', purpose: 'site pseudonym for export strata' } });
    const versions = await this.versionsOf(task, options.labelVersion);
    const labels: Record<string, number> = {};
    for (const v of versions) for (const [id, n] of Object.entries((v.stats as { voxels?: Record<string, number> }).voxels ?? {})) labels[`label-${id}`] = (labels[`label-${id}`] ?? 0) + n;
    let age: number | null = null;
    try {
      age = parseDicomAge(patient?.age ?? header.PatientAge ?? null);
    } catch {
      age = null;
    }
    const num = (v: unknown) => (v === undefined || v === null || v === '' ? null : Number(v));
    return {
      caseId: task.id,
      patientId: patient?.pseudonym ?? task.studyId,
      studyId: task.studyId,
      seriesId: series.id,
      attributes: {
        sex: (patient?.sex ?? header.PatientSex ?? null) as 'M' | 'F' | 'O' | null,
        age,
        // The institution stays in the re-identification key; the export carries a stable pseudonym of it.
        site: site?.institution ? `SITE-${createHmac('sha256', secret).update(String(site.institution)).digest('hex').slice(0, 8).toUpperCase()}` : null,
        manufacturer: header.Manufacturer ?? null,
        model: header.ManufacturerModelName ?? null,
        fieldStrength: num(header.MagneticFieldStrength),
        kvp: num(header.KVP),
        sliceThickness: num(header.SliceThickness),
        modality: series.modality,
      },
      labels,
      quality: { agreement: task.agreement ?? undefined, rejected: task.rejectionCount > 0, reworkRounds: task.reworkRound },
      task,
      versionIds: versions.map((v) => v.id),
    };
  }

  private async exportCase(c: DatasetCase & { task: Task; versionIds: string[] }, caseName: string, split: Split, options: ReturnType<typeof ExportOptions.parse>, protocolLabels: ProtocolLabel[], remap: ReturnType<typeof nnunetLabelsFromProtocol>['remap'], secret: string) {
    const task = c.task;
    const files: { path: string; blobKey: string }[] = [];
    const summary: Record<string, unknown> = {};
    const put = async (path: string, data: Buffer) => files.push({ path, blobKey: (await this.blobs.put(data)).key });
    const versions = await Promise.all(c.versionIds.map((id) => this.dataSource.getRepository(LabelVersion).findOneByOrFail({ id })));
    const series = await this.dataSource.getRepository(Series).findOneByOrFail({ id: task.seriesIds[0] });
    const geometry = series.geometry as Pick<StoredSeriesGeometry, 'dims' | 'affineRas' | 'order' | 'frames'> | null;
    const masks: { version: LabelVersion; map: Uint8Array }[] = [];
    for (const v of versions.filter((x) => x.blobKey)) {
      const dims = (v.grid as { dims?: [number, number, number] } | null)?.dims ?? geometry?.dims;
      if (dims) masks.push({ version: v, map: await decodeLabelMapAsync(await this.blobs.getBuffer(v.blobKey!), dims) });
    }
    const suffix = (v: LabelVersion) => (options.labelVersion === 'reads' ? `_reader-${pseudonymousUserId(secret, v.authorId ?? 'unknown')}` : '');

    if (task.kind === 'series' && geometry && options.formats.includes('nnunet') && masks.length) {
      const names = nnunetCaseFiles(caseName, split, 1);
      const imageKey = await this.niftis.niftiOf(task.projectId, series.id);
      files.push({ path: `nnunet/${names.images[0]}`, blobKey: imageKey });
      for (const m of masks) {
        const remapped = applyLabelRemap(m.map, remap);
        // Level 1: label maps are long runs that any level shrinks ~100x; higher levels only cost time.
        const label = await writeNiftiGzip({ dims: geometry.dims, affineRas: geometry.affineRas as never, data: remapped, description: 'Contour label', intent: { code: NIFTI_INTENT_LABEL, name: 'label' } }, 1);
        await put(`nnunet/${names.label.replace(/\.nii\.gz$/, `${suffix(m.version)}.nii.gz`)}`, label);
      }
      summary.nnunet = true;
    }

    const segments: SegmentDefinition[] = protocolLabels.map((l) => ({
      labelValue: l.id,
      label: l.name,
      color: l.color,
      type: l.code ?? { value: '85756007', scheme: 'SCT', meaning: 'Tissue' },
      category: l.category,
      algorithmType: 'MANUAL',
    }));
    // DICOM SEG / RTSTRUCT of a series task, or of an image task's one 2D image. A SEG of a radiograph (no patient
    // geometry) is pixel for pixel on it; an RTSTRUCT of one is impossible (contours are in patient coordinates),
    // and the case says so instead of failing the export.
    // The series' slices, or the frames of the one instance an image or frame-range task is drawn on.
    const derived = masks.length > 0 && series.source === 'dicom' && (options.formats.includes('dicom-seg') || options.formats.includes('rtstruct'));
    const instance = derived && (task.kind === 'image' || task.kind === 'frames') && task.instanceId ? await this.dataSource.getRepository(Instance).findOneBy({ id: task.instanceId }) : null;
    const slices =
      !derived ? null
      : task.kind === 'series' && geometry ? sliceSources(geometry)
      : instance?.rows && instance.columns ? frameSources(instance.id, task.frameStart, masks[0].map.length / (instance.rows * instance.columns), instance.numberOfFrames)
      : null;
    if (slices) {
      const instances = await this.dataSource.getRepository(Instance).findBy({ seriesId: series.id });
      const byId = new Map(instances.map((i) => [i.id, i]));
      const sources = [];
      // Header-only, one parse per instance: a SEG or RTSTRUCT needs the sources' attributes, never their pixels.
      for (const id of new Set(slices.ids)) sources.push(readDicom(await this.blobs.getBuffer(byId.get(id)!.blobKey), { untilPixelData: true }).dataset);
      const order = slices.ids.map((id) => byId.get(id)!.sopInstanceUid);
      const skipped: string[] = [];
      for (const m of masks) {
        const present = new Set(Object.keys(labelCounts(m.map)).map(Number));
        const used = segments.filter((s) => present.has(s.labelValue));
        if (!used.length) continue;
        const common = { sources, order, sourceFrames: slices.frames, labelMap: m.map, segments: used, seriesDescription: `Contour ${caseName}`, softwareVersions: 'contour 0.1.0', uidSeed: `export/${task.id}/${m.version.id}` };
        const write = async (format: 'dicom-seg' | 'rtstruct', make: () => Buffer) => {
          if (!options.formats.includes(format)) return;
          let file: Buffer;
          try {
            file = make();
          } catch (e) {
            // What the object cannot be made of (an RTSTRUCT of a radiograph, a SEG of mosaic tiles) is listed in
            // the case manifest with the reason; the rest of the case and of the export goes on.
            skipped.push(`${format}: ${(e as Error).message}`);
            return;
          }
          await put(`${format}/${caseName}${suffix(m.version)}.dcm`, file);
        };
        await write('dicom-seg', () => writeSegmentation({ ...common, contentLabel: 'CONTOUR' }));
        await write('rtstruct', () => writeRtStruct(common as never));
      }
      if (skipped.length) summary.skipped = skipped;
    }

    if (options.formats.includes('coco')) {
      const images = await this.cocoImages(task, series, geometry, masks, versions, caseName, options.coco.window, put);
      if (images.length) summary.coco = { images };
    }

    const draft = await this.dataSource.getRepository(LabelVersion).findOne({ where: { taskId: task.id, kind: 'draft' }, order: { createdAt: 'DESC' } });
    const readers = (await this.dataSource.getRepository(LabelVersion).find({ where: { taskId: task.id, kind: 'read' } })).map((v) => v.authorId).filter((x): x is string => !!x);
    const reviewers: { reviewer_id: string }[] = await this.dataSource.query(`SELECT DISTINCT reviewer_id FROM reviews WHERE task_id = $1`, [task.id]);
    const [uids] = await this.dataSource.query(`SELECT st.study_instance_uid, se.series_instance_uid FROM series se JOIN studies st ON st.id = se.study_id WHERE se.id = $1`, [series.id]);
    const [approved] = await this.dataSource.query(`SELECT max(at) AS at FROM task_transitions WHERE task_id = $1 AND to_state = 'approved'`, [task.id]);
    const provenance = caseProvenance({
      caseId: caseName,
      source: { studyInstanceUid: uids.study_instance_uid, seriesInstanceUid: uids.series_instance_uid },
      protocol: { version: task.protocolVersion ?? 'none' },
      mergeMethod: (await this.dataSource.query(`SELECT method FROM consensus_results WHERE task_id = $1 ORDER BY created_at DESC LIMIT 1`, [task.id]))[0]?.method,
      draft: draft?.model
        ? {
            model: String(draft.model.name),
            version: String(draft.model.version),
            uncertainty: (draft.stats as { uncertainty?: number }).uncertainty ?? undefined,
            models: (draft.model.models as { name: string; version: string }[] | undefined)?.map((m) => ({ model: m.name, version: m.version })),
          }
        : undefined,
      annotators: [...new Set(readers)].map((id) => pseudonymousUserId(secret, id)),
      reviewers: reviewers.map((r) => pseudonymousUserId(secret, r.reviewer_id)),
      agreement: task.agreement !== null ? { task: task.agreement } : undefined,
      reworkRounds: task.reworkRound,
      split,
      timestamps: { approved: approved?.at ?? undefined, exported: new Date() },
    });
    // What this case could not have (an RTSTRUCT of a radiograph) is listed with the reason, not silently missing.
    await put(`manifests/${caseName}.json`, Buffer.from(JSON.stringify({ ...provenance, labelVersions: versions.map((v) => ({ kind: v.kind, round: v.round })), ...(summary.skipped ? { notWritten: summary.skipped } : {}) }, null, 2)));
    summary.state = task.state === TaskState.Approved ? 'approved' : task.state;
    return { files, summary };
  }

  /**
   * The COCO images of one case and their annotations: masks (RLE), boxes, polygons and points. An image or
   * frame task is one image; a view group one image per view (views without findings too: negatives count
   * in detection datasets); a 3D series with shapes one image per slice that has shapes.
   */
  private async cocoImages(
    task: Task,
    series: Series,
    geometry: { dims: [number, number, number]; order?: string[] } | null,
    masks: { map: Uint8Array }[],
    versions: LabelVersion[],
    caseName: string,
    window: { center: number; width: number } | undefined,
    put: (path: string, data: Buffer) => Promise<unknown>,
  ): Promise<CocoCaseImage[]> {
    const shapes = versions.flatMap((v) => shapesOf(v.answers));
    const out: CocoCaseImage[] = [];
    // Each series is read once however many of its slices become images.
    const loaded = new Map<string, Promise<LoadedVolume>>();
    const seriesVolume = (seriesId: string) => {
      if (!loaded.has(seriesId)) loaded.set(seriesId, this.volumes.load(seriesId));
      return loaded.get(seriesId)!;
    };
    const image = async (volumeOf: Promise<LoadedVolume>, z: number, name: string, annotations: CocoCaseAnnotation[]) => {
      const volume = await volumeOf;
      const [nx, ny] = [volume.dims[0], volume.dims[1]];
      await put(`coco/images/${name}.png`, this.windowedPng(volume.data, nx, ny, z, window));
      out.push({ fileName: `images/${name}.png`, width: nx, height: ny, annotations });
    };
    if ((task.kind === 'image' || task.kind === 'frames') && geometry) {
      // One image per frame of the task (an image task is usually one frame; a cine range all of its frames,
      // those without findings too), each with the masks' slice and the shapes drawn on it. A series that is not
      // one volume (images of different sizes) gives the task's own image instead of its slice of the series.
      const own = taskImageSource(task, series) === 'instance';
      const volume = own ? this.volumes.loadFrames(task.instanceId!, null, null) : seriesVolume(series.id);
      const [nx, ny] = own ? (await volume).dims : geometry.dims;
      const plane = nx * ny;
      const first = own || !geometry.order ? 0 : Math.max(0, geometry.order.indexOf(task.instanceId!));
      const z0 = first + (task.kind === 'frames' ? task.frameStart ?? 0 : 0);
      const frames = Math.max(1, ...masks.map((m) => Math.floor(m.map.length / plane)), task.kind === 'frames' ? (task.frameEnd ?? 0) - (task.frameStart ?? 0) + 1 : 1);
      for (let k = 0; k < frames; k++) {
        const fromMasks = masks.flatMap((m) => {
          if (m.map.length < (k + 1) * plane) return [];
          const slice = m.map.subarray(k * plane, (k + 1) * plane);
          return [...new Set(slice)].filter((v) => v !== 0).map((label) => ({ label, rle: maskToCocoRle(slice, nx, ny, label), bbox: bboxOfMask(slice, nx, ny, label), area: maskArea(slice, nx, ny, label) }));
        });
        await image(volume, z0 + k, frames === 1 ? caseName : `${caseName}_f${String(k).padStart(3, '0')}`, [...fromMasks, ...shapes.filter((s) => s.slice === k).map(shapeToCoco)]);
      }
    } else if (task.kind === 'view-group') {
      for (const [i, seriesId] of task.seriesIds.entries()) await image(seriesVolume(seriesId), 0, `${caseName}_view${i}`, shapes.filter((s) => s.image === seriesId && s.slice === 0).map(shapeToCoco));
    } else if (task.kind === 'series' && geometry) {
      for (const z of [...new Set(shapes.map((s) => s.slice))].sort((a, b) => a - b)) await image(seriesVolume(series.id), z, `${caseName}_z${z}`, shapes.filter((s) => s.slice === z).map(shapeToCoco));
    }
    return out;
  }

  /** Slice `z` as an 8-bit PNG: through the COCO window when one is set, else the slice's own range. */
  private windowedPng(data: ArrayLike<number>, nx: number, ny: number, z: number, window?: { center: number; width: number }): Buffer {
    const offset = z * nx * ny;
    const voi: VoiWindow = window ? { ...window, function: 'LINEAR_EXACT' } : minMaxWindow(data, offset, nx * ny);
    return encodePng({ width: nx, height: ny, channels: 1, data: applyWindow(data, offset, nx * ny, voi) });
  }

  /**
   * COCO JSON from the per-case annotations computed during the case export (RLE, box and area per label), so
   * no mask has to be held in memory at the end.
   */
  private cocoJson(cases: ExportCase[], labels: ProtocolLabel[]) {
    // Cases exported before one case could hold several images kept one image as `coco` itself.
    const perCase = cases.map((c) => {
      const coco = (c.summary as { coco: { images?: CocoCaseImage[] } & CocoCaseImage }).coco;
      return { caseName: c.caseName, images: coco.images ?? [coco] };
    });
    const images: { id: number; file_name: string; width: number; height: number; case_id: string }[] = [];
    const annotations: Record<string, unknown>[] = [];
    const withPoints = new Set<number>();
    for (const c of perCase) {
      for (const im of c.images) {
        const imageId = images.length + 1;
        images.push({ id: imageId, file_name: im.fileName, width: im.width, height: im.height, case_id: c.caseName });
        for (const a of im.annotations) {
          if ('point' in a) withPoints.add(a.label);
          annotations.push({ id: annotations.length + 1, image_id: imageId, category_id: a.label, ...cocoAnnotationBody(a), iscrowd: 0 });
        }
      }
    }
    return {
      info: { description: 'Contour export', version: '1.0', year: new Date().getFullYear(), date_created: new Date().toISOString() },
      licenses: [],
      images,
      // A category with points carries one keypoint named "point" (COCO's keypoint format).
      categories: labels.map((l) => ({ id: l.id, name: l.name, supercategory: 'label', ...(withPoints.has(l.id) ? { keypoints: ['point'], skeleton: [] } : {}) })),
      annotations,
    };
  }

  /** Streams the stored files into one zip on disk, then into the blob store. Memory: one file at a time. */
  private async writeArchive(cases: ExportCase[], extra: { path: string; data: Buffer }[]): Promise<{ key: string; size: number }> {
    const dir = await mkdtemp(join(tmpdir(), 'contour-export-'));
    const path = join(dir, 'export.zip');
    const out = createWriteStream(path);
    let failure: Error | null = null;
    const finished = new Promise<void>((resolve, reject) => {
      out.on('finish', () => resolve());
      out.on('error', reject);
    });
    const zip = new Zip((err, chunk, final) => {
      if (err) failure = err;
      else out.write(Buffer.from(chunk));
      if (final || err) out.end();
    });
    const add = (name: string, data: Uint8Array) => {
      // Already-compressed files (.nii.gz, .png) are stored, not deflated again.
      const entry = /\.(gz|png)$/.test(name) ? new ZipPassThrough(name) : new ZipDeflate(name, { level: 6 });
      zip.add(entry);
      entry.push(data, true);
    };
    try {
      for (const c of cases) for (const f of c.files) add(f.path, new Uint8Array(await this.blobs.getBuffer(f.blobKey)));
      for (const f of extra) add(f.path, new Uint8Array(f.data));
      zip.end();
      await finished;
      if (failure) throw failure;
      return await this.blobs.putFile(path);
    } finally {
      if (!out.writableEnded) out.end();
      await rm(dir, { recursive: true, force: true });
    }
  }
}

type CocoCaseAnnotation =
  | { label: number; rle: unknown; bbox: unknown; area: number }
  | { label: number; box: [number, number, number, number] }
  | { label: number; polygon: number[] }
  | { label: number; point: [number, number] };

interface CocoCaseImage {
  fileName: string;
  width: number;
  height: number;
  annotations: CocoCaseAnnotation[];
}

/** A stored shape as the per-case COCO annotation kept in the case summary. */
function shapeToCoco(s: Shape): CocoCaseAnnotation {
  if (s.kind === 'box') return { label: s.label, box: s.box };
  if (s.kind === 'point') return { label: s.label, point: s.point };
  return { label: s.label, polygon: s.points.flat() };
}

/** segmentation, bbox and area (and keypoints for a point) of one COCO annotation. */
function cocoAnnotationBody(a: CocoCaseAnnotation): Record<string, unknown> {
  if ('rle' in a) return { segmentation: a.rle, area: a.area, bbox: a.bbox };
  if ('box' in a) {
    const bbox = boxToCoco(a.box);
    return { segmentation: [], area: bbox[2] * bbox[3], bbox };
  }
  if ('polygon' in a) {
    const xs = a.polygon.filter((_, i) => i % 2 === 0);
    const ys = a.polygon.filter((_, i) => i % 2 === 1);
    const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
    return { segmentation: [a.polygon], area: cocoPolygonArea(a.polygon), bbox: [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0] };
  }
  return { segmentation: [], area: 0, bbox: [a.point[0], a.point[1], 0, 0], keypoints: [a.point[0], a.point[1], 2], num_keypoints: 1 };
}
