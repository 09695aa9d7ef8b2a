// Zip uploads: entries are streamed to files one at a time, so a multi-gigabyte archive never sits in memory.
// Folders, macOS resource forks and DICOMDIR index files are skipped; everything else is ingested (and
// quarantined with a reason when it is not an image).
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import * as yauzl from 'yauzl';
import { DiskReserve, hashingPassThrough } from '@contour/storage';
import type { ReceivedFile } from './ingest-receiver.service';

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

export function isZip(file: { originalname: string; mimetype?: string; path: string }): boolean {
  return /\.zip$/i.test(file.originalname) || file.mimetype === 'application/zip' || file.mimetype === 'application/x-zip-compressed';
}

/** The file starts with the zip signature: from its first bytes when they were kept as it was written, else read again. */
export async function looksLikeZip(path: string, head?: Buffer): Promise<boolean> {
  if (head && head.length >= ZIP_MAGIC.length) return head.subarray(0, ZIP_MAGIC.length).equals(ZIP_MAGIC);
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    return head.equals(ZIP_MAGIC);
  } finally {
    await fh.close();
  }
}

const skip = (name: string) => name.endsWith('/') || name.startsWith('__MACOSX/') || /(^|\/)\.[^/]*$/.test(name) || /(^|\/)DICOMDIR$/i.test(name);

/** A zip whose entries add up to more than the deployment allows (ZIP_MAX_BYTES): a zip bomb would fill the disk. */
export class ZipTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    const size = maxBytes >= 1024 ** 3 ? `${+(maxBytes / 1024 ** 3).toFixed(2)} GiB` : `${+(maxBytes / 1024 ** 2).toFixed(2)} MiB`;
    super(`it expands to more than ${size}, the most this deployment unpacks from one archive (ZIP_MAX_BYTES): upload it in parts`);
    this.name = 'ZipTooLargeError';
  }
}

/**
 * Unpacks `zipPath` next to itself, deletes the archive, and returns the extracted files. When the archive cannot be
 * read to the end, or its entries add up to more than `maxBytes` (their sizes as the archive declares them, which
 * yauzl holds each entry's stream to), the files extracted so far are deleted before the error is thrown (the archive
 * is left to the caller).
 */
export async function extractZip(zipPath: string, archiveName: string, maxBytes = Number.POSITIVE_INFINITY, reserve?: DiskReserve): Promise<ReceivedFile[]> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) => yauzl.open(zipPath, { lazyEntries: true, autoClose: true }, (err, z) => (err ? rej(err) : res(z!))));
  const out: ReceivedFile[] = [];
  const written: string[] = [];
  const dir = dirname(zipPath);
  try {
    await unpack(zip, dir, archiveName, maxBytes, out, written, reserve ?? new DiskReserve(dir, 0));
  } catch (e) {
    zip.close();
    await Promise.all(written.map((path) => rm(path, { force: true })));
    throw e;
  }
  await rm(zipPath, { force: true });
  return out;
}

function unpack(zip: yauzl.ZipFile, dir: string, archiveName: string, maxBytes: number, out: ReceivedFile[], written: string[], reserve: DiskReserve): Promise<void> {
  let total = 0;
  return new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      if (skip(entry.fileName)) return zip.readEntry();
      total += entry.uncompressedSize;
      if (total > maxBytes) return reject(new ZipTooLargeError(maxBytes));
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) return reject(err ?? new Error('cannot read entry'));
        const path = join(dir, `zip-${randomUUID()}-${basename(entry.fileName).replace(/[^\w.-]/g, '_')}`);
        written.push(path);
        // Hashed as it is written (the blob store's content key), so the receiver does not read it again for it.
        const hashing = hashingPassThrough();
        pipeline(stream, reserve.guard(), hashing, createWriteStream(path))
          .then(() => {
            out.push({ path, name: `${archiveName}/${entry.fileName}`, sha256: hashing.sha256() });
            zip.readEntry();
          })
          .catch(reject);
      });
    });
    zip.readEntry();
  });
}
