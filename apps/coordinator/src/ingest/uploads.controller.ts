import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BadRequestException, Controller, Get, HttpCode, Inject, Param, PayloadTooLargeException, Post, Query, UploadedFiles, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { AnyFilesInterceptor } from '@nestjs/platform-express';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { IngestBatch, IngestSource, ProjectRole } from '@contour/db';
import { extractZip, IngestReceiver, isZip, looksLikeZip, ReceivedFile, ZipTooLargeError } from '@contour/ingest';
import { CONFIG, ContourConfig } from '@contour/config';
import { DiskFullError, DiskReserve } from '@contour/storage';
import { HashedUpload } from './hashing-disk-storage';

const uuid = { schema: z.uuid() };
/** For files that do not say it themselves (NIfTI): the modality, and a pseudonymous subject id to group volumes. */
const UploadQuery = z.object({
  modality: z.string().regex(/^[A-Za-z]{2,4}$/, 'a DICOM modality code such as MR or CT').transform((m) => m.toUpperCase()).optional(),
  subject: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a pseudonymous id: letters, digits, ".", "_" or "-"').optional(),
});

@ApiTags('ingest')
@ApiBearerAuth()
@Controller('api/projects/:projectId/uploads')
export class UploadsController {
  constructor(
    private readonly receiver: IngestReceiver,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CONFIG) private readonly config: ContourConfig,
  ) {}

  /**
   * Multipart upload of one or more files (any field name). Files are spooled to disk (and hashed) as they arrive,
   * so memory does not grow with the upload. Answers 202 with the batch id; poll the batch for progress.
   */
  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post()
  @HttpCode(202)
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', properties: { files: { type: 'array', items: { type: 'string', format: 'binary' } } } } })
  @UseInterceptors(AnyFilesInterceptor())
  async upload(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @UploadedFiles() files: Express.Multer.File[] | undefined, @Query({ schema: UploadQuery }) q: z.infer<typeof UploadQuery>) {
    if (!files?.length) throw new BadRequestException('No files in the request: send multipart/form-data with one or more file fields');
    const actor = actorOf(p);
    const label = files.length === 1 ? files[0].originalname : `${files.length} files`;
    // Zip archives (by name, type, or the zip signature of a file not named .dcm) are unpacked entry by entry to disk
    // (never into memory); everything else is one file.
    const received: ReceivedFile[] = [];
    try {
      for (const f of files) {
        if (isZip(f) || (!/\.dcm$/i.test(f.originalname) && (await looksLikeZip(f.path, (f as Partial<HashedUpload>).head)))) {
          try {
            received.push(...(await extractZip(f.path, f.originalname, this.config.uploads.zipMaxBytes, new DiskReserve(dirname(f.path), this.config.uploads.diskReserveBytes))));
          } catch (e) {
            if (e instanceof DiskFullError) throw e;
            if (e instanceof ZipTooLargeError) throw new PayloadTooLargeException(`${f.originalname}: ${e.message}; nothing from this upload was stored`);
            throw new BadRequestException(zipRefusal(f.originalname, e as Error));
          }
        } else received.push({ path: f.path, name: f.originalname, sha256: (f as Partial<HashedUpload>).sha256 });
      }
      // A zip with no file in it (only folders, or nothing): say so rather than open an empty batch that looks done.
      if (!received.length) throw new BadRequestException(`${label} holds no files (an empty zip archive, or only folders): nothing was stored`);
      const batch = await this.receiver.openBatch(projectId, IngestSource.Upload, label, actor, { modality: q.modality, subject: q.subject });
      const itemIds = await this.receiver.addFiles(batch, received, actor);
      return { batchId: batch.id, files: itemIds.length, progress: `/api/projects/${projectId}/uploads/${batch.id}` };
    } catch (e) {
      // Nothing of a refused upload stays on disk (the files hold identifying data); what ingest took is already moved.
      await Promise.all([...files.map((f) => f.path), ...received.map((r) => r.path)].map((path) => rm(path, { force: true })));
      throw e;
    }
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get()
  list(@Param('projectId', uuid) projectId: string) {
    return this.dataSource.getRepository(IngestBatch).find({ where: { projectId }, order: { createdAt: 'DESC' }, take: 200 });
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Get(':batchId')
  progress(@Param('projectId', uuid) projectId: string, @Param('batchId', uuid) batchId: string, @Query('items') items?: string) {
    return this.receiver.progress(projectId, batchId, items === 'true');
  }
}

/** Why a zip archive was refused, in words an uploader can act on (yauzl's own read "entry is encrypted, and options..."). */
export function zipRefusal(name: string, e: Error): string {
  if (/encrypted/i.test(e.message)) return `${name} is a password-protected zip archive, which Contour cannot open: zip the files again without a password; nothing from this upload was stored`;
  return `${name} is not a readable zip archive (${e.message}); nothing from this upload was stored`;
}
