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
import { DicomWebClient, jsonString } from '@contour/dicomweb';
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

  async run(job: DicomWebImportJob, progress: (p: number) => Promise<void> = async () => undefined) {
    const source = await this.dataSource.getRepository(DicomWebSource).findOneBy({ id: job.sourceId });
    if (!source) throw new TerminalJobError(`DICOMweb source ${job.sourceId} no longer exists`);
    const batch = await this.dataSource.getRepository(IngestBatch).findOneBy({ id: job.batchId });
    if (!batch) throw new TerminalJobError(`Ingest batch ${job.batchId} no longer exists`);
    const client = new DicomWebClient(source.url, source.auth, this.config.dicomweb);
    const studies = job.studyInstanceUids?.length ? job.studyInstanceUids : (await client.searchAllStudies(job.query ?? {})).map((s) => jsonString(s, '0020000D')).filter((u): u is string => !!u);
    const actor = { id: job.actor.id, name: job.actor.name };
    let files = 0;
    for (const [i, studyUid] of studies.entries()) {
      const dir = await mkdtemp(join(this.config.dataDir, 'incoming', 'wado-'));
      try {
        const parts = await client.retrieveStudy(studyUid, dir);
        // Each study's files are added as soon as they are on disk; a redelivered job re-adds them, and the
        // duplicate check stores each instance once.
        // Named by their place in the import, not by the study's (original) UID.
        await this.receiver.addFiles(batch, parts.map((p, n) => ({ path: p.path, name: `study-${i + 1}-${n + 1}.dcm`, sha256: p.sha256 })), actor);
        files += parts.length;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      await progress(Math.round(((i + 1) / studies.length) * 100));
    }
    await this.audit.record(actor, { action: 'ingest.dicomweb-import.done', objectType: 'ingest_batch', objectId: batch.id, projectId: batch.projectId, details: { source: source.name, studies: studies.length, files } });
    this.logger.log(`imported ${files} file(s) from ${studies.length} stud(ies) of ${source.name}`);
    return { studies: studies.length, files };
  }
}
