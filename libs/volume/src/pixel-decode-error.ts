// The typed error for pixel data Contour cannot turn into voxels. Its code lets callers (ingest, QC) decide
// what to do; its message tells a person what was wrong and what to do about it.

export type PixelDecodeErrorCode =
  /** The file has no Pixel Data (or Float Pixel Data): an SR, RTSTRUCT, waveform... */
  | 'missing-pixel-data'
  /** A transfer syntax no installed codec decodes (e.g. MPEG video, JPEG extended 12-bit through this codec). */
  | 'unsupported-transfer-syntax'
  /** A compressed stream the codec rejects, or one that ends too early. */
  | 'corrupt-pixel-data'
  /** Native (uncompressed) pixel data shorter than rows x columns x frames x samples x bytes. */
  | 'truncated'
  /** Pixel attributes that make no sense together, or a layout this decoder does not handle. */
  | 'unsupported-pixel-format'
  /** A Siemens MOSAIC whose number of tiles is unknown (private tag (0019,100A) removed). */
  | 'mosaic-count-missing';

export class PixelDecodeError extends Error {
  constructor(
    readonly code: PixelDecodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PixelDecodeError';
  }
}
