// Streaming multipart/related (RFC 2387) for DICOMweb: STOW-RS request bodies and WADO-RS responses.
// Parts are written to disk as they arrive, so a multi-gigabyte study never sits in memory.
import { createWriteStream, WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash, Hash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

export interface ContentType {
  mediaType: string;
  params: Record<string, string>;
}

/** Parses `multipart/related; type="application/dicom"; boundary=abc` into media type and parameters. */
export function parseContentType(header: string | undefined): ContentType {
  if (!header) return { mediaType: '', params: {} };
  const [media, ...rest] = header.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const i = p.indexOf('=');
    if (i < 0) continue;
    const key = p.slice(0, i).trim().toLowerCase();
    let value = p.slice(i + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    params[key] = value;
  }
  return { mediaType: media.trim().toLowerCase(), params };
}

export interface SpooledPart {
  path: string;
  headers: Record<string, string>;
  size: number;
  /** SHA-256 (hex) of the part's body, hashed as it was written: the blob store's content key. */
  sha256: string;
}

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Splits a multipart body into parts spooled to files under `dir`. Memory use is bounded by the chunk size
 * plus the boundary length, whatever the part sizes. On any failure (a body cut short, a part over the limit, a
 * broken connection) the files written so far are deleted before the error is thrown: they may hold identifying data.
 */
export async function spoolMultipart(body: Readable, boundary: string, dir: string, maxPartBytes = Number.MAX_SAFE_INTEGER, beforeWrite?: (bytes: number) => Promise<void>): Promise<SpooledPart[]> {
  if (!boundary) throw new MultipartError('The Content-Type has no boundary parameter');
  const written: WriteStream[] = [];
  try {
    return await spoolParts(body, boundary, dir, maxPartBytes, written, beforeWrite);
  } catch (e) {
    // Each file closed first (one still opening would be created again after its deletion), then deleted.
    // (Writes still pending on a destroyed stream fail: that is expected here, not an unhandled error.)
    await Promise.all(written.map((out) => (out.closed ? undefined : new Promise<void>((r) => out.on('error', () => undefined).once('close', () => r()).destroy()))));
    await Promise.all(written.map((out) => rm(String(out.path), { force: true })));
    throw e;
  }
}

/** `beforeWrite`: called with each write's size before it is written (the disk reserve's meter); its error stops the body. */
async function spoolParts(body: Readable, boundary: string, dir: string, maxPartBytes: number, written: WriteStream[], beforeWrite?: (bytes: number) => Promise<void>): Promise<SpooledPart[]> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: SpooledPart[] = [];
  // Pretend the body starts with CRLF so the first delimiter looks like every other one.
  let buffer: Buffer = Buffer.from('\r\n');
  let state: 'preamble' | 'headers' | 'body' | 'done' = 'preamble';
  let current: { out: WriteStream; part: SpooledPart; hash: Hash } | null = null;

  const write = async (data: Buffer) => {
    if (!current || data.length === 0) return;
    current.part.size += data.length;
    if (current.part.size > maxPartBytes) throw new MultipartError(`A part is larger than the limit of ${maxPartBytes} bytes`);
    await beforeWrite?.(data.length);
    current.hash.update(data);
    const out = current.out;
    if (!out.write(data)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  const closeCurrent = async () => {
    if (!current) return;
    const out = current.out;
    current.part.sha256 = current.hash.digest('hex');
    parts.push(current.part);
    current = null;
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  };

  for await (const chunk of body) {
    buffer = buffer.length ? Buffer.concat([buffer, chunk as Buffer]) : (chunk as Buffer);
    for (;;) {
      if (state === 'done') break;
      if (state === 'preamble' || state === 'body') {
        const at = buffer.indexOf(delimiter);
        if (at < 0) {
          // Keep enough bytes to recognise a delimiter split across chunks.
          const keep = delimiter.length + 2;
          if (state === 'body' && buffer.length > keep) {
            await write(buffer.subarray(0, buffer.length - keep));
            buffer = buffer.subarray(buffer.length - keep);
          } else if (state === 'preamble' && buffer.length > keep) {
            buffer = buffer.subarray(buffer.length - keep);
          }
          break;
        }
        if (state === 'body') {
          await write(buffer.subarray(0, at));
          await closeCurrent();
        }
        const after = at + delimiter.length;
        if (buffer.length < after + 2) break; // need to see "--" or CRLF
        if (buffer[after] === 0x2d && buffer[after + 1] === 0x2d) {
          state = 'done';
          buffer = Buffer.alloc(0);
          break;
        }
        buffer = buffer.subarray(after);
        state = 'headers';
      }
      if (state === 'headers') {
        const end = buffer.indexOf(HEADER_END);
        if (end < 0) {
          if (buffer.length > 16 * 1024) throw new MultipartError('A part header is longer than 16 KiB');
          break;
        }
        const headers: Record<string, string> = {};
        for (const line of buffer.subarray(0, end).toString('latin1').split('\r\n')) {
          const i = line.indexOf(':');
          if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
        }
        buffer = buffer.subarray(end + HEADER_END.length);
        const path = join(dir, `part-${randomUUID()}`);
        current = { out: createWriteStream(path), part: { path, headers, size: 0, sha256: '' }, hash: createHash('sha256') };
        written.push(current.out);
        state = 'body';
      }
    }
  }
  if (state !== 'done') {
    await closeCurrent();
    throw new MultipartError(state === 'preamble' ? `No part found: the body does not contain the boundary "${boundary}"` : 'The body ended before the closing boundary: the upload was cut short');
  }
  return parts;
}

/** Builds a multipart/related body as a stream of parts (for WADO-RS responses). */
export async function* multipartStream(boundary: string, parts: AsyncIterable<{ contentType: string; body: Readable | Buffer; headers?: Record<string, string> }>): AsyncGenerator<Buffer> {
  for await (const part of parts) {
    const extra = Object.entries(part.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    yield Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${part.contentType}\r\n${extra}\r\n`);
    if (Buffer.isBuffer(part.body)) yield part.body;
    else for await (const chunk of part.body) yield chunk as Buffer;
  }
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}
