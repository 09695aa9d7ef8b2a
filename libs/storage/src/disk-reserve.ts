// A floor of free disk space that receiving never goes below. Uploads, STOW-RS bodies and unpacked zips are written to
// the spool before anything checks them; on a full disk the blob store, PostgreSQL's files (often on the same disk)
// and every later upload would fail. A receiver that meets the floor stops, deletes what it wrote, and answers 507.
import { statfs } from 'node:fs/promises';
import { Transform } from 'node:stream';

const MiB = 1024 ** 2;

const size = (bytes: number) => (bytes >= 1024 ** 3 ? `${+(bytes / 1024 ** 3).toFixed(2)} GiB` : `${+(bytes / MiB).toFixed(1)} MiB`);

export class DiskFullError extends Error {
  constructor(
    readonly freeBytes: number,
    readonly reserveBytes: number,
  ) {
    super(`the server's disk has ${size(freeBytes)} free, less than the ${size(reserveBytes)} it keeps in reserve (DISK_RESERVE_BYTES): nothing more is received until an administrator frees space`);
    this.name = 'DiskFullError';
  }
}

/** Bytes an unprivileged process may still write on the file system of `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

export class DiskReserve {
  /**
   * `reserveBytes` 0 turns the check off. `everyBytes`: how much one stream writes between two checks (a check is a
   * statfs call); `free` is how free space is read (tests count the calls).
   */
  constructor(
    readonly dir: string,
    readonly reserveBytes: number,
    readonly everyBytes = 32 * MiB,
    private readonly free: (dir: string) => Promise<number> = freeBytes,
  ) {}

  /** Throws DiskFullError when the disk of `dir` has less than the reserve free. */
  async check(): Promise<void> {
    if (this.reserveBytes <= 0) return;
    const free = await this.free(this.dir);
    if (free < this.reserveBytes) throw new DiskFullError(free, this.reserveBytes);
  }

  /** For one stream of writes: call with each chunk's size before writing it; checks before the first and every `everyBytes`. */
  meter(): (bytes: number) => Promise<void> {
    let since = Number.POSITIVE_INFINITY;
    return async (bytes: number) => {
      if (since >= this.everyBytes) {
        since = 0;
        await this.check();
      }
      since += bytes;
    };
  }

  /** A pass-through stream that checks as meter() does; it fails with DiskFullError at the floor. */
  guard(): Transform {
    const meter = this.meter();
    return new Transform({
      transform(chunk: Buffer, _encoding, done) {
        meter(chunk.length).then(() => done(null, chunk), done);
      },
    });
  }
}
