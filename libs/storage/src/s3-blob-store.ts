import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { assertKey, BlobNotFoundError, BlobStore, StoredBlob } from './blob-store';

export interface S3Settings {
  endpoint?: string;
  bucket: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

/**
 * S3-compatible store (AWS, MinIO, Ceph...). The content hash is only known after reading the whole input,
 * so input is spooled to a local temp file while hashing, then uploaded in parts under its final key.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials:
        settings.accessKeyId && settings.secretAccessKey
          ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
          : undefined,
    });
  }

  describe() {
    return `s3:${this.settings.endpoint ?? 'aws'}/${this.settings.bucket}`;
  }

  private objectKey(key: string) {
    assertKey(key);
    return `objects/${key.slice(0, 2)}/${key}`;
  }

  async put(source: Readable | Buffer): Promise<StoredBlob> {
    const dir = await mkdtemp(join(tmpdir(), 'contour-s3-'));
    const tmp = join(dir, randomUUID());
    try {
      const hash = createHash('sha256');
      let size = 0;
      await pipeline(
        Buffer.isBuffer(source) ? Readable.from([source]) : source,
        new Transform({
          transform(chunk: Buffer, _e, done) {
            hash.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        }),
        createWriteStream(tmp),
      );
      const key = hash.digest('hex');
      if (!(await this.exists(key))) {
        await new Upload({
          client: this.client,
          params: { Bucket: this.settings.bucket, Key: this.objectKey(key), Body: createReadStream(tmp) },
        }).done();
      }
      return { key, size };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async putFile(path: string): Promise<StoredBlob> {
    const stored = await this.put(createReadStream(path));
    await rm(path, { force: true });
    return stored;
  }

  async get(key: string): Promise<Readable> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
      return out.Body as Readable;
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey') throw new BlobNotFoundError(key);
      throw e;
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.get(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.size(key);
      return true;
    } catch (e) {
      if (e instanceof BlobNotFoundError) return false;
      throw e;
    }
  }

  async size(key: string): Promise<number> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
      return Number(head.ContentLength ?? 0);
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === 'NotFound' || name === 'NoSuchKey') throw new BlobNotFoundError(key);
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
  }
}
