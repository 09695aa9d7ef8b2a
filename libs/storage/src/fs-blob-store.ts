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

  private async tmpPath() {
    const dir = join(this.root, 'tmp');
    await mkdir(dir, { recursive: true });
    return join(dir, `${process.pid}-${randomUUID()}`);
  }

  async put(source: Readable | Buffer): Promise<StoredBlob> {
    const tmp = await this.tmpPath();
    const counter = hashingPassThrough();
    try {
      await pipeline(Buffer.isBuffer(source) ? Readable.from([source]) : source, counter, createWriteStream(tmp));
      return await this.commit(tmp, counter.sha256(), counter.size);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async putFile(path: string): Promise<StoredBlob> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const tmp = await this.tmpPath();
    await rename(path, tmp).catch(async (e: NodeJS.ErrnoException) => {
      // Different filesystem: copy through a stream instead.
      if (e.code !== 'EXDEV') throw e;
      await pipeline(createReadStream(path), createWriteStream(tmp));
      await unlink(path);
    });
    return this.commit(tmp, hash.digest('hex'), size);
  }

  private async commit(tmp: string, key: string, size: number): Promise<StoredBlob> {
    const handle = await open(tmp, 'r');
    await handle.sync();
    await handle.close();
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    await rename(tmp, target);
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
