import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertKey, BlobNotFoundError, BlobStore, hashingPassThrough, StoredBlob } from './blob-store';

/**
 * Local filesystem store: objects/ab/cd/<sha256>. Writes go to tmp/ first, are fsynced, then renamed into
 * place, so a crash never leaves a half-written object under its final name.
 */
export class FsBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  describe() {
    return `fs:${this.root}`;
  }

  private pathOf(key: string) {
    assertKey(key);
    return join(this.root, 'objects', key.slice(0, 2), key.slice(2, 4), key);
  }

  /** Directories this process made or found: each is made once, not on every write (objects are deleted, never their directories). */
  private readonly dirs = new Set<string>();

  private async ensureDir(dir: string) {
    if (this.dirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.dirs.add(dir);
  }

  /** Renames into `target`'s directory, making it first if it is not there (or no longer: removed by hand). */
  private async renameInto(from: string, target: string) {
    await this.ensureDir(dirname(target));
    await rename(from, target).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT' || !this.dirs.delete(dirname(target))) throw e;
      await this.ensureDir(dirname(target));
      await rename(from, target);
    });
  }

  private async tmpPath() {
    const dir = join(this.root, 'tmp');
    await this.ensureDir(dir);
    return join(dir, `${process.pid}-${randomUUID()}`);
  }

  async put(source: Readable | Buffer): Promise<StoredBlob> {
    const tmp = await this.tmpPath();
    const counter = hashingPassThrough();
    try {
      await pipeline(Buffer.isBuffer(source) ? Readable.from([source]) : source, counter, createWriteStream(tmp));
      return await this.commit(tmp, counter.sha256());
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async putFile(path: string): Promise<StoredBlob> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const key = hash.digest('hex');
    try {
      // Synced where it lies and renamed straight into place (the rename, after the sync, makes it visible).
      return await this.commit(path, key);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    }
    // Another filesystem: copied into tmp/ first.
    const tmp = await this.tmpPath();
    await pipeline(createReadStream(path), createWriteStream(tmp));
    await unlink(path);
    return this.commit(tmp, key);
  }

  /** Syncs `file` and renames it into place as object `key`. */
  private async commit(file: string, key: string): Promise<StoredBlob> {
    const handle = await open(file, 'r');
    let size: number;
    try {
      size = (await handle.stat()).size;
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.renameInto(file, this.pathOf(key));
    return { key, size };
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    if (!(await this.exists(key))) throw new BlobNotFoundError(key);
    return createReadStream(path);
  }

  async getBuffer(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(key);
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.pathOf(key)).then(
      () => true,
      () => false,
    );
  }

  async size(key: string): Promise<number> {
    try {
      return (await stat(this.pathOf(key))).size;
    } catch {
      throw new BlobNotFoundError(key);
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }
}
