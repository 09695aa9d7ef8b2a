import { PNG } from 'pngjs';
import type { DecodedFrames } from './pixel-decoding';
import * as jpeg from 'jpeg-js';
import { applyWindow, encodeJpeg, encodePng, fitToViewport, minMaxWindow, parseViewport, parseWindowParameter, renderFrame, RenderError, storedWindow, VoiWindow } from './rendering';

describe('VOI windows (PS3.3 C.11.2.1.2)', () => {
  // Values chosen at and around the window edges; expected outputs worked out by hand from the standard's formulas.
  it.each<[string, VoiWindow, number[], number[]]>([
    // LINEAR c=40 w=400: lo = 40 - 0.5 - 199.5 = -160, hi = 239; y = (x + 160) / 399 * 255
    ['LINEAR, CT soft tissue', { center: 40, width: 400 }, [-1000, -160, -159, 39.5, 239, 240, 3000], [0, 0, 1, 128, 255, 255, 255]],
    // LINEAR c=0.5 w=1: a threshold at 0 (x <= 0 -> 0, x > 0 -> 255)
    ['LINEAR, width 1 is a threshold', { center: 0.5, width: 1 }, [-1, 0, 0.001, 1], [0, 0, 255, 255]],
    // LINEAR_EXACT c=100 w=200: lo = 0, hi = 200; y = x / 200 * 255
    ['LINEAR_EXACT', { center: 100, width: 200, function: 'LINEAR_EXACT' }, [0, 1, 100, 200, 201], [0, 1, 128, 255, 255]],
    // SIGMOID c=0 w=100: y = 255 / (1 + exp(-4x/100)): x=0 -> 127.5 -> 128; x=25 -> 255/(1+e^-1) = 186.4; x=-25 -> 68.6
    ['SIGMOID', { center: 0, width: 100, function: 'SIGMOID' }, [-1000, -25, 0, 25, 1000], [0, 69, 128, 186, 255]],
  ])('%s', (_name, window, input, expected) => {
    expect(Array.from(applyWindow(input, 0, input.length, window))).toEqual(expected);
  });

  it('applies the modality LUT first and inverts MONOCHROME1', () => {
    // stored 1024 with slope 1, intercept -1024 is 0 HU: the middle of a window centred on 0.
    expect(Array.from(applyWindow([0, 1024, 2048], 0, 3, { center: 0, width: 2048, function: 'LINEAR_EXACT' }, false, 1, -1024))).toEqual([0, 128, 255]);
    expect(Array.from(applyWindow([0, 1024, 2048], 0, 3, { center: 0, width: 2048, function: 'LINEAR_EXACT' }, true, 1, -1024))).toEqual([255, 127, 0]);
  });

  it.each<[string, VoiWindow | string]>([
    ['40,400', { center: 40, width: 400, function: 'LINEAR' }],
    ['-600, 1500', { center: -600, width: 1500, function: 'LINEAR' }],
    ['100,200,linear_exact', { center: 100, width: 200, function: 'LINEAR_EXACT' }],
    ['40', 'window must be "center,width"'],
    ['a,400', 'must be numbers'],
    ['100,200,linear-exact', { center: 100, width: 200, function: 'LINEAR_EXACT' }],
    ['40,400,sigmoid', { center: 40, width: 400, function: 'SIGMOID' }],
    ['40,400,LINEAR', { center: 40, width: 400, function: 'LINEAR' }],
    ['40,400,cubic', 'window function "cubic" is not supported: use linear, linear-exact or sigmoid'],
    ['40,0,sigmoid', 'window width must be above 0'],
    ['40,0', 'window width must be at least 1'],
    ['40,0,linear_exact', 'window width must be above 0'],
  ])('parses window=%s', (value, expected) => {
    if (typeof expected === 'string') expect(() => parseWindowParameter(value)).toThrow(expected);
    else expect(parseWindowParameter(value)).toEqual(expected);
  });

  it('reads the first stored window, multi-valued or not, and ignores unusable ones', () => {
    expect(storedWindow({ WindowCenter: [40, 300], WindowWidth: [400, 1500] })).toEqual({ center: 40, width: 400, function: 'LINEAR' });
    expect(storedWindow({ WindowCenter: '50', WindowWidth: '350', VOILUTFunction: 'LINEAR_EXACT' })).toEqual({ center: 50, width: 350, function: 'LINEAR_EXACT' });
    expect(storedWindow({ WindowCenter: 40, WindowWidth: 80, VOILUTFunction: 'SIGMOID' })).toEqual({ center: 40, width: 80, function: 'SIGMOID' });
    expect(storedWindow({ WindowCenter: 40 })).toBeUndefined();
    expect(storedWindow({ WindowCenter: 40, WindowWidth: 0 })).toBeUndefined();
  });

  it('derives a full-range window from the frame when none is given', () => {
    expect(minMaxWindow(Int16Array.from([-5, 0, 15]), 0, 3)).toEqual({ center: 5, width: 20, function: 'LINEAR_EXACT' });
    expect(minMaxWindow(Uint16Array.from([0, 100]), 0, 2, 2, -100)).toEqual({ center: 0, width: 200, function: 'LINEAR_EXACT' });
  });
});

const frames = (over: Partial<DecodedFrames>): DecodedFrames => ({
  rows: 1, columns: 3, frames: 2, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 0, photometric: 'MONOCHROME2',
  rescaleSlope: 1, rescaleIntercept: 0, transferSyntaxUid: '1.2.840.10008.1.2.1', data: Uint16Array.from([0, 50, 100, 1000, 1500, 2000]), ...over,
});

describe('renderFrame', () => {
  it.each<[string, Partial<DecodedFrames>, number, VoiWindow | undefined, number[]]>([
    ['frame 1, own range', {}, 0, undefined, [0, 128, 255]],
    ['frame 2, own range', {}, 1, undefined, [0, 128, 255]],
    ['frame 2 through a window', {}, 1, { center: 1000, width: 2000, function: 'LINEAR_EXACT' }, [128, 191, 255]],
    ['MONOCHROME1 is inverted', { photometric: 'MONOCHROME1' }, 0, undefined, [255, 127, 0]],
    ['per-frame rescale of an enhanced multi-frame', { frameRescale: [{ slope: 1, intercept: 0 }, { slope: 1, intercept: -1000 }] }, 1, { center: 0, width: 2000, function: 'LINEAR_EXACT' }, [128, 191, 255]],
  ])('%s', (_name, over, index, window, expected) => {
    const img = renderFrame(frames(over), index, window);
    expect(img).toMatchObject({ width: 3, height: 1, channels: 1 });
    expect(Array.from(img.data)).toEqual(expected);
  });

  it('passes RGB through and scales 16-bit colour to 8 bits', () => {
    const rgb = renderFrame(frames({ frames: 1, samplesPerPixel: 3, columns: 1, photometric: 'RGB', bitsAllocated: 8, bitsStored: 8, data: Uint8Array.from([10, 20, 30]) }), 0);
    expect(rgb.channels).toBe(3);
    expect(Array.from(rgb.data)).toEqual([10, 20, 30]);
    const rgb16 = renderFrame(frames({ frames: 1, samplesPerPixel: 3, columns: 1, photometric: 'RGB', bitsStored: 16, data: Uint16Array.from([65535, 0, 32768]) }), 0);
    expect(Array.from(rgb16.data)).toEqual([255, 0, 128]);
  });

  it.each<[string, Partial<DecodedFrames>, number, string]>([
    ['a frame past the end', {}, 2, 'frame 3 does not exist: the instance has 2 frame(s)'],
    ['palette colour', { photometric: 'PALETTE COLOR' }, 0, 'PALETTE COLOR images cannot be rendered'],
  ])('refuses %s', (_name, over, index, message) => {
    expect(() => renderFrame(frames(over), index)).toThrow(RenderError);
    expect(() => renderFrame(frames(over), index)).toThrow(message);
  });

  it('encodes PNGs that decode back to the same pixels', () => {
    for (const img of [renderFrame(frames({}), 0), renderFrame(frames({ frames: 1, samplesPerPixel: 3, columns: 1, photometric: 'RGB', bitsAllocated: 8, bitsStored: 8, data: Uint8Array.from([10, 20, 30]) }), 0)]) {
      const back = PNG.sync.read(encodePng(img));
      expect([back.width, back.height]).toEqual([img.width, img.height]);
      const rgba = Array.from(back.data);
      const firstPixel = img.channels === 1 ? [img.data[0], img.data[0], img.data[0], 255] : [img.data[0], img.data[1], img.data[2], 255];
      expect(rgba.slice(0, 4)).toEqual(firstPixel);
    }
  });
});

describe('viewport', () => {
  it.each<[string, number, number, { width: number; height: number; sx: number; sy: number; sw: number; sh: number } | string]>([
    ['64,64', 512, 256, { width: 64, height: 32, sx: 0, sy: 0, sw: 512, sh: 256 }],
    ['100,300', 200, 100, { width: 100, height: 50, sx: 0, sy: 0, sw: 200, sh: 100 }],
    ['1024,1024', 256, 256, { width: 1024, height: 1024, sx: 0, sy: 0, sw: 256, sh: 256 }],
    ['64,64,128,128,256,256', 512, 512, { width: 64, height: 64, sx: 128, sy: 128, sw: 256, sh: 256 }],
    ['64,64,256,0,-256,256', 512, 512, { width: 64, height: 64, sx: 256, sy: 0, sw: -256, sh: 256 }],
    ['64', 512, 512, 'viewport must be "vw,vh" or "vw,vh,sx,sy,sw,sh"'],
    ['64,x', 512, 512, 'whole numbers'],
    ['0,64', 512, 512, 'from 1 to 4096'],
    ['64,64,0,0,0,10', 512, 512, 'needs a width and a height'],
    ['64,64,400,0,200,10', 512, 512, 'is not inside the 512x512 image'],
  ])('viewport=%s of %ix%i', (value, columns, rows, expected) => {
    if (typeof expected === 'string') expect(() => parseViewport(value, columns, rows)).toThrow(expected);
    else expect(parseViewport(value, columns, rows)).toEqual(expected);
  });

  it('averages the pixels each output pixel covers, crops and flips', () => {
    const image = { width: 4, height: 2, channels: 1 as const, data: Uint8Array.from([0, 100, 200, 40, 20, 60, 0, 0]) };
    expect(Array.from(fitToViewport(image, parseViewport('2,1', 4, 2)).data)).toEqual([45, 60]);
    expect(Array.from(fitToViewport(image, parseViewport('2,2,1,0,2,2', 4, 2)).data)).toEqual([100, 200, 60, 0]);
    expect(Array.from(fitToViewport(image, parseViewport('4,2,4,0,-4,2', 4, 2)).data)).toEqual([40, 200, 100, 0, 0, 0, 60, 20]);
    expect(Array.from(fitToViewport(image, parseViewport('8,4', 4, 2)).data.slice(0, 8))).toEqual([0, 0, 100, 100, 200, 200, 40, 40]);
  });

  it('encodes JPEG that decodes to the image (within JPEG loss)', () => {
    const image = { width: 16, height: 16, channels: 1 as const, data: Uint8Array.from({ length: 256 }, (_, i) => (i % 16) * 16) };
    const decoded = jpeg.decode(encodeJpeg(image, 95), { useTArray: true });
    expect([decoded.width, decoded.height]).toEqual([16, 16]);
    const err = Array.from(image.data).reduce((a, v, i) => a + Math.abs(v - decoded.data[i * 4]), 0) / 256;
    expect(err).toBeLessThan(3);
  });
});
