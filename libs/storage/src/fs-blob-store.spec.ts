import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobNotFoundError, hashingPassThrough } from './blob-store';
import { FsBlobStore } from './fs-blob-store';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('FsBlobStore', () => {
  let root: string;
  let store: FsBlobStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'blobs-'));
    store = new FsBlobStore(root);
  });

  it('stores content under its sha256 and reads it back', async () => {
    const data = Buffer.from('hello contour');
    const { key, size } = await store.put(data);
    expect(key).toBe(sha(data));
    expect(size).toBe(data.length);
    expect(await store.getBuffer(key)).toEqual(data);
    expect(await store.exists(key)).toBe(true);
    expect(await store.size(key)).toBe(data.length);
  });

  it('streams large content without changing it', async () => {
    const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const { key, size } = await store.put(Readable.from(chunks));
    expect(size).toBe(64 * 64 * 1024);
    expect(key).toBe(sha(Buffer.concat(chunks)));
  });

  it('writing the same bytes twice is idempotent and leaves no temp files', async () => {
    const a = await store.put(Buffer.from('same'));
    const b = await store.put(Buffer.from('same'));
    expect(a).toEqual(b);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('moves a spooled file into the store', async () => {
    const path = join(root, 'upload.bin');
    await writeFile(path, 'spooled');
    const { key } = await store.putFile(path);
    expect((await store.getBuffer(key)).toString()).toBe('spooled');
  });

  it('moves a spooled file straight into place, without a pass through tmp/', async () => {
    const path = join(root, 'upload.bin');
    await writeFile(path, 'hashed on arrival');
    expect(await store.putFile(path)).toEqual({ key: sha(Buffer.from('hashed on arrival')), size: 17 });
    expect(await stat(path).catch(() => null)).toBeNull();
    expect(await readdir(join(root, 'tmp')).catch(() => [])).toEqual([]);
  });

  it('writes again into an object directory removed behind its back (it remembers the directories it made)', async () => {
    const first = await store.put(Buffer.from('one'));
    await rm(join(root, 'objects', first.key.slice(0, 2)), { recursive: true });
    const again = await store.put(Buffer.from('one'));
    expect((await store.getBuffer(again.key)).toString()).toBe('one');
  });

  it('reports a missing key clearly and rejects malformed keys', async () => {
    await expect(store.getBuffer('0'.repeat(64))).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.get('0'.repeat(64))).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.getBuffer('../etc/passwd')).rejects.toThrow(/Invalid blob key/);
  });

  it('deletes', async () => {
    const { key } = await store.put(Buffer.from('gone'));
    await store.delete(key);
    expect(await store.exists(key)).toBe(false);
  });
});

describe('hashingPassThrough', () => {
  it('hashes and counts what flows through, and keeps the first 8 bytes across chunks', async () => {
    const chunks = [Buffer.from([1, 2, 3]), Buffer.from([4]), Buffer.from([5, 6, 7, 8, 9, 10]), Buffer.from([11])];
    const hashing = hashingPassThrough();
    const out: Buffer[] = [];
    hashing.on('data', (c: Buffer) => out.push(c));
    await pipeline(Readable.from(chunks), hashing);
    expect(Buffer.concat(out)).toEqual(Buffer.concat(chunks));
    expect(hashing.size).toBe(11);
    expect(hashing.sha256()).toBe(createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
    expect([...hashing.head()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
