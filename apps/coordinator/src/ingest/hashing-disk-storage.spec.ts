import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { hashingDiskStorage, HashedUpload } from './hashing-disk-storage';

const handle = (dir: string, stream: Readable) =>
  new Promise<{ error?: unknown; info?: Partial<HashedUpload> }>((resolve) =>
    hashingDiskStorage(dir)._handleFile({} as never, { stream } as Express.Multer.File, (error?: unknown, info?: Partial<HashedUpload>) => resolve({ error, info })),
  );

describe('hashingDiskStorage', () => {
  it('writes the upload into a directory it makes, with its size and the SHA-256 of its bytes', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hds-')), 'incoming');
    const bytes = Buffer.alloc(300_000).map((_, i) => (i * 7) % 251);
    const { error, info } = await handle(dir, Readable.from([bytes.subarray(0, 70_000), bytes.subarray(70_000)]));
    expect(error).toBeNull();
    expect(info?.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(info?.size).toBe(bytes.length);
    expect(readFileSync(info!.path!).equals(bytes)).toBe(true);
  });

  it('an upload broken off midway leaves no file behind and reports the error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hds-'));
    const stream = new PassThrough();
    const done = handle(dir, stream);
    stream.write(Buffer.alloc(1000));
    setImmediate(() => stream.destroy(new Error('client went away')));
    const { error, info } = await done;
    expect((error as Error).message).toBe('client went away');
    expect(info).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });
});
