// Bit packing of BINARY segmentation frames, compared byte for byte with pydicom's pack_bits, and the RLE
// decoder against hand-encoded PackBits runs.
import { decodeRleFrame, packBits, packLabelFrames, unpackFrame } from './pixels';
import { pydicomPackBits } from '../test/tools';

/** A deterministic pseudo-random 0/1 pattern. */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = (s >>> 16) & 1;
  }
  return out;
}

describe('packLabelFrames', () => {
  // A 2-slice 3x3 label map; frames pick (label, slice) pairs in any order.
  const map = Uint8Array.from([1, 2, 0, 0, 2, 2, 1, 0, 0, /* slice 1 */ 2, 0, 0, 1, 1, 0, 0, 0, 2]);
  test.each<[string, { labelValue: number; slice: number }[]]>([
    ['one frame', [{ labelValue: 2, slice: 0 }]],
    ['frames crossing byte boundaries', [{ labelValue: 1, slice: 0 }, { labelValue: 2, slice: 1 }, { labelValue: 1, slice: 1 }]],
  ])('%s: the same bits as packBits of the 0/1 frames', (_name, frames) => {
    const expected = packBits(frames.map(({ labelValue, slice }) => map.subarray(slice * 9, slice * 9 + 9).map((v) => (v === labelValue ? 1 : 0))), 9);
    expect([...packLabelFrames(map, frames, 9)]).toEqual([...expected]);
  });

  test('refuses a slice outside the map', () => {
    expect(() => packLabelFrames(map, [{ labelValue: 1, slice: 2 }], 9)).toThrow('Slice 2 is outside the label map (2 slices)');
  });
});

describe('packBits', () => {
  test('pixels are packed least significant bit first', () => {
    expect([...packBits([Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0])], 8)]).toEqual([0x01, 0x00]);
    expect([...packBits([Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1, 1])], 9)]).toEqual([0x80, 0x01]);
  });

  test('frames of 3x3 pixels follow each other without padding, so frame 2 starts at bit 9', () => {
    const a = Uint8Array.from([1, 1, 1, 0, 0, 0, 0, 0, 1]);
    const b = Uint8Array.from([0, 1, 0, 1, 1, 1, 0, 1, 0]);
    const packed = packBits([a, b], 9);
    // 18 bits -> 3 bytes -> padded to an even 4.
    expect(packed.length).toBe(4);
    expect([...unpackFrame(packed, 9, 0)]).toEqual([...a]);
    expect([...unpackFrame(packed, 9, 1)]).toEqual([...b]);
  });

  test.each([
    [1, 7 * 5],
    [3, 7 * 5],
    [4, 16 * 16],
    [5, 13 * 11],
  ])('%i frames of %i pixels pack exactly as pydicom packs them', (frames, pixels) => {
    const all = pattern(frames * pixels, frames * 1000 + pixels);
    const ours = packBits(Array.from({ length: frames }, (_, f) => all.subarray(f * pixels, (f + 1) * pixels)), pixels);
    const theirs = pydicomPackBits(all);
    // pydicom pads to an even length as well; compare the meaningful bytes and the padding separately.
    const meaningful = Math.ceil((frames * pixels) / 8);
    expect(Buffer.from(ours.subarray(0, meaningful)).equals(theirs.subarray(0, meaningful))).toBe(true);
    expect(ours.length % 2).toBe(0);
    expect(ours.subarray(meaningful).every((b) => b === 0)).toBe(true);
  });

  test('a frame of the wrong size is refused', () => {
    expect(() => packBits([new Uint8Array(8)], 9)).toThrow('A frame has 8 pixels instead of 9');
  });

  test('reading past the end of the Pixel Data says how short it is', () => {
    expect(() => unpackFrame(new Uint8Array(2), 9, 1)).toThrow('frame 2 needs 3 bytes but there are 2');
  });
});

describe('decodeRleFrame', () => {
  /** An RLE frame: 64-byte header (segment count, offsets) followed by the segments. */
  function rleFrame(segments: number[][]): Uint8Array {
    const header = new Uint8Array(64);
    const view = new DataView(header.buffer);
    view.setUint32(0, segments.length, true);
    let offset = 64;
    segments.forEach((s, i) => {
      view.setUint32(4 + 4 * i, offset, true);
      offset += s.length;
    });
    return Uint8Array.from([...header, ...segments.flat()]);
  }

  test('literal and repeat runs decode to the original bytes', () => {
    // 2 literals (0x0a 0x0b), then 0xff repeated 4 times (-3), then one literal (0x01).
    const frame = rleFrame([[0x01, 0x0a, 0x0b, 0xfd, 0xff, 0x00, 0x01]]);
    expect([...decodeRleFrame(frame, 1, 7)]).toEqual([0x0a, 0x0b, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  test('16-bit samples: the first segment holds the high bytes', () => {
    const frame = rleFrame([[0x01, 0x12, 0x00], [0x01, 0x34, 0x02]]);
    const decoded = decodeRleFrame(frame, 2, 2);
    const view = new DataView(decoded.buffer);
    expect([view.getUint16(0, true), view.getUint16(2, true)]).toEqual([0x1234, 0x0002]);
  });

  test('a frame announcing the wrong number of segments is refused', () => {
    expect(() => decodeRleFrame(rleFrame([[0x00, 0x01]]), 2, 1)).toThrow('The RLE frame has 1 segments but 2 were expected');
  });
});
