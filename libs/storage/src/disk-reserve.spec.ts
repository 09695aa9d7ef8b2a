import { tmpdir } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DiskFullError, DiskReserve, freeBytes } from './disk-reserve';

const MiB = 1024 ** 2;

describe('DiskReserve on the real file system', () => {
  it('passes while the disk keeps the reserve, and names both sizes when it does not', async () => {
    const free = await freeBytes(tmpdir());
    expect(free).toBeGreaterThan(0);
    await new DiskReserve(tmpdir(), 0).check();
    await new DiskReserve(tmpdir(), 1).check();
    const over = new DiskReserve(tmpdir(), free + 1024 ** 4);
    await expect(over.check()).rejects.toBeInstanceOf(DiskFullError);
    await expect(over.check()).rejects.toThrow(/the server's disk has [\d.]+ (GiB|MiB) free, less than the [\d.]+ GiB it keeps in reserve \(DISK_RESERVE_BYTES\)/);
  });

  it('a guarded stream fails at the floor before writing anything', async () => {
    const reserve = new DiskReserve(tmpdir(), (await freeBytes(tmpdir())) + 1024 ** 4);
    let written = 0;
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => ((written += chunk.length), done()) });
    await expect(pipeline(Readable.from([Buffer.alloc(1000)]), reserve.guard(), sink)).rejects.toBeInstanceOf(DiskFullError);
    expect(written).toBe(0);
  });
});

describe('DiskReserve.meter: how often it looks', () => {
  it.each([
    ['one small write: one look, before it', [1000], 1],
    ['writes up to the interval: one look', [16 * MiB, 16 * MiB - 1], 1],
    ['a write reaching the interval: a second look before the next write', [16 * MiB, 16 * MiB, 1], 2],
    ['three intervals of 1 MiB writes: three looks', Array.from({ length: 96 }, () => MiB), 3],
  ] as [string, number[], number][])('%s', async (_name, writes, looks) => {
    let calls = 0;
    const reserve = new DiskReserve('/x', 100, 32 * MiB, async () => (calls++, 1e12));
    const meter = reserve.meter();
    for (const w of writes) await meter(w);
    expect(calls).toBe(looks);
  });

  it('stops the write that meets the floor', async () => {
    let free = 10 * MiB;
    const meter = new DiskReserve('/x', 5 * MiB, MiB, async () => free).meter();
    await meter(MiB);
    free = 4 * MiB;
    await expect(meter(MiB)).rejects.toThrow(/4 MiB free, less than the 5 MiB/);
  });

  it('a reserve of 0 never looks', async () => {
    let calls = 0;
    const meter = new DiskReserve('/x', 0, 1, async () => (calls++, 0)).meter();
    for (let i = 0; i < 5; i++) await meter(10);
    expect(calls).toBe(0);
  });
});
