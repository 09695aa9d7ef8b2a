// DICOMweb for a project, under /dicom-web/projects/{projectId} (and /dicom-web for DICOM_DEFAULT_PROJECT):
// QIDO-RS search, WADO-RS retrieve, metadata, frames, bulk data and rendered images of the de-identified data, STOW-RS store. The Bearer token
// of the login works, so OHIF or dicomweb-client can browse a project. Every image read is audited.
import { BadRequestException, Controller, Get, HttpException, Inject, Logger, NotAcceptableException, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import * as dcmjs from 'dcmjs';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { DataSource, In } from 'typeorm';
import { z } from 'zod';
import { AuditService } from '@contour/audit';
import { Access, actorOf, CurrentPrincipal, Principal } from '@contour/auth';
import { CONFIG, ContourConfig } from '@contour/config';
import { IngestItem, IngestItemStatus, IngestSource, Instance, ProjectRole } from '@contour/db';
import { DicomRejection, EXPLICIT_VR_LITTLE_ENDIAN, ParsedDicom, readDicom, toArrayBuffer, withCapturedWarnings } from '@contour/dicom';
import { multipartStream, MultipartError, parseContentType, spoolMultipart } from '@contour/dicomweb';
import { DeploymentSecret, IngestReceiver } from '@contour/ingest';
import { BLOB_STORE, BlobStore, DiskReserve } from '@contour/storage';
import { decodeFrames, DecodedFrames, encodeJpeg, encodePng, fitToViewport, nativePixelBytes, parseViewport, parseWindowParameter, PixelDecodeError, renderFrame, RenderError, storedWindow, toExplicitVrLittleEndian, VoiWindow } from '@contour/volume';
import { acceptedBulkDataMediaType, acceptedDicomJson, acceptedFrameMediaType, mayServeAsStored, acceptedRenderedMediaType, acceptedTransferSyntaxes, chooseTransferSyntax } from './accept';
import { bulkDataOf, dicomJsonOf, isPixelDataPath, parseBulkDataPath } from './dicom-json';
import { DicomWebService, StoredInstanceRef } from './dicomweb.service';
import { PrivacyHold } from '../ingest/privacy-hold.service';
import { servedTargetStudy, STUDY_MISMATCH_FAILURE, targetStudyMatch } from './stow-study';

const uuid = { schema: z.uuid() };
const uid = { schema: z.string().regex(/^[0-9.]{1,64}$/, 'expected a DICOM UID') };
type QueryParams = Record<string, string | string[] | undefined>;
const DICOM_JSON = 'application/dicom+json';

/**
 * A WADO-RS frame list ("1", "1,3,5"): 1-based frame numbers, in the order asked, each at most once (so an answer is
 * never larger than the instance: a list repeating one frame thousands of times asked for gigabytes).
 */
export function parseFrameList(list: string): number[] {
  const numbers = list.split(',').map((f) => f.trim());
  if (!numbers.length || numbers.some((n) => !/^[1-9][0-9]{0,5}$/.test(n))) throw new BadRequestException(`"${list}" is not a frame list: give frame numbers from 1, separated by commas (e.g. 1,2,3)`);
  const frames = numbers.map(Number);
  const seen = new Set<number>();
  const repeated = frames.find((n) => seen.size === seen.add(n).size);
  if (repeated !== undefined) throw new BadRequestException(`Frame ${repeated} is asked for more than once in "${list.length > 80 ? `${list.slice(0, 80)}…` : list}": name each frame once`);
  return frames;
}

@ApiTags('dicomweb')
@ApiBearerAuth()
@Controller('dicom-web/projects/:projectId')
export class DicomWebController {
  private readonly logger = new Logger('DICOMweb');

  constructor(
    private readonly dicomweb: DicomWebService,
    private readonly receiver: IngestReceiver,
    private readonly audit: AuditService,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(CONFIG) private readonly config: ContourConfig,
    private readonly deidSecret: DeploymentSecret,
    private readonly privacy: PrivacyHold,
  ) {}

  // ---- QIDO-RS -------------------------------------------------------------------------------------------

  @Access({ project: { param: 'projectId' } })
  @Get('studies')
  async searchStudies(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Query() q: QueryParams, @Res() res: Response) {
    this.json(res, await this.dicomweb.search('study', projectId, q, {}, await this.privacy.hiddenFlags(p, projectId)));
  }

  @Access({ project: { param: 'projectId' } })
  @Get('series')
  async searchAllSeries(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Query() q: QueryParams, @Res() res: Response) {
    this.json(res, await this.dicomweb.search('series', projectId, q, {}, await this.privacy.hiddenFlags(p, projectId)));
  }

  /** Every instance of the project (dicomweb-client's searchForInstances without a study). */
  @Access({ project: { param: 'projectId' } })
  @Get('instances')
  async searchAllInstances(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Query() q: QueryParams, @Res() res: Response) {
    this.json(res, await this.dicomweb.search('instance', projectId, q, {}, await this.privacy.hiddenFlags(p, projectId)));
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series')
  async searchSeries(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Query() q: QueryParams, @Res() res: Response) {
    this.json(res, await this.dicomweb.search('series', projectId, q, { StudyInstanceUID: study }, await this.privacy.hiddenFlags(p, projectId)));
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/instances')
  async searchStudyInstances(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Query() q: QueryParams, @Res() res: Response) {
    this.json(res, await this.dicomweb.search('instance', projectId, q, { StudyInstanceUID: study }, await this.privacy.hiddenFlags(p, projectId)));
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/instances')
  async searchInstances(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Query() q: QueryParams, @Res() res: Response) {
    this.json(res, await this.dicomweb.search('instance', projectId, q, { StudyInstanceUID: study, SeriesInstanceUID: series }, await this.privacy.hiddenFlags(p, projectId)));
  }

  // ---- WADO-RS -------------------------------------------------------------------------------------------

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study')
  async retrieveStudy(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Req() req: Request, @Res() res: Response) {
    await this.retrieve(p, projectId, await this.dicomweb.instances(projectId, study, undefined, undefined, await this.privacy.hiddenFlags(p, projectId)), req, res);
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series')
  async retrieveSeries(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Req() req: Request, @Res() res: Response) {
    await this.retrieve(p, projectId, await this.dicomweb.instances(projectId, study, series, undefined, await this.privacy.hiddenFlags(p, projectId)), req, res);
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/instances/:sop')
  async retrieveInstance(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Param('sop', uid) sop: string, @Req() req: Request, @Res() res: Response) {
    await this.retrieve(p, projectId, await this.dicomweb.instances(projectId, study, series, sop, await this.privacy.hiddenFlags(p, projectId)), req, res);
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/metadata')
  async studyMetadata(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Res() res: Response) {
    await this.metadata(p, projectId, await this.dicomweb.instances(projectId, study, undefined, undefined, await this.privacy.hiddenFlags(p, projectId)), res);
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/metadata')
  async seriesMetadata(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Res() res: Response) {
    await this.metadata(p, projectId, await this.dicomweb.instances(projectId, study, series, undefined, await this.privacy.hiddenFlags(p, projectId)), res);
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/instances/:sop/metadata')
  async instanceMetadata(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Param('sop', uid) sop: string, @Res() res: Response) {
    await this.metadata(p, projectId, await this.dicomweb.instances(projectId, study, series, sop, await this.privacy.hiddenFlags(p, projectId)), res);
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/instances/:sop/bulkdata/:path')
  async retrieveBulkData(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Param('sop', uid) sop: string, @Param('path') pathText: string, @Req() req: Request, @Res() res: Response) {
    acceptedBulkDataMediaType(req.headers.accept);
    const path = parseBulkDataPath(pathText);
    if (!path) throw new BadRequestException(`"${pathText}" is not a bulk data path: a tag (8 hex digits), or inside a sequence the sequence's tag, the item's index from 0 and the tag, joined by dots (e.g. 54000100.0.54001010); take it from the BulkDataURI of the metadata`);
    const [row] = await this.dicomweb.instances(projectId, study, series, sop, await this.privacy.hiddenFlags(p, projectId));
    const file = await this.blobs.getBuffer(row.blob_key);
    // The Pixel Data's BulkDataURI (it was the instance's own URL, which answered the whole file or 406): every frame,
    // decoded as the frames resource serves them (1-bit images packed), in one part.
    const pixels = isPixelDataPath(path);
    const decoded = pixels ? await this.decode(file) : null;
    const value = decoded ? nativePixelBytes(decoded.bitsAllocated, decoded.data) : bulkDataOf(file, path);
    if (!value) throw new NotFoundException(`Instance ${sop} has no bulk data at ${pathText}: the metadata's BulkDataURIs name the values it has`);
    await this.auditReads(p, projectId, [row], 'wado-rs-bulkdata');
    const boundary = `contour-${randomUUID()}`;
    const partType = pixels ? `application/octet-stream; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}` : 'application/octet-stream';
    async function* parts() {
      yield { contentType: partType, body: value! };
    }
    await this.sendMultipart(res, `multipart/related; type="application/octet-stream"; boundary=${boundary}`, boundary, parts());
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/instances/:sop/frames/:frames')
  async retrieveFrames(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Param('sop', uid) sop: string, @Param('frames') frameList: string, @Req() req: Request, @Res() res: Response) {
    acceptedFrameMediaType(req.headers.accept);
    const numbers = parseFrameList(frameList);
    const [row] = await this.dicomweb.instances(projectId, study, series, sop, await this.privacy.hiddenFlags(p, projectId));
    const decoded = await this.decode(await this.blobs.getBuffer(row.blob_key));
    const missing = numbers.filter((n) => n > decoded.frames);
    if (missing.length) throw new NotFoundException(`Frame ${missing.join(', ')} does not exist: the instance has ${decoded.frames} frame(s)`);
    await this.auditReads(p, projectId, [row], 'wado-rs-frames');
    const frameValues = decoded.rows * decoded.columns * decoded.samplesPerPixel;
    const boundary = `contour-${randomUUID()}`;
    async function* parts() {
      for (const n of numbers) {
        const values = decoded.data.subarray((n - 1) * frameValues, n * frameValues);
        // 1-bit pixels (binary SEG) are decoded one value a byte; Explicit VR Little Endian packs them, as the
        // metadata (Bits Allocated 1) says: each frame on its own, from bit 0 of its first byte.
        const body = nativePixelBytes(decoded.bitsAllocated, values);
        yield { contentType: `application/octet-stream; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}`, body };
      }
    }
    await this.sendMultipart(res, `multipart/related; type="application/octet-stream"; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}; boundary=${boundary}`, boundary, parts());
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/instances/:sop/rendered')
  async renderedInstance(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Param('sop', uid) sop: string, @Query() q: QueryParams, @Req() req: Request, @Res() res: Response) {
    await this.rendered(p, projectId, study, series, sop, 1, q, req, res);
  }

  // Thumbnails (PS3.18 10.4.1.1.x): the rendered image fitted in 128 x 128 (or the viewport given). A series' is its
  // middle image, a study's that of its first series with an image.
  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/instances/:sop/thumbnail')
  async instanceThumbnail(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Param('sop', uid) sop: string, @Query() q: QueryParams, @Req() req: Request, @Res() res: Response) {
    await this.rendered(p, projectId, study, series, sop, 1, q, req, res, true);
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/instances/:sop/frames/:frames/thumbnail')
  async frameThumbnail(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Param('sop', uid) sop: string, @Param('frames') frameList: string, @Query() q: QueryParams, @Req() req: Request, @Res() res: Response) {
    const numbers = parseFrameList(frameList);
    if (numbers.length !== 1) throw new BadRequestException('Thumbnails are of one frame: ask for .../frames/{n}/thumbnail');
    await this.rendered(p, projectId, study, series, sop, numbers[0], q, req, res, true);
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/thumbnail')
  async seriesThumbnail(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Query() q: QueryParams, @Req() req: Request, @Res() res: Response) {
    await this.representativeThumbnail(p, projectId, study, series, q, req, res);
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/thumbnail')
  async studyThumbnail(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Query() q: QueryParams, @Req() req: Request, @Res() res: Response) {
    await this.representativeThumbnail(p, projectId, study, undefined, q, req, res);
  }

  @Access({ project: { param: 'projectId' } })
  @Get('studies/:study/series/:series/instances/:sop/frames/:frames/rendered')
  async renderedFrame(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Param('series', uid) series: string, @Param('sop', uid) sop: string, @Param('frames') frameList: string, @Query() q: QueryParams, @Req() req: Request, @Res() res: Response) {
    const numbers = parseFrameList(frameList);
    if (numbers.length !== 1) throw new BadRequestException('Rendered frames are served one at a time: ask for .../frames/{n}/rendered');
    await this.rendered(p, projectId, study, series, sop, numbers[0], q, req, res);
  }

  // ---- STOW-RS -------------------------------------------------------------------------------------------

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post('studies')
  async store(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Req() req: Request, @Res() res: Response) {
    await this.stow(p, projectId, null, req, res);
  }

  @Access({ project: { param: 'projectId', roles: [ProjectRole.Manager] } })
  @Post('studies/:study')
  async storeInStudy(@CurrentPrincipal() p: Principal, @Param('projectId', uuid) projectId: string, @Param('study', uid) study: string, @Req() req: Request, @Res() res: Response) {
    await this.stow(p, projectId, study, req, res);
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private json(res: Response, body: unknown[]) {
    if (body.length === 0) {
      res.status(204).end();
      return;
    }
    res.status(200).type(DICOM_JSON).send(JSON.stringify(absoluteUrls(body, this.origin(res.req))));
  }

  /**
   * Where the caller reached Contour, for the URLs an answer gives (RetrieveURL, BulkDataURI must be absolute, PS3.18
   * F.2.6 and 10.6.3.3): PUBLIC_URL when set (root() includes it already), else the request's own scheme and host.
   */
  private origin(req: Request): string {
    // req.host follows X-Forwarded-Host from a trusted proxy (one on loopback), as req.protocol follows X-Forwarded-Proto.
    return this.config.http.publicUrl ? '' : `${req.protocol}://${req.host ?? 'localhost'}`;
  }

  private async auditReads(p: Principal, projectId: string, rows: StoredInstanceRef[], via: string) {
    await this.audit.recordMany(actorOf(p), rows.map((r) => ({ action: 'instance.read', objectType: 'instance', objectId: r.id, projectId, details: { via } })));
  }

  private async retrieve(p: Principal, projectId: string, rows: StoredInstanceRef[], req: Request, res: Response) {
    const wanted = chooseTransferSyntax(acceptedTransferSyntaxes(req.headers.accept), rows.map((r) => r.transfer_syntax_uid));
    await this.auditReads(p, projectId, rows, 'wado-rs');
    const boundary = `contour-${randomUUID()}`;
    const blobs = this.blobs;
    const logger = this.logger;
    async function* parts() {
      for (const r of rows) yield await servedInstance(r, wanted, blobs, toExplicitVrLittleEndian, logger, mayServeAsStored(req.headers.accept, r.transfer_syntax_uid));
    }
    await this.sendMultipart(res, `multipart/related; type="application/dicom"; boundary=${boundary}`, boundary, parts());
  }

  /**
   * Sends multipart parts as they are produced. The first part is made before the status line goes out, so a
   * failure there (an instance the codecs cannot convert) is a proper HTTP error; a failure further on can only
   * end the response early: it is logged, and never escapes as an unhandled stream error (which ended the process).
   */
  private async sendMultipart(res: Response, contentType: string, boundary: string, parts: AsyncGenerator<{ contentType: string; body: Readable | Buffer }>) {
    const first = await parts.next();
    async function* all() {
      if (first.done) return;
      yield first.value;
      yield* parts;
    }
    res.status(200).setHeader('Content-Type', contentType);
    pipeline(Readable.from(multipartStream(boundary, all())), res, (err) => {
      if (err) this.logger.warn(`multipart response ended early: ${err.message}`);
    });
  }

  /** The instance's frames as stored (a mosaic stays one frame); 406 when it has none that decode. */
  private async decode(buffer: Buffer, parsed?: ParsedDicom): Promise<DecodedFrames> {
    try {
      return await decodeFrames({ buffer, parsed }, { untileMosaic: false });
    } catch (e) {
      if (e instanceof PixelDecodeError) throw new HttpException(`This instance has no frames to serve: ${e.message}`, 406);
      throw e;
    }
  }

  private async rendered(p: Principal, projectId: string, study: string, series: string, sop: string, frame: number, q: QueryParams, req: Request, res: Response, thumbnail = false) {
    const type = acceptedRenderedMediaType(req.headers.accept);
    const unsupported = ['annotation', 'iccprofile'].filter((k) => q[k] !== undefined);
    if (unsupported.length) throw new BadRequestException(`${unsupported.join(', ')} ${unsupported.length > 1 ? 'are' : 'is'} not supported: "window", "viewport" and "quality" are`);
    const repeated = ['window', 'quality', 'viewport'].filter((k) => Array.isArray(q[k]));
    if (repeated.length) throw new BadRequestException(`Give ${repeated.join(' and ')} once (it was repeated)`);
    // quality (PS3.18 8.3.5.1.2, 1-100) sets JPEG's; PNG is lossless and takes it unchanged.
    if (q.quality !== undefined && !/^(100|[1-9][0-9]?)$/.test(String(q.quality))) throw new BadRequestException(`quality is a whole number from 1 to 100, got "${q.quality}"`);
    let window: VoiWindow | undefined;
    try {
      window = typeof q.window === 'string' ? parseWindowParameter(q.window) : undefined;
    } catch (e) {
      throw new BadRequestException((e as Error).message);
    }
    const [row] = await this.dicomweb.instances(projectId, study, series, sop, await this.privacy.hiddenFlags(p, projectId));
    const buffer = await this.blobs.getBuffer(row.blob_key);
    const parsed = readDicom(buffer);
    const decoded = await this.decode(buffer, parsed);
    if (frame > decoded.frames) throw new NotFoundException(`Frame ${frame} does not exist: the instance has ${decoded.frames} frame(s)`);
    let body: Buffer;
    try {
      let image = renderFrame(decoded, frame - 1, window, storedWindow(parsed.dataset));
      // A thumbnail fits in 128 x 128 unless a viewport says otherwise (PS3.18 thumbnail resources).
      const viewport = typeof q.viewport === 'string' ? q.viewport : thumbnail ? '128,128' : undefined;
      if (viewport) image = fitToViewport(image, parseViewport(viewport, image.width, image.height));
      body = type === 'image/jpeg' ? encodeJpeg(image, q.quality ? Number(q.quality) : 90) : encodePng(image);
    } catch (e) {
      if (e instanceof RenderError && /viewport/.test(e.message)) throw new BadRequestException(e.message);
      if (e instanceof RenderError) throw new HttpException(`This instance cannot be rendered: ${e.message}`, 406);
      throw e;
    }
    await this.auditReads(p, projectId, [row], thumbnail ? 'wado-rs-thumbnail' : 'wado-rs-rendered');
    res.status(200).type(type).send(body);
  }

  /** The thumbnail of the middle image of each series in turn (in series order) until one renders (a report has none). */
  private async representativeThumbnail(p: Principal, projectId: string, study: string, series: string | undefined, q: QueryParams, req: Request, res: Response) {
    const rows = await this.dicomweb.instances(projectId, study, series, undefined, await this.privacy.hiddenFlags(p, projectId));
    const bySeries = new Map<string, StoredInstanceRef[]>();
    for (const r of rows) bySeries.set(r.series_instance_uid, [...(bySeries.get(r.series_instance_uid) ?? []), r]);
    let last: unknown;
    for (const [seriesUid, instances] of bySeries) {
      const middle = instances[Math.floor((instances.length - 1) / 2)];
      try {
        return await this.rendered(p, projectId, study, seriesUid, middle.sop_instance_uid, 1, q, req, res, true);
      } catch (e) {
        if (!(e instanceof HttpException) || e.getStatus() !== 406) throw e;
        last = e;
      }
    }
    throw last;
  }

  private async metadata(p: Principal, projectId: string, rows: StoredInstanceRef[], res: Response) {
    acceptedDicomJson(res.req.headers.accept);
    await this.auditReads(p, projectId, rows, 'wado-rs-metadata');
    const root = this.dicomweb.root(projectId);
    const out = [];
    for (const r of rows) {
      out.push(dicomJsonOf(await this.blobs.getBuffer(r.blob_key), `${root}/studies/${r.study_instance_uid}/series/${r.series_instance_uid}/instances/${r.sop_instance_uid}`));
    }
    res.status(200).type(DICOM_JSON).send(JSON.stringify(absoluteUrls(out, this.origin(res.req))));
  }

  private async stow(p: Principal, projectId: string, study: string | null, req: Request, res: Response) {
    const ct = parseContentType(req.headers['content-type']);
    if (ct.mediaType !== 'multipart/related') throw new HttpException(`STOW-RS needs Content-Type multipart/related; type="application/dicom", got "${req.headers['content-type'] ?? 'none'}"`, 415);
    if (ct.params.type && ct.params.type !== 'application/dicom') throw new HttpException(`STOW-RS accepts application/dicom parts; ${ct.params.type} (metadata + bulk data) is not supported`, 415);
    const dir = join(this.config.dataDir, 'incoming');
    mkdirSync(dir, { recursive: true });
    let parts;
    try {
      parts = await spoolMultipart(req, ct.params.boundary ?? '', dir, this.config.uploads.maxBytes, new DiskReserve(dir, this.config.uploads.diskReserveBytes).meter());
    } catch (e) {
      if (e instanceof MultipartError) throw new BadRequestException(`STOW-RS: ${e.message}`);
      throw e;
    }
    if (!parts.length) throw new BadRequestException('STOW-RS: the request holds no parts');
    const actor = actorOf(p);
    // What each part says it is, read before ingest takes the files: a refused part is answered with its UIDs.
    const sent = parts.map((part) => sentUids(part.path));
    // POST /studies/{study}: an instance of another study is not stored (see stow-study.ts). A part too broken
    // to read its header goes on to ingest, which quarantines it with the reason.
    const secret = study ? await this.deidSecret.get() : '';
    const matches = study ? sent.map((uids) => (uids ? targetStudyMatch(uids.studyInstanceUid, study, secret) : null)) : [];
    const outOfStudy = parts.map((_, k) => study !== null && sent[k] !== null && matches[k] === null);
    for (const [k, part] of parts.entries()) if (outOfStudy[k]) rmSync(part.path, { force: true });
    const accepted = parts.map((part, k) => ({ part, k })).filter(({ k }) => !outOfStudy[k]);
    const batch = accepted.length ? await this.receiver.openBatch(projectId, IngestSource.StowRs, `STOW-RS ${accepted.length} instance(s)`, actor) : null;
    const itemIds = batch ? await this.receiver.addFiles(batch, accepted.map(({ part, k }) => ({ path: part.path, name: `stow-${k + 1}.dcm`, sha256: part.sha256 })), actor) : [];
    const itemOfPart = new Map(accepted.map(({ k }, i) => [k, itemIds[i]]));

    // Wait (bounded) for the worker so the response can say what was stored and what was refused.
    const deadline = Date.now() + this.config.dicom.stowWaitSeconds * 1000;
    let items: IngestItem[] = [];
    for (;;) {
      items = itemIds.length ? await this.dataSource.getRepository(IngestItem).findBy({ id: In(itemIds) }) : [];
      const pending = items.some((i) => i.status === IngestItemStatus.Queued || i.status === IngestItemStatus.Processing);
      if (!pending || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const itemById = new Map(items.map((i) => [i.id, i]));
    const instances = await this.dataSource.getRepository(Instance).findBy({ id: In(items.map((i) => i.instanceId).filter((x): x is string => !!x)) });
    const byId = new Map(instances.map((i) => [i.id, i]));
    const root = this.dicomweb.root(projectId);
    const referenced: unknown[] = [];
    const failed: unknown[] = [];
    const warnings: string[] = [];
    const seriesUid = new Map<string, string>();
    const storedStudies = new Set<string>();
    for (const s of await this.dataSource.query(`SELECT se.id, se.series_instance_uid, st.study_instance_uid FROM series se JOIN studies st ON st.id = se.study_id WHERE se.id = ANY($1)`, [instances.map((i) => i.seriesId)])) {
      seriesUid.set(s.id, `${s.study_instance_uid}/series/${s.series_instance_uid}`);
    }
    // Failed SOP Sequence items (PS3.18 10.5.3): the UIDs the sender used, when the part was readable that far.
    const failedItem = (k: number, reason: number) => {
      const uids = sent[k];
      return { ...(uids ? { '00081150': { vr: 'UI', Value: [uids.sopClassUid] }, '00081155': { vr: 'UI', Value: [uids.sopInstanceUid] } } : {}), '00081197': { vr: 'US', Value: [reason] } };
    };
    for (let k = 0; k < parts.length; k++) {
      if (outOfStudy[k]) {
        failed.push(failedItem(k, STUDY_MISMATCH_FAILURE));
        warnings.push(`stow-${k + 1}.dcm: its Study Instance UID ${sent[k]!.studyInstanceUid || '(none)'} is not the study ${study} addressed, so it was not stored; send it to ${root}/studies`);
        continue;
      }
      const item = itemById.get(itemOfPart.get(k)!);
      if (!item) continue;
      const inst = item.instanceId ? byId.get(item.instanceId) : undefined;
      if ((item.status === IngestItemStatus.Stored || item.status === IngestItemStatus.Duplicate) && inst) {
        storedStudies.add((seriesUid.get(inst.seriesId) ?? '').split('/series/')[0]);
        referenced.push({
          '00081150': { vr: 'UI', Value: [inst.sopClassUid] },
          '00081155': { vr: 'UI', Value: [inst.sopInstanceUid] },
          '00081190': { vr: 'UR', Value: [`${root}/studies/${seriesUid.get(inst.seriesId)}/instances/${inst.sopInstanceUid}`] },
        });
      } else if (item.status === IngestItemStatus.Quarantined) {
        failed.push(failedItem(k, 0xc000));
        warnings.push(`${item.fileName}: ${item.reason}`);
      } else {
        warnings.push(`${item.fileName}: still being processed; see /api/projects/${projectId}/uploads/${batch!.id}`);
      }
    }
    // The study stored into (PS3.18 10.5.3: the Retrieve URL of the study when everything went to one; it was .../studies).
    const target = study ? servedTargetStudy(study, matches, secret) : storedStudies.size === 1 ? [...storedStudies][0] || null : null;
    const body: Record<string, unknown> = { '00081190': { vr: 'UR', Value: [`${root}/studies${target ? `/${target}` : ''}`] } };
    if (referenced.length) body['00081199'] = { vr: 'SQ', Value: referenced };
    if (failed.length) body['00081198'] = { vr: 'SQ', Value: failed };
    // 200: all stored; 202: some refused or still processing; 409: none stored (PS3.18 10.5.3).
    const status = referenced.length === parts.length ? 200 : referenced.length === 0 && failed.length === parts.length ? 409 : 202;
    if (warnings.length) res.setHeader('Warning', warnings.slice(0, 20).map((w) => `299 contour "${w.replace(/["\\\r\n]/g, ' ')}"`).join(', '));
    if (batch) res.setHeader('X-Contour-Batch', batch.id);
    res.status(status).type(DICOM_JSON).send(JSON.stringify(absoluteUrls(body, this.origin(req))));
  }
}

/**
 * The answer with its Retrieve URLs (0008,1190) and BulkDataURIs made absolute on `origin` where they are paths (a
 * relative URL was given when PUBLIC_URL was not set; clients such as dicomweb-client follow them as they are).
 */
export function absoluteUrls<T>(body: T, origin: string): T {
  if (!origin) return body;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'BulkDataURI' && typeof x === 'string' && x.startsWith('/')) out[k] = origin + x;
      else if (k === '00081190' && x && typeof x === 'object' && Array.isArray((x as { Value?: unknown[] }).Value)) {
        out[k] = { ...(x as object), Value: (x as { Value: unknown[] }).Value.map((u) => (typeof u === 'string' && u.startsWith('/') ? origin + u : u)) };
      } else out[k] = walk(x);
    }
    return out;
  };
  return walk(body) as T;
}

/**
 * One part of a WADO-RS retrieve: the instance as stored, or converted to `wanted` (Explicit VR Little Endian). An
 * instance whose conversion fails is sent as stored, its part naming the syntax it is in (the client can tell, and
 * asked-for data is never left out): the response's status line went out with the first part, and a failure further
 * on used to end a 200 response midway (a client saw a network error or took a partial study for the whole one).
 */
export async function servedInstance(
  r: Pick<StoredInstanceRef, 'blob_key' | 'transfer_syntax_uid' | 'sop_instance_uid'>,
  wanted: string,
  blobs: Pick<BlobStore, 'get' | 'getBuffer'>,
  convert: (file: Buffer) => Promise<Buffer>,
  logger: Pick<Logger, 'warn'>,
  asStoredAllowed = true,
): Promise<{ contentType: string; body: Buffer | Readable }> {
  if (wanted === '*' || r.transfer_syntax_uid === wanted) return { contentType: `application/dicom; transfer-syntax=${r.transfer_syntax_uid}`, body: await blobs.get(r.blob_key) };
  const file = await blobs.getBuffer(r.blob_key);
  try {
    return { contentType: `application/dicom; transfer-syntax=${wanted}`, body: await convert(file) };
  } catch (e) {
    // A client that named this syntax alone is not sent another: a 406 for the first part (before the status line),
    // the response ended early after it (mayServeAsStored).
    if (!asStoredAllowed) throw new NotAcceptableException(`Instance ${r.sop_instance_uid} (stored as ${r.transfer_syntax_uid}) cannot be converted to ${wanted}: ${(e as Error).message}. Ask for it as stored (transfer-syntax=*)`);
    logger.warn(`instance ${r.sop_instance_uid} (stored as ${r.transfer_syntax_uid}) could not be converted to ${wanted}, sent as stored: ${(e as Error).message}`);
    return { contentType: `application/dicom; transfer-syntax=${r.transfer_syntax_uid}`, body: file };
  }
}

/** What a received part says it is, from its header (the first megabyte, else the whole file); null when unreadable. */
function sentUids(path: string): { sopClassUid: string; sopInstanceUid: string; studyInstanceUid: string } | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(1 << 20, size));
    readSync(fd, head, 0, head.length, 0);
    let parsed;
    try {
      parsed = readDicom(head, { untilPixelData: true });
    } catch (e) {
      // A header longer than the first megabyte (a large private block, an embedded report...): read it all.
      if (head.length === size || !(e instanceof DicomRejection && e.code === 'truncated')) throw e;
      parsed = readDicom(readFileSync(path), { untilPixelData: true });
    }
    return parsed.sopClassUid && parsed.sopInstanceUid ? { sopClassUid: parsed.sopClassUid, sopInstanceUid: parsed.sopInstanceUid, studyInstanceUid: parsed.studyInstanceUid } : null;
  } catch {
    // A file the strict reader refuses (an invalid value, a broken sequence further on) often still names itself
    // in its first elements: a lenient read of those answers the Failed SOP Sequence with them (it had none).
    return leniently(path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The UIDs a file names, read leniently (dcmjs keeps what it read before an error); null when it names none. */
function leniently(path: string): { sopClassUid: string; sopInstanceUid: string; studyInstanceUid: string } | null {
  try {
    const file = readFileSync(path);
    const dict = withCapturedWarnings(() => dcmjs.data.DicomMessage.readFile(toArrayBuffer(file), { ignoreErrors: true, untilTag: '7FE00010' })).value.dict as Record<string, { Value?: unknown[] }>;
    const uid = (tag: string) => String((dict[tag]?.Value ?? [])[0] ?? '').replace(/\0/g, '').trim();
    const [sopClassUid, sopInstanceUid, studyInstanceUid] = [uid('00080016'), uid('00080018'), uid('0020000D')];
    // As sent: dcmjs drops characters a UID may not hold, so a malformed one ("dccc95…") would come out as other digits.
    const valid = (u: string) => /^[0-9.]{1,64}$/.test(u) && file.includes(Buffer.from(u, 'latin1'));
    return valid(sopClassUid) && valid(sopInstanceUid) ? { sopClassUid, sopInstanceUid, studyInstanceUid: valid(studyInstanceUid) ? studyInstanceUid : '' } : null;
  } catch {
    return null;
  }
}
