// Content-addressed blob storage. Keys are the SHA-256 of the content, so writing the same bytes twice is
// harmless (ingest retries rely on that) and a key can be checked against its content at any time.
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';

export interface StoredBlob {
  /** sha256 hex of the content. */
  key: string;
  size: number;
}

/** Content-addressed: a blob's key is the SHA-256 (hex) of its bytes, in every implementation. */
export interface BlobStore {
  /** Streams `source` into the store; memory use does not depend on its size. */
  put(source: Readable | Buffer): Promise<StoredBlob>;
  /** Moves an already-written local file into the store (used for uploads spooled to disk). */
  putFile(path: string): Promise<StoredBlob>;
  get(key: string): Promise<Readable>;
  getBuffer(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  size(key: string): Promise<number>;
  delete(key: string): Promise<void>;
  /** A short description for health checks and logs. */
  describe(): string;
}

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`Blob ${key} is not in the store`);
    this.name = 'BlobNotFoundError';
  }
}

export const BLOB_STORE = Symbol('BlobStore');

export function assertKey(key: string): string {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`Invalid blob key ${JSON.stringify(key)}: expected 64 hex characters`);
  return key;
}

/** How many first bytes `hashingPassThrough` keeps. */
const HEAD_BYTES = 8;

/** A pass-through stream that hashes (SHA-256, the store's key) and counts what flows through it, keeping its first bytes. */
export function hashingPassThrough(): Transform & { readonly size: number; sha256(): string; head(): Buffer } {
  const hash = createHash('sha256');
  let size = 0;
  // The first bytes, for a signature check (a zip sent without its name) that would otherwise open the file again.
  let head = Buffer.alloc(0);
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      if (head.length < HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return Object.defineProperties(stream, { size: { get: () => size }, sha256: { value: () => hash.digest('hex') }, head: { value: () => head } }) as Transform & { readonly size: number; sha256(): string; head(): Buffer };
}
