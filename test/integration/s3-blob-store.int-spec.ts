// The S3 blob store against a real S3 API server on loopback (s3rver, an S3-compatible server for tests).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { BlobNotFoundError } from '@contour/storage';
import { S3BlobStore } from '../../libs/storage/src/s3-blob-store';
import { freePort } from '../support/processes';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver');

describe('S3BlobStore', () => {
  let server: { run(): Promise<unknown>; close(): Promise<void> };
  let store: S3BlobStore;

  beforeAll(async () => {
    const port = await freePort();
    server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: mkdtempSync(join(tmpdir(), 's3-')), configureBuckets: [{ name: 'contour-test' }] });
    await server.run();
    store = new S3BlobStore({ endpoint: `http://127.0.0.1:${port}`, bucket: 'contour-test', region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
  });
  afterAll(() => server.close());

  it('stores content under its sha256, streams it back and reports size', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 9);
    const { key, size } = await store.put(Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    expect(key).toBe(createHash('sha256').update(data).digest('hex'));
    expect(size).toBe(data.length);
    expect(await store.exists(key)).toBe(true);
    expect(await store.size(key)).toBe(data.length);
    expect((await store.getBuffer(key)).equals(data)).toBe(true);
  });

  it('is idempotent, deletes, and reports missing keys clearly', async () => {
    const a = await store.put(Buffer.from('same'));
    const b = await store.put(Buffer.from('same'));
    expect(a).toEqual(b);
    await store.delete(a.key);
    expect(await store.exists(a.key)).toBe(false);
    await expect(store.getBuffer(a.key)).rejects.toBeInstanceOf(BlobNotFoundError);
  });
});
