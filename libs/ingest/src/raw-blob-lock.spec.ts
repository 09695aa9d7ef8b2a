import { rawBlobLockId, rawBlobLockIds } from './raw-blob-lock';

describe('raw blob lock ids', () => {
  const key = (first16: string) => `${first16}${'0'.repeat(48)}`;
  it.each([
    ['the first 64 bits, signed', key('0000000000000001'), '1'],
    ['a set top bit is negative', key('ffffffffffffffff'), '-1'],
    ['the largest positive', key('7fffffffffffffff'), '9223372036854775807'],
  ])('%s', (_name, k, id) => expect(rawBlobLockId(k)).toBe(id));

  it('several: distinct and in ascending order (numerically, not as text), so lockers never wait on each other', () => {
    expect(rawBlobLockIds([key('000000000000000a'), key('ffffffffffffffff'), key('0000000000000002'), key('000000000000000a')])).toEqual(['-1', '2', '10']);
  });

  it('refuses what is not a blob key', () => expect(() => rawBlobLockId('abc')).toThrow(/Invalid blob key/));
});
