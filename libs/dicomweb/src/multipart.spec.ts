import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { multipartStream, parseContentType, spoolMultipart } from './multipart';

const body = (parts: Buffer[], boundary: string) =>
  Buffer.concat([
    Buffer.from('preamble to ignore'),
    ...parts.flatMap((p) => [Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), p]),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);

/** Feeds `buf` in chunks of `size` bytes, to exercise boundaries split across chunks. */
const chunked = (buf: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(buf.length / size) }, (_, i) => buf.subarray(i * size, (i + 1) * size)));

describe('parseContentType', () => {
  it.each([
    ['multipart/related; type="application/dicom"; boundary=abc', 'multipart/related', { type: 'application/dicom', boundary: 'abc' }],
    ['Multipart/Related;boundary="x y";type=application/dicom', 'multipart/related', { boundary: 'x y', type: 'application/dicom' }],
    ['application/dicom', 'application/dicom', {}],
    [undefined, '', {}],
  ])('%s', (header, media, params) => {
    expect(parseContentType(header as string | undefined)).toEqual({ mediaType: media, params });
  });
});

describe('spoolMultipart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-'));
  const payloads = [Buffer.from('first part'), Buffer.alloc(70_000, 7), Buffer.from('--boundary-lookalike\r\n--not it')];

  it.each([1, 3, 17, 1024, 1 << 20])('splits parts fed in %i-byte chunks', async (size) => {
    const parts = await spoolMultipart(chunked(body(payloads, 'BOUNDARY123'), size), 'BOUNDARY123', dir);
    expect(parts).toHaveLength(3);
    parts.forEach((p, i) => {
      expect(readFileSync(p.path)).toEqual(payloads[i]);
      expect(p.size).toBe(payloads[i].length);
      expect(p.sha256).toBe(createHash('sha256').update(payloads[i]).digest('hex'));
      expect(p.headers['content-type']).toBe('application/dicom');
    });
  });

  it('refuses a body without the boundary and a truncated body', async () => {
    await expect(spoolMultipart(Readable.from([Buffer.from('nothing here')]), 'B', dir)).rejects.toThrow(/does not contain the boundary/);
    const full = body(payloads, 'B');
    await expect(spoolMultipart(Readable.from([full.subarray(0, full.length - 10)]), 'B', dir)).rejects.toThrow(/ended before the closing boundary/);
  });

  it.each([
    ['a truncated body', (full: Buffer) => Readable.from([full.subarray(0, full.length - 10)]), Number.MAX_SAFE_INTEGER, /ended before the closing boundary/],
    ['a part over the limit', (full: Buffer) => chunked(full, 4096), 50_000, /larger than the limit/],
    [
      'a connection that breaks',
      (full: Buffer) =>
        Readable.from(
          (async function* () {
            yield full.subarray(0, 40_000);
            throw new Error('socket hang up');
          })(),
        ),
      Number.MAX_SAFE_INTEGER,
      /socket hang up/,
    ],
  ])('%s leaves no file behind (they were kept, identifying data and all)', async (_case, feed, limit, error) => {
    const own = mkdtempSync(join(tmpdir(), 'mp-fail-'));
    await expect(spoolMultipart(feed(body(payloads, 'B')), 'B', own, limit)).rejects.toThrow(error);
    expect(readdirSync(own)).toEqual([]);
  });

  it('round-trips with multipartStream', async () => {
    async function* parts() {
      for (const p of payloads) yield { contentType: 'application/dicom', body: p };
    }
    const chunks: Buffer[] = [];
    for await (const c of multipartStream('RT', parts())) chunks.push(c);
    const spooled = await spoolMultipart(chunked(Buffer.concat(chunks), 5), 'RT', dir);
    expect(spooled.map((p) => readFileSync(p.path))).toEqual(payloads);
  });
});
