import { deflateSync } from 'node:zlib';
import { decodeLabelMap, decodeLabelMapAsync, encodeLabelMap, labelCounts, LabelMapError, unknownLabels } from './label-map';

describe('label maps', () => {
  it('round-trips and compresses a sparse mask', () => {
    const map = new Uint8Array(128 * 128 * 64);
    for (let i = 1000; i < 5000; i++) map[i] = 2;
    map[7] = 1;
    const enc = encodeLabelMap(map);
    expect(enc.length).toBeLessThan(map.length / 100);
    expect(decodeLabelMap(enc, [128, 128, 64])).toEqual(map);
    expect(labelCounts(map)).toEqual({ 1: 1, 2: 4000 });
  });

  it('decodes on the thread pool to the same map', async () => {
    const map = new Uint8Array(64 * 64 * 8).map((_, i) => (i % 97 === 0 ? 3 : 0));
    await expect(decodeLabelMapAsync(encodeLabelMap(map), [64, 64, 8])).resolves.toEqual(map);
    // A grid smaller than zlib's smallest output chunk.
    await expect(decodeLabelMapAsync(encodeLabelMap(Uint8Array.from([1, 0, 2])), [3, 1, 1])).resolves.toEqual(Uint8Array.from([1, 0, 2]));
  });

  it.each([
    [deflateSync(new Uint8Array(10)), [4, 4, 1], /10 voxels but the grid 4x4x1 has 16/],
    [deflateSync(new Uint8Array(100)), [4, 4, 1], /more voxels than the grid 4x4x1/],
    [Buffer.from('not deflate'), [4, 4, 1], /not a deflated label map/],
  ])('refuses a mask for another grid or garbage (%#)', (data, dims, message) => {
    expect(() => decodeLabelMap(data, dims)).toThrow(LabelMapError);
    expect(() => decodeLabelMap(data, dims)).toThrow(message);
  });

  it.each([
    [deflateSync(new Uint8Array(10)), [4, 4, 1], /10 voxels but the grid 4x4x1 has 16/],
    [deflateSync(new Uint8Array(100)), [4, 4, 1], /more voxels than the grid 4x4x1/],
    [Buffer.from('not deflate'), [4, 4, 1], /not a deflated label map/],
  ])('refuses the same on the thread pool (%#)', async (data, dims, message) => {
    await expect(decodeLabelMapAsync(data, dims)).rejects.toThrow(LabelMapError);
    await expect(decodeLabelMapAsync(data, dims)).rejects.toThrow(message);
  });

  it('finds labels the protocol does not define', () => {
    expect(unknownLabels(Uint8Array.from([0, 1, 3, 3, 9]), [1, 2, 3])).toEqual([9]);
  });
});
