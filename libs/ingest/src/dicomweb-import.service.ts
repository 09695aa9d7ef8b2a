// Pulls studies from a project's DICOMweb source (a PACS such as Orthanc): QIDO-RS to find them, WADO-RS to
// retrieve them, then into the ordinary ingest path, so imported files are de-identified and checked like
// any other.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@contour/audit';
import { CONFIG, ContourConfig } from '@contour/config';
import { DicomWebSource, IngestBatch } from '@contour/db';
import { DicomWebClient, DicomWebError, jsonString } from '@contour/dicomweb';
import { DicomWebImportJob, TerminalJobError } from '@contour/queue';
import { IngestReceiver } from './ingest-receiver.service';

@Injectable()
export class DicomWebImporter {
  private readonly logger = new Logger(DicomWebImporter.name);

  constructor(
    @Inject(CONFIG) private readonly config: ContourConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly receiver: IngestReceiver,
    private readonly audit: AuditService,
  ) {}

  /**
   * Imports the job's studies in order. `checkpoint` keeps the job's progress (the studies found, how many are done,
   * which failed), so a retried job resumes after the last finished study. A study the PACS cannot return (a 404: gone
   * since the search, a UID it never held) does not stop the others: it is named in the failure the job ends with once
   * the rest are in (one missing study failed the whole import, and the studies after it were never fetched).
   */
  async run(job: DicomWebImportJob, progress: (p: number) => Promise<void> = async () => undefined, checkpoint: (data: DicomWebImportJob) => Promise<void> = async () => undefined) {
    const source = await this.dataSource.getRepository(DicomWebSource).findOneBy({ id: job.sourceId });
    if (!source) throw new TerminalJobError(`DICOMweb source ${job.sourceId} no longer exists`);
    const batch = await this.dataSource.getRepository(IngestBatch).findOneBy({ id: job.batchId });
    if (!batch) throw new TerminalJobError(`Ingest batch ${job.batchId} no longer exists`);
    const client = new DicomWebClient(source.url, source.auth, this.config.dicomweb);
    let state: DicomWebImportJob = job;
    if (!state.resolved) {
      const studies = job.studyInstanceUids?.length ? job.studyInstanceUids : (await client.searchAllStudies(job.query ?? {})).map((s) => jsonString(s, '0020000D')).filter((u): u is string => !!u);
      state = { ...state, resolved: studies, done: 0, failed: [] };
      await checkpoint(state);
    }
    const studies = state.resolved!;
    const failed = [...(state.failed ?? [])];
    const actor = { id: job.actor.id, name: job.actor.name };
    let files = 0;
    for (let i = state.done ?? 0; i < studies.length; i++) {
      const dir = await mkdtemp(join(this.config.dataDir, 'incoming', 'wado-'));
      try {
        const parts = await client.retrieveStudy(studies[i], dir);
        // Each study's files are added as soon as they are on disk; a redelivered job re-adds them, and the
        // duplicate check stores each instance once.
        // Named by their place in the import, not by the study's (original) UID.
        await this.receiver.addFiles(batch, parts.map((p, n) => ({ path: p.path, name: `study-${i + 1}-${n + 1}.dcm`, sha256: p.sha256 })), actor);
        files += parts.length;
      } catch (e) {
        // Gone or never there: the PACS's own answer for this study, which a retry would not change. The study is
        // named by its place in the import (its UID is an original identifier).
        if (!(e instanceof DicomWebError && (e.status === 404 || e.status === 410))) throw e;
        failed.push({ study: i + 1, reason: e.message.replace(studies[i], `(study ${i + 1})`) });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      state = { ...state, done: i + 1, failed };
      await checkpoint(state);
      await progress(Math.round(((i + 1) / studies.length) * 100));
    }
    await this.audit.record(actor, {
      action: 'ingest.dicomweb-import.done',
      objectType: 'ingest_batch',
      objectId: batch.id,
      projectId: batch.projectId,
      details: { source: source.name, studies: studies.length, files, failedStudies: failed.length },
    });
    this.logger.log(`imported ${files} file(s) from ${studies.length - failed.length} of ${studies.length} stud(ies) of ${source.name}`);
    if (failed.length) {
      const listed = failed.slice(0, 5).map((f) => `study ${f.study}: ${f.reason}`).join('; ');
      throw new TerminalJobError(`${failed.length} of ${studies.length} studies could not be retrieved from ${source.name} (${listed}${failed.length > 5 ? `; and ${failed.length - 5} more` : ''}); the other ${studies.length - failed.length} were imported`);
    }
    return { studies: studies.length, files };
  }
}
