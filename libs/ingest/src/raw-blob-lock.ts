// A received file is kept in the blob store under its content hash until ingest is done with it, and the same
// file can arrive twice at once (a PACS re-sending, an upload retried). Without care, the first copy's clean-up
// (dropRawIfUnused: no queued item needs the raw file any more, delete it) could run between the second copy's
// write into the store and the insert of its ingest item, deleting the file the second item is about to need:
// a lost file. Both sides therefore hold a PostgreSQL advisory lock on the content key: receivers share it from
// before the write until their item rows are committed, the clean-up takes it alone for its check and delete.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** The advisory lock id of a blob key (64 hex digits): its first 64 bits, as a signed bigint in decimal. */
export function rawBlobLockId(key: string): string {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`Invalid blob key ${JSON.stringify(key)}: expected 64 hex characters`);
  return BigInt.asIntN(64, BigInt(`0x${key.slice(0, 16)}`)).toString();
}

/**
 * The advisory lock ids of several keys, distinct and in ascending order: everyone who takes several of these locks
 * takes them in this order, so two never wait on each other.
 */
export function rawBlobLockIds(keys: string[]): string[] {
  return [...new Set(keys.map(rawBlobLockId))].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
}

/** The SHA-256 (hex) of a file: its blob key before it is written to the store. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
