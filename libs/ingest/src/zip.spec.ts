import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { readdirSync } from 'node:fs';
import { DiskFullError, DiskReserve, freeBytes } from '@contour/storage';
import { extractZip, looksLikeZip, ZipTooLargeError } from './zip';

describe('extractZip', () => {
  it('unpacks the entries to files with their SHA-256 (the receiver reads none again), skips folders and resource forks, and deletes the archive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zip-'));
    const entries: Record<string, Uint8Array> = {
      'study/1.dcm': Buffer.alloc(200_000, 1),
      'study/2.dcm': Buffer.from('second'),
      '__MACOSX/study/._1.dcm': Buffer.from('fork'),
    };
    const archive = join(dir, 'upload.zip');
    writeFileSync(archive, zipSync(entries));
    const files = await extractZip(archive, 'upload.zip');
    expect(files.map((f) => f.name).sort()).toEqual(['upload.zip/study/1.dcm', 'upload.zip/study/2.dcm']);
    for (const f of files) {
      const content = readFileSync(f.path);
      expect(content.equals(Buffer.from(entries[f.name.slice('upload.zip/'.length)]))).toBe(true);
      expect(f.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    }
    expect(existsSync(archive)).toBe(false);
  });

  it('refuses an archive that expands to more than the limit (a zip bomb would fill the disk) and leaves none of its files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zip-bomb-'));
    const archive = join(dir, 'bomb.zip');
    // 3 MB of zeros compress to a few KB.
    writeFileSync(archive, zipSync({ 'a.dcm': new Uint8Array(1_000_000), 'b.dcm': new Uint8Array(1_000_000), 'c.dcm': new Uint8Array(1_000_000) }, { level: 9 }));
    const refused = extractZip(archive, 'bomb.zip', 2_500_000);
    await expect(refused).rejects.toBeInstanceOf(ZipTooLargeError);
    await expect(refused).rejects.toThrow(/expands to more than 2\.38 MiB, the most this deployment unpacks from one archive \(ZIP_MAX_BYTES\): upload it in parts/);
    expect(readdirSync(dir)).toEqual(['bomb.zip']);
    // Within the limit it unpacks.
    expect(await extractZip(archive, 'bomb.zip', 3_000_000)).toHaveLength(3);
  });

  it('stops at the disk reserve (a floor above what the disk has free) and leaves none of its files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zip-full-'));
    const archive = join(dir, 'full.zip');
    writeFileSync(archive, zipSync({ 'a.dcm': new Uint8Array(1000), 'b.dcm': new Uint8Array(1000) }));
    const reserve = new DiskReserve(dir, (await freeBytes(dir)) + 1024 ** 4);
    await expect(extractZip(archive, 'full.zip', Number.POSITIVE_INFINITY, reserve)).rejects.toBeInstanceOf(DiskFullError);
    expect(readdirSync(dir)).toEqual(['full.zip']);
    expect(await extractZip(archive, 'full.zip', Number.POSITIVE_INFINITY, new DiskReserve(dir, 1))).toHaveLength(2);
  });
});

describe('looksLikeZip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zip-head-'));
  const zip = join(dir, 'a');
  const dicom = join(dir, 'b');
  writeFileSync(zip, zipSync({ 'x.dcm': Buffer.from('x') }));
  writeFileSync(dicom, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM')]));
  it.each([
    ['a zip, read from disk', zip, undefined, true],
    ['a DICOM file, read from disk', dicom, undefined, false],
    // The first bytes kept while the upload was written: the file is not opened (this path does not exist).
    ['a zip, from its kept first bytes', join(dir, 'missing'), Buffer.from([0x50, 0x4b, 0x03, 0x04, 9]), true],
    ['a DICOM file, from its kept first bytes', join(dir, 'missing'), Buffer.alloc(8), false],
    ['a file shorter than the signature: read from disk', dicom, Buffer.from([0x50]), false],
  ] as [string, string, Buffer | undefined, boolean][])('%s', async (_name, path, head, expected) => {
    expect(await looksLikeZip(path, head)).toBe(expected);
  });
});
