// Rendering a decoded DICOM frame to 8-bit pixels for display (WADO-RS "rendered", thumbnails, COCO PNGs):
// modality LUT (rescale slope/intercept), the VOI window of DICOM PS3.3 C.11.2.1.2 (LINEAR and
// LINEAR_EXACT, SIGMOID), MONOCHROME1 inversion, colour images passed through, scaled to a viewport. Pure functions;
// PNG encoding by pngjs, JPEG by jpeg-js.
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { DecodedFrames } from './pixel-decoding';

export interface VoiWindow {
  center: number;
  width: number;
  /** VOI LUT Function (0028,1056): LINEAR (the default), LINEAR_EXACT or SIGMOID. */
  function?: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
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
  // PS3.18 names the functions linear, linear-exact and sigmoid; the DICOM term LINEAR_EXACT is taken too.
  const fn = WINDOW_FUNCTIONS[(parts[2] ?? 'linear').toLowerCase()];
  if (!fn) throw new RenderError(`window function "${parts[2]}" is not supported: use linear, linear-exact or sigmoid`);
  if (fn === 'LINEAR' ? width < 1 : width <= 0) throw new RenderError(`window width must be ${fn === 'LINEAR' ? 'at least 1' : 'above 0'}, got ${width}`);
  return { center, width, function: fn };
}

const WINDOW_FUNCTIONS: Record<string, VoiWindow['function']> = { linear: 'LINEAR', 'linear-exact': 'LINEAR_EXACT', linear_exact: 'LINEAR_EXACT', sigmoid: 'SIGMOID' };

/**
 * Maps modality values `values[offset .. offset+count)` through `window` to 0..255, inverted when `invert`
 * (MONOCHROME1). LINEAR follows PS3.3 C.11.2.1.2.1: below c - 0.5 - (w-1)/2 is 0, above c - 0.5 + (w-1)/2
 * is 255, linear between; LINEAR_EXACT (C.11.2.1.3.2) uses c - w/2 .. c + w/2; SIGMOID (C.11.2.1.3.1) is
 * 255 / (1 + exp(-4 (x - c) / w)).
 */
export function applyWindow(values: ArrayLike<number>, offset: number, count: number, window: VoiWindow, invert = false, slope = 1, intercept = 0): Uint8Array {
  const out = new Uint8Array(count);
  if (window.function === 'SIGMOID') {
    for (let i = 0; i < count; i++) {
      const x = values[offset + i] * slope + intercept;
      const v = Math.round(255 / (1 + Math.exp((-4 * (x - window.center)) / window.width)));
      out[i] = invert ? 255 - v : v;
    }
    return out;
  }
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
  return { center, width, function: fn === 'LINEAR_EXACT' || fn === 'SIGMOID' ? fn : 'LINEAR' };
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

/** A rendered image as baseline JPEG at `quality` (1-100; PS3.18 8.3.5.1.2), grey or colour. */
export function encodeJpeg(image: RenderedImage, quality = 90): Buffer {
  const pixels = image.width * image.height;
  const rgba = Buffer.alloc(pixels * 4);
  for (let i = 0; i < pixels; i++) {
    const [r, g, b] = image.channels === 1 ? [image.data[i], image.data[i], image.data[i]] : [image.data[i * 3], image.data[i * 3 + 1], image.data[i * 3 + 2]];
    rgba[i * 4] = r;
    rgba[i * 4 + 1] = g;
    rgba[i * 4 + 2] = b;
    rgba[i * 4 + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width: image.width, height: image.height }, quality).data;
}

/** The part of an image to show and the size to show it at (the WADO-RS `viewport` parameter). */
export interface Viewport {
  /** Output size in pixels. */
  width: number;
  height: number;
  /** The source region: top-left corner and size in image pixels; a negative size flips that axis. */
  sx: number;
  sy: number;
  sw: number;
  sh: number;
}

/**
 * Parses `viewport=vw,vh[,sx,sy,sw,sh]` (PS3.18 8.3.5.1.3) for an image of `columns` x `rows`: the region (the whole
 * image unless given; a negative width or height flips it) is scaled to fit inside vw x vh, keeping its aspect ratio.
 * Throws a RenderError naming what was wrong.
 */
export function parseViewport(value: string, columns: number, rows: number): Viewport {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length !== 2 && parts.length !== 6) throw new RenderError(`viewport must be "vw,vh" or "vw,vh,sx,sy,sw,sh", got "${value}"`);
  const n = parts.map(Number);
  if (n.some((x) => !Number.isInteger(x))) throw new RenderError(`viewport takes whole numbers, got "${value}"`);
  const [vw, vh] = n;
  if (vw < 1 || vh < 1 || vw > 4096 || vh > 4096) throw new RenderError(`viewport width and height are from 1 to 4096 pixels, got ${vw}x${vh}`);
  const [sx, sy, sw, sh] = parts.length === 6 ? n.slice(2) : [0, 0, columns, rows];
  if (sw === 0 || sh === 0) throw new RenderError('the viewport\'s source region needs a width and a height (sw, sh not 0)');
  const [x0, x1, y0, y1] = [Math.min(sx, sx + sw), Math.max(sx, sx + sw), Math.min(sy, sy + sh), Math.max(sy, sy + sh)];
  if (x0 < 0 || y0 < 0 || x1 > columns || y1 > rows) throw new RenderError(`the viewport's source region ${sx},${sy},${sw},${sh} is not inside the ${columns}x${rows} image`);
  const scale = Math.min(vw / Math.abs(sw), vh / Math.abs(sh));
  return { width: Math.max(1, Math.round(Math.abs(sw) * scale)), height: Math.max(1, Math.round(Math.abs(sh) * scale)), sx, sy, sw, sh };
}

/**
 * The viewport's region of `image` at the viewport's size: each output pixel averages the source pixels its area
 * covers (a box filter, so a thumbnail is not aliased), or takes the nearest one when enlarging.
 */
export function fitToViewport(image: RenderedImage, viewport: Viewport): RenderedImage {
  const { width, height, sx, sy, sw, sh } = viewport;
  const c = image.channels;
  const data = new Uint8Array(width * height * c);
  const stepX = sw / width;
  const stepY = sh / height;
  for (let oy = 0; oy < height; oy++) {
    const ya = sy + oy * stepY;
    const yb = ya + stepY;
    const [y0, y1] = [Math.floor(Math.min(ya, yb)), Math.max(Math.floor(Math.min(ya, yb)) + 1, Math.ceil(Math.max(ya, yb)))];
    for (let ox = 0; ox < width; ox++) {
      const xa = sx + ox * stepX;
      const xb = xa + stepX;
      const [x0, x1] = [Math.floor(Math.min(xa, xb)), Math.max(Math.floor(Math.min(xa, xb)) + 1, Math.ceil(Math.max(xa, xb)))];
      for (let k = 0; k < c; k++) {
        let sum = 0;
        let n = 0;
        for (let y = Math.max(0, y0); y < Math.min(image.height, y1); y++) {
          for (let x = Math.max(0, x0); x < Math.min(image.width, x1); x++) {
            sum += image.data[(y * image.width + x) * c + k];
            n++;
          }
        }
        data[(oy * width + ox) * c + k] = n ? Math.round(sum / n) : 0;
      }
    }
  }
  return { width, height, channels: image.channels, data };
}
