// Multer storage for uploads: each file is written to the spool directory as its bytes arrive and hashed on the
// way (SHA-256, the blob store's content key), so the receiver does not read the file again for its key (the
// C-STORE receiver does the same). The file object gets `sha256` beside multer's own `path` and `size`.
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Request } from 'express';
import type { StorageEngine } from 'multer';
import { DiskReserve, hashingPassThrough } from '@contour/storage';

/** `head`: the file's first bytes (up to 8), kept as it was written. */
export type HashedUpload = Express.Multer.File & { sha256: string; head: Buffer };

/** `reserve`: the disk's free-space floor; a file that meets it fails the upload with DiskFullError (answered 507). */
export function hashingDiskStorage(destination: string, reserve: DiskReserve = new DiskReserve(destination, 0)): StorageEngine {
  // Made now, as multer's own disk storage does: the pipeline must take the file's stream at once (an error on it
  // before then would be unhandled).
  mkdirSync(destination, { recursive: true });
  return {
    _handleFile(_req: Request, file: Express.Multer.File, cb: (error?: unknown, info?: Partial<HashedUpload>) => void) {
      const filename = `upload-${randomUUID()}`;
      const path = join(destination, filename);
      const hashing = hashingPassThrough();
      pipeline(file.stream, reserve.guard(), hashing, createWriteStream(path)).then(
        () => cb(null, { destination, filename, path, size: hashing.size, sha256: hashing.sha256(), head: hashing.head() }),
        (e) => {
          void rm(path, { force: true })
            .catch(() => undefined)
            .then(() => cb(e));
        },
      );
    },
    _removeFile(_req: Request, file: Express.Multer.File, cb: (error: Error | null) => void) {
      rm(file.path, { force: true }).then(() => cb(null), cb);
    },
  };
}
