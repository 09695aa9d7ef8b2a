// Rendering a decoded DICOM frame to 8-bit pixels for display (WADO-RS "rendered", thumbnails, COCO PNGs):
// modality LUT (rescale slope/intercept), the VOI window of DICOM PS3.3 C.11.2.1.2 (LINEAR and
// LINEAR_EXACT), MONOCHROME1 inversion, colour images passed through. Pure functions; PNG encoding by pngjs.
import { PNG } from 'pngjs';
import type { DecodedFrames } from './pixel-decoding';

export interface VoiWindow {
  center: number;
  width: number;
  /** VOI LUT Function (0028,1056): LINEAR (the default) or LINEAR_EXACT. SIGMOID is not supported. */
  function?: 'LINEAR' | 'LINEAR_EXACT';
}

export interface RenderedImage {
  width: number;
  height: number;
  /** 1 (grey) or 3 (RGB), interleaved. */
  channels: 1 | 3;
  data: Uint8Array;
}

export class RenderError extends Error {}

/**
 * Parses the WADO-RS `window` query parameter ("center,width[,function]", PS3.18 8.3.5.1.4); throws a
 * RenderError naming what was wrong.
 */
export function parseWindowParameter(value: string): VoiWindow {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length < 2 || parts.length > 3) throw new RenderError(`window must be "center,width" or "center,width,function", got "${value}"`);
  const center = Number(parts[0]);
  const width = Number(parts[1]);
  if (!Number.isFinite(center) || !Number.isFinite(width)) throw new RenderError(`window center and width must be numbers, got "${value}"`);
  const fn = (parts[2] ?? 'linear').toUpperCase();
  if (fn !== 'LINEAR' && fn !== 'LINEAR_EXACT') throw new RenderError(`window function "${parts[2]}" is not supported: use linear or linear_exact`);
  if (fn === 'LINEAR' ? width < 1 : width <= 0) throw new RenderError(`window width must be ${fn === 'LINEAR' ? 'at least 1' : 'above 0'}, got ${width}`);
  return { center, width, function: fn };
}

/**
 * Maps modality values `values[offset .. offset+count)` through `window` to 0..255, inverted when `invert`
 * (MONOCHROME1). LINEAR follows PS3.3 C.11.2.1.2.1: below c - 0.5 - (w-1)/2 is 0, above c - 0.5 + (w-1)/2
 * is 255, linear between; LINEAR_EXACT (C.11.2.1.3.2) uses c - w/2 .. c + w/2.
 */
export function applyWindow(values: ArrayLike<number>, offset: number, count: number, window: VoiWindow, invert = false, slope = 1, intercept = 0): Uint8Array {
  const out = new Uint8Array(count);
  const exact = window.function === 'LINEAR_EXACT';
  const lo = exact ? window.center - window.width / 2 : window.center - 0.5 - (window.width - 1) / 2;
  const hi = exact ? window.center + window.width / 2 : window.center - 0.5 + (window.width - 1) / 2;
  const span = hi - lo;
  for (let i = 0; i < count; i++) {
    const x = values[offset + i] * slope + intercept;
    let y: number;
    if (x <= lo) y = 0;
    else if (x > hi) y = 255;
    else y = span > 0 ? ((x - lo) / span) * 255 : 255;
    const v = Math.round(y);
    out[i] = invert ? 255 - v : v;
  }
  return out;
}

/** The full range of modality values in a frame, as a LINEAR_EXACT window (what viewers show without a window). */
export function minMaxWindow(values: ArrayLike<number>, offset: number, count: number, slope = 1, intercept = 0): VoiWindow {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = values[offset + i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return { center: 0, width: 1, function: 'LINEAR_EXACT' };
  const [a, b] = [lo * slope + intercept, hi * slope + intercept].sort((x, y) => x - y);
  return { center: (a + b) / 2, width: Math.max(b - a, 1e-6), function: 'LINEAR_EXACT' };
}

/** The first VOI window stored in a dataset (WindowCenter/WindowWidth, possibly multi-valued), if any. */
export function storedWindow(dataset: Record<string, unknown>): VoiWindow | undefined {
  const first = (v: unknown) => Number(Array.isArray(v) ? v[0] : v);
  const center = first(dataset.WindowCenter);
  const width = first(dataset.WindowWidth);
  if (!Number.isFinite(center) || !Number.isFinite(width) || width < 1) return undefined;
  const fn = String(dataset.VOILUTFunction ?? 'LINEAR').trim().toUpperCase();
  return { center, width, function: fn === 'LINEAR_EXACT' ? 'LINEAR_EXACT' : 'LINEAR' };
}

/**
 * Renders frame `index` (0-based) of decoded pixel data: greyscale through the modality LUT and `window`
 * (else `fallback`, else the frame's own range), colour as it is (8-bit RGB). Palette colour and other
 * photometric interpretations are refused with a RenderError.
 */
export function renderFrame(decoded: DecodedFrames, index: number, window?: VoiWindow, fallback?: VoiWindow): RenderedImage {
  if (!Number.isInteger(index) || index < 0 || index >= decoded.frames) throw new RenderError(`frame ${index + 1} does not exist: the instance has ${decoded.frames} frame(s)`);
  const { rows: height, columns: width, samplesPerPixel } = decoded;
  const pixels = width * height;
  const offset = index * pixels * samplesPerPixel;
  if (samplesPerPixel === 3) {
    if (decoded.photometric !== 'RGB') throw new RenderError(`colour images in ${decoded.photometric} cannot be rendered`);
    const data = new Uint8Array(pixels * 3);
    const scale = decoded.bitsAllocated > 8 ? 255 / (2 ** decoded.bitsStored - 1) : 1;
    for (let i = 0; i < pixels * 3; i++) data[i] = Math.round(decoded.data[offset + i] * scale);
    return { width, height, channels: 3, data };
  }
  if (decoded.photometric !== 'MONOCHROME1' && decoded.photometric !== 'MONOCHROME2') throw new RenderError(`${decoded.photometric} images cannot be rendered (only MONOCHROME1, MONOCHROME2 and RGB)`);
  const rescale = decoded.frameRescale?.[index] ?? { slope: decoded.rescaleSlope, intercept: decoded.rescaleIntercept };
  const voi = window ?? fallback ?? minMaxWindow(decoded.data, offset, pixels, rescale.slope, rescale.intercept);
  const data = applyWindow(decoded.data, offset, pixels, voi, decoded.photometric === 'MONOCHROME1', rescale.slope, rescale.intercept);
  return { width, height, channels: 1, data };
}

/** A rendered image as PNG (8-bit grey or RGB). */
export function encodePng(image: RenderedImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height, colorType: image.channels === 1 ? 0 : 2, inputColorType: image.channels === 1 ? 0 : 2, bitDepth: 8, inputHasAlpha: false });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png, { colorType: image.channels === 1 ? 0 : 2, inputColorType: image.channels === 1 ? 0 : 2, bitDepth: 8, inputHasAlpha: false });
}
