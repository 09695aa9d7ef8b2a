// DICOM C-STORE receiver (Storage SCP) on DICOM_PORT with AE title DICOM_AE_TITLE, for modalities and PACS
// that push studies. Each association becomes one ingest batch of the project its calling AE title is routed
// to (or DICOM_DEFAULT_PROJECT). Incoming datasets stream straight to disk, so a large instance never sits
// in memory, and C-STORE answers Success only once the file is durably stored and queued.
import { createWriteStream, mkdirSync, WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createHash, Hash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { PduGuard } from './pdu-guard';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import * as dimse from 'dcmjs-dimse';
import * as dcmjs from 'dcmjs';
import { Actor } from '@contour/audit';
import { CONFIG, ContourConfig } from '@contour/config';
import { IngestBatch, IngestSource } from '@contour/db';
import { CONTOUR_IMPLEMENTATION } from '@contour/dicom';
import { IngestReceiver } from '@contour/ingest';
import { DiskFullError, DiskReserve } from '@contour/storage';
import { DicomProjectResolver } from '../ingest/project-resolver.service';

const { Scp, Server, Dataset } = dimse;
// dcmjs-dimse logs every connection at info level to the console; Contour logs what matters itself.
dimse.log.setLevel('warn');
const { CEchoResponse, CStoreResponse } = dimse.responses;
const { PresentationContextResult, RejectResult, RejectSource, RejectReason, SopClass, StorageClass, Status, TransferSyntax } = dimse.constants;

/** Transfer syntaxes we accept as sent (the ingest pipeline decodes all of them), in order of preference. */
export const ACCEPTED_TRANSFER_SYNTAXES = [
  TransferSyntax.ExplicitVRLittleEndian,
  TransferSyntax.ImplicitVRLittleEndian,
  TransferSyntax.ExplicitVRBigEndian,
  '1.2.840.10008.1.2.5', // RLE
  '1.2.840.10008.1.2.1.99', // Deflated explicit VR little endian
  '1.2.840.10008.1.2.4.50', // JPEG baseline
  '1.2.840.10008.1.2.4.51', // JPEG extended
  '1.2.840.10008.1.2.4.57', // JPEG lossless
  '1.2.840.10008.1.2.4.70', // JPEG lossless SV1
  '1.2.840.10008.1.2.4.80', // JPEG-LS lossless
  '1.2.840.10008.1.2.4.81', // JPEG-LS near-lossless
  '1.2.840.10008.1.2.4.90', // JPEG 2000 lossless
  '1.2.840.10008.1.2.4.91', // JPEG 2000
  '1.2.840.10008.1.2.4.201', // HTJ2K lossless
  '1.2.840.10008.1.2.4.202',
  '1.2.840.10008.1.2.4.203',
];
/**
 * Storage SOP classes dcmjs-dimse does not list but a PACS pushes with a study, and ingest keeps (as non-image
 * objects, or as segmentations): without a presentation context for them storescu and PACS report a failed store.
 */
export const EXTRA_STORAGE_SOP_CLASSES = [
  '1.2.840.10008.5.1.4.1.1.66.4', // Segmentation
  '1.2.840.10008.5.1.4.1.1.66.7', // Label Map Segmentation
  '1.2.840.10008.5.1.4.1.1.481.1', // RT Image
  '1.2.840.10008.5.1.4.1.1.481.2', // RT Dose
  '1.2.840.10008.5.1.4.1.1.481.3', // RT Structure Set
  '1.2.840.10008.5.1.4.1.1.481.5', // RT Plan
  '1.2.840.10008.5.1.4.1.1.481.8', // RT Ion Plan
  '1.2.840.10008.5.1.4.1.1.9.1.1', // 12-lead ECG
  '1.2.840.10008.5.1.4.1.1.9.1.2', // General ECG
  '1.2.840.10008.5.1.4.1.1.9.1.3', // Ambulatory ECG
  '1.2.840.10008.5.1.4.1.1.11.1', // Grayscale Softcopy Presentation State
  '1.2.840.10008.5.1.4.1.1.11.2', // Color Softcopy Presentation State
  '1.2.840.10008.5.1.4.1.1.88.33', // Comprehensive SR
  '1.2.840.10008.5.1.4.1.1.88.34', // Comprehensive 3D SR
  '1.2.840.10008.5.1.4.1.1.88.59', // Key Object Selection
];
const STORAGE_SOP_CLASSES = new Set<string>([...Object.values(StorageClass as unknown as Record<string, string>), ...EXTRA_STORAGE_SOP_CLASSES]);

/** Preamble + File Meta Information for a dataset received over the network, so it becomes a Part 10 file. */
export function part10Header(sopClassUid: string, sopInstanceUid: string, transferSyntaxUid: string, sourceAe: string): Buffer {
  const meta = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: transferSyntaxUid,
    ImplementationClassUID: CONTOUR_IMPLEMENTATION.classUid,
    ImplementationVersionName: CONTOUR_IMPLEMENTATION.versionName,
    SourceApplicationEntityTitle: sourceAe.slice(0, 16),
  });
  const dict = new dcmjs.data.DicomDict(meta);
  // An explicit-LE empty dataset writes nothing after the meta group; the received bytes follow as they are.
  return Buffer.from(dict.write());
}

interface AssociationState {
  callingAe: string;
  address: string;
  projectId: string;
  batch: Promise<IngestBatch> | null;
  received: number;
  /** Files named so far in this association: items are named by their order, never by their (original) UIDs. */
  named: number;
}

/** How long a connection may stay open without asking for an association. */
const ASSOCIATION_REQUEST_TIMEOUT_MS = 30_000;

/** A C-STORE's spool file as it is written: its path, transfer syntax and running content hash. */
type SpoolStream = WriteStream & { contourPath?: string; contourTs?: string; contourHash?: Hash };
/** The dataset handed to cStoreRequest: where the spool file is and its SHA-256. */
type SpooledDataset = dimse.Dataset & { contourPath?: string; contourSha256?: string };

@Injectable()
export class StorageScpService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('StorageSCP');
  private server: InstanceType<typeof Server> | null = null;
  private readonly spoolDir: string;
  private readonly reserve: DiskReserve;

  constructor(
    @Inject(CONFIG) private readonly config: ContourConfig,
    private readonly receiver: IngestReceiver,
    private readonly projects: DicomProjectResolver,
  ) {
    this.spoolDir = join(config.dataDir, 'incoming');
    this.reserve = new DiskReserve(this.spoolDir, config.uploads.diskReserveBytes);
  }

  onApplicationBootstrap() {
    if (!this.config.dicom.enabled) return;
    mkdirSync(this.spoolDir, { recursive: true });
    // The Scp class is created per connection by dcmjs-dimse; this closure gives it our services.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const service = this;
    class ContourScp extends Scp {
      state: AssociationState | null = null;
      /**
       * Spool files still being written: an association aborted or dropped midway (a sender killed, a cable pulled)
       * left its instance's partial file, holding original identifiers, in the spool for good. Each is deleted when
       * the association ends before the instance was handed over.
       */
      private readonly spooling = new Set<SpoolStream>();

      /** Whether the peer has asked for an association (a connection that never does is closed after a while). */
      private associationAsked = false;

      constructor(...args: ConstructorParameters<typeof Scp>) {
        super(...args);
        this.on('close', () => this.dropPartial('the connection closed'));
        // PDUs too long to be honest end the connection before dcmjs-dimse gathers them (pdu-guard.ts), and a connection
        // that asks for no association within the association timeout is closed (idle ones stayed open for good).
        const socket = args[0] as unknown as Socket;
        const guard = new PduGuard();
        socket.on('data', (chunk: Buffer) => {
          const problem = guard.feed(chunk);
          if (problem) {
            service.logger.warn(`dropping the DICOM connection from ${socket.remoteAddress}: ${problem}`);
            socket.destroy();
          }
        });
        const idle = setTimeout(() => {
          if (this.associationAsked) return;
          service.logger.warn(`closing the DICOM connection from ${socket.remoteAddress}: no association request within ${ASSOCIATION_REQUEST_TIMEOUT_MS / 1000} s`);
          socket.destroy();
        }, ASSOCIATION_REQUEST_TIMEOUT_MS);
        idle.unref();
        socket.once('close', () => clearTimeout(idle));
      }

      /** An A-ABORT from the sender (dcmjs-dimse logged "abort method must be implemented"). */
      abort(source?: unknown, reason?: unknown) {
        service.logger.warn(`association from ${this.state?.callingAe ?? 'unknown'} aborted (source ${String(source)}, reason ${String(reason)})`);
        this.dropPartial('the sender aborted the association');
      }

      private dropPartial(why: string) {
        for (const out of this.spooling) {
          // What dcmjs-dimse still hands over from data already received goes nowhere (destroying the stream made
          // those writes throw), and the file is deleted once closed.
          out.write = (() => true) as typeof out.write;
          out.on('error', () => undefined);
          const path = out.contourPath;
          out.end(() => void (path && rm(path, { force: true }).catch((e: Error) => service.logger.error(`could not delete ${path}: ${e.message}`))));
          service.logger.warn(`partial C-STORE from ${this.state?.callingAe ?? 'unknown'} deleted: ${why} before the instance was complete`);
        }
        this.spooling.clear();
      }

      associationRequested(association: dimse.association.Association) {
        this.associationAsked = true;
        void service.onAssociation(this, association).catch((err: Error) => {
          service.logger.error(`association from ${association.getCallingAeTitle()} failed: ${err.message}`);
          this.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.TemporaryCongestion);
        });
      }

      associationReleaseRequested() {
        if (this.state) service.logger.log(`association from ${this.state.callingAe} released after ${this.state.received} instance(s)`);
        this.sendAssociationReleaseResponse();
      }

      cEchoRequest(request: dimse.requests.CEchoRequest, callback: (r: dimse.responses.CEchoResponse) => void) {
        const response = CEchoResponse.fromRequest(request);
        response.setStatus(Status.Success);
        callback(response);
      }

      createStoreWritableStream(context: dimse.association.PresentationContext, request: dimse.requests.CStoreRequest): Writable {
        const path = join(service.spoolDir, `cstore-${randomUUID()}.dcm`);
        const out: SpoolStream = createWriteStream(path);
        out.contourPath = path;
        this.spooling.add(out);
        // The content hash (the blob key) as the bytes arrive, so the receiver need not read the file again for it
        // (the blob store still hashes what it stores, and a mismatch refuses the C-STORE). dcmjs-dimse feeds the
        // stream with write() only, and it is ended without data.
        const hash = createHash('sha256');
        const write = out.write.bind(out) as (chunk: Buffer, ...rest: unknown[]) => boolean;
        out.write = ((chunk: Buffer, ...rest: unknown[]) => {
          hash.update(chunk);
          return write(chunk, ...rest);
        }) as typeof out.write;
        out.contourHash = hash;
        out.contourTs = context.getAcceptedTransferSyntaxUid() ?? '';
        out.write(part10Header(request.getAffectedSopClassUid(), request.getAffectedSopInstanceUid(), context.getAcceptedTransferSyntaxUid() ?? '', this.state?.callingAe ?? ''));
        return out;
      }

      createDatasetFromStoreWritableStream(writable: Writable, context: dimse.association.PresentationContext, callback: (dataset: dimse.Dataset) => void) {
        const out = writable as SpoolStream;
        // Complete from here on: a connection closing now must not delete it while it is handed over.
        this.spooling.delete(out);
        const done = () => {
          const dataset = new Dataset({}, context.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian) as SpooledDataset;
          dataset.contourPath = out.contourPath;
          dataset.contourSha256 = out.contourHash?.digest('hex');
          callback(dataset);
        };
        if (out.writableFinished) done();
        else {
          out.once('finish', done);
          out.end();
        }
      }

      cStoreRequest(request: dimse.requests.CStoreRequest, callback: (r: dimse.responses.CStoreResponse) => void) {
        const response = CStoreResponse.fromRequest(request);
        const spooled = request.getDataset() as SpooledDataset | undefined;
        const path = spooled?.contourPath;
        if (!path || !this.state) {
          response.setStatus(Status.ProcessingFailure);
          return callback(response);
        }
        service
          .store(this.state, path, spooled?.contourSha256)
          .then(() => response.setStatus(Status.Success))
          .catch((err: Error) => {
            service.logger.error(`C-STORE from ${this.state?.callingAe} not stored: ${err.message}`);
            response.setStatus(Status.ResourceLimitation);
          })
          .finally(() => callback(response));
      }
    }
    this.server = new Server(ContourScp);
    this.server.on('networkError', (e: Error) => this.logger.warn(`network error: ${e.message}`));
    this.server.listen(this.config.dicom.port);
    this.logger.log(`DICOM C-STORE receiver listening on port ${this.config.dicom.port}, AE title ${this.config.dicom.aeTitle}`);
  }

  private async onAssociation(scp: InstanceType<typeof Scp> & { state: AssociationState | null }, association: dimse.association.Association) {
    const callingAe = association.getCallingAeTitle().trim();
    const calledAe = association.getCalledAeTitle().trim();
    if (calledAe !== this.config.dicom.aeTitle) {
      this.logger.warn(`rejecting association from ${callingAe}: called AE ${calledAe} is not ${this.config.dicom.aeTitle}`);
      return scp.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
    }
    const full = await this.reserve.check().then(
      () => null,
      (e: unknown) => (e instanceof DiskFullError ? e : Promise.reject(e)),
    );
    if (full) {
      this.logger.warn(`rejecting association from ${callingAe}: ${full.message}`);
      return scp.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.TemporaryCongestion);
    }
    const projectId = await this.projects.forCallingAe(callingAe);
    if (!projectId) {
      this.logger.warn(`rejecting association from ${callingAe}: no AE route for it and no DICOM_DEFAULT_PROJECT`);
      return scp.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
    }
    const socket = (scp as unknown as { socket?: { remoteAddress?: string } }).socket;
    scp.state = { callingAe, address: socket?.remoteAddress ?? 'unknown', projectId, batch: null, received: 0, named: 0 };
    for (const { id } of association.getPresentationContexts()) {
      const context = association.getPresentationContext(id);
      const abstract = context.getAbstractSyntaxUid();
      if (abstract !== SopClass.Verification && !STORAGE_SOP_CLASSES.has(abstract)) {
        context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
        continue;
      }
      const proposed = context.getTransferSyntaxUids();
      const chosen = proposed.find((ts) => ACCEPTED_TRANSFER_SYNTAXES.includes(ts));
      if (chosen) context.setResult(PresentationContextResult.Accept, chosen);
      else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
    }
    scp.sendAssociationAccept();
  }

  /**
   * Hands one received file to ingest, named by its place in the association (the SOP Instance UID it came with is
   * an original identifier: it stays in the re-identification key only). A file that could not be handed over is
   * deleted: it holds identifying data, and the sender was told to send it again.
   */
  private async store(state: AssociationState, path: string, sha256?: string) {
    const actor: Actor = { id: null, name: `dicom:${state.callingAe}`, ip: state.address };
    const name = `image-${++state.named}.dcm`;
    try {
      // Each instance is spooled whole before this (one file); the next is refused at the floor (0xA700, out of resources).
      await this.reserve.check();
      state.batch ??= this.receiver.openBatch(state.projectId, IngestSource.CStore, `C-STORE from ${state.callingAe} (${state.address})`, actor);
      const batch = await state.batch;
      await this.receiver.addFiles(batch, [{ path, name, sha256 }], actor);
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    }
    state.received++;
  }

  onApplicationShutdown() {
    this.server?.close();
  }
}
