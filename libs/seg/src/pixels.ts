// Pixel Data of segmentation frames. BINARY segmentations store one bit per pixel (BitsAllocated 1): pixels
// are packed least significant bit first, and in a native (uncompressed) file the frames follow each other
// bit by bit with no padding between them, so a frame generally starts in the middle of a byte. Only the
// whole value is padded, to an even length. Compressed (encapsulated) frames are encoded one by one, so there
// each frame starts on a byte boundary.

/** Frames of 0/1 (or any non-zero) pixels -> one packed bit stream, padded with zero bits to an even byte count. */
export function packBits(frames: readonly Uint8Array[], pixelsPerFrame: number): Uint8Array {
  const totalBits = frames.length * pixelsPerFrame;
  let bytes = Math.ceil(totalBits / 8);
  if (bytes % 2) bytes++;
  const out = new Uint8Array(bytes);
  let bit = 0;
  for (const frame of frames) {
    if (frame.length !== pixelsPerFrame) throw new Error(`A frame has ${frame.length} pixels instead of ${pixelsPerFrame}`);
    for (let p = 0; p < pixelsPerFrame; p++, bit++) if (frame[p]) out[bit >> 3] |= 1 << (bit & 7);
  }
  return out;
}

/**
 * The packed bit stream of packBits straight from a label map ([slice][row][column]): frame i is 1 where slice
 * frames[i].slice holds frames[i].labelValue. No intermediate 0/1 frame is made (a CT's are as large as its map).
 */
export function packLabelFrames(labelMap: Uint8Array, frames: readonly { labelValue: number; slice: number }[], pixelsPerFrame: number): Uint8Array {
  const totalBits = frames.length * pixelsPerFrame;
  let bytes = Math.ceil(totalBits / 8);
  if (bytes % 2) bytes++;
  const out = new Uint8Array(bytes);
  let bit = 0;
  for (const { labelValue, slice } of frames) {
    const base = slice * pixelsPerFrame;
    if (base + pixelsPerFrame > labelMap.length) throw new Error(`Slice ${slice} is outside the label map (${labelMap.length / pixelsPerFrame} slices)`);
    for (let p = 0; p < pixelsPerFrame; p++, bit++) if (labelMap[base + p] === labelValue) out[bit >> 3] |= 1 << (bit & 7);
  }
  return out;
}

/** Pixel `pixel` (0-based, row by row) of frame `frame` in a native packed bit stream. */
export function bitAt(packed: Uint8Array, pixelsPerFrame: number, frame: number, pixel: number): number {
  const bit = frame * pixelsPerFrame + pixel;
  return (packed[bit >> 3] >> (bit & 7)) & 1;
}

/** Unpacks frame `frame` of a native packed bit stream into 0/1 bytes. */
export function unpackFrame(packed: Uint8Array, pixelsPerFrame: number, frame: number): Uint8Array {
  const out = new Uint8Array(pixelsPerFrame);
  const first = frame * pixelsPerFrame;
  if (Math.ceil((first + pixelsPerFrame) / 8) > packed.length) {
    throw new Error(`The Pixel Data is too short: frame ${frame + 1} needs ${Math.ceil((first + pixelsPerFrame) / 8)} bytes but there are ${packed.length}`);
  }
  for (let p = 0; p < pixelsPerFrame; p++) {
    const bit = first + p;
    out[p] = (packed[bit >> 3] >> (bit & 7)) & 1;
  }
  return out;
}

/**
 * Decodes one DICOM RLE Lossless frame (PS3.5 Annex G) into its byte segments, interleaved back into samples:
 * one segment per byte of the sample, most significant byte first. For BitsAllocated 1 the single segment is
 * the frame's packed bits.
 */
export function decodeRleFrame(encoded: Uint8Array, bytesPerSample: number, expectedBytesPerSegment: number): Uint8Array {
  if (encoded.length < 64) throw new Error('The RLE frame is shorter than its 64-byte header');
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const segments = view.getUint32(0, true);
  if (segments !== bytesPerSample) throw new Error(`The RLE frame has ${segments} segments but ${bytesPerSample} were expected`);
  const out = new Uint8Array(expectedBytesPerSegment * bytesPerSample);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : encoded.length;
    const decoded = unpackBitsRle(encoded.subarray(start, end), expectedBytesPerSegment);
    // Segment s holds byte (bytesPerSample - 1 - s) of each little-endian sample.
    const byteInSample = bytesPerSample - 1 - s;
    for (let i = 0; i < expectedBytesPerSegment; i++) out[i * bytesPerSample + byteInSample] = decoded[i];
  }
  return out;
}

/** PackBits as used by DICOM RLE: n >= 0 copies n+1 literal bytes, n < 0 (not -128) repeats the next byte 1-n times. */
function unpackBitsRle(data: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let i = 0;
  let o = 0;
  while (i < data.length && o < length) {
    const n = (data[i++] << 24) >> 24;
    if (n >= 0) {
      const count = Math.min(n + 1, length - o, data.length - i);
      out.set(data.subarray(i, i + count), o);
      i += n + 1;
      o += count;
    } else if (n !== -128) {
      const count = Math.min(1 - n, length - o);
      out.fill(data[i++], o, o + count);
      o += count;
    }
  }
  return out;
}
