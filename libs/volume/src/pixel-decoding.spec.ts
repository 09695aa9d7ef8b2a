// Pixel decoding against references: the same Siemens MOSAIC in 9 transfer syntaxes against dcm2niix's NIfTI,
// native and RLE files against pydicom, every image in the modality set, and the broken files' error codes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDicom, syntheticUid, writeDicom, type ParsedDicom } from '@contour/dicom';
import { readNifti } from './nifti';
import { PixelDecodeError } from './pixel-decode-error';
import { decodedPhotometric, decodeFrames, type DecodedFrames, packBits } from './pixel-decoding';

const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../shared/data');
const load = (rel: string) => fs.readFileSync(path.join(DATA, rel));
const TS_DIR = 'dicom/transfer-syntaxes';

async function decodeError(input: Parameters<typeof decodeFrames>[0]): Promise<PixelDecodeError> {
  try {
    await decodeFrames(input);
  } catch (e) {
    if (e instanceof PixelDecodeError) return e;
    throw e;
  }
  throw new Error('expected decodeFrames to fail');
}

describe('the MOSAIC in 9 transfer syntaxes', () => {
  const reference = readNifti(load(`${TS_DIR}/reference-1.nii`));

  test('the reference is dcm2niix output: 64x64x35 int16', () => {
    expect(reference.dims).toEqual([64, 64, 35]);
    expect(reference.data).toBeInstanceOf(Int16Array);
  });

  test.each([
    ['1.dcm', '1.2.840.10008.1.2.1'],
    ['2.dcm', '1.2.840.10008.1.2'],
    ['3.dcm', '1.2.840.10008.1.2.2'],
    ['4.dcm', '1.2.840.10008.1.2.5'],
    ['5.dcm', '1.2.840.10008.1.2.4.70'],
    ['6.dcm', '1.2.840.10008.1.2.4.70'],
    ['7.dcm', '1.2.840.10008.1.2.4.80'],
    ['8.dcm', '1.2.840.10008.1.2.4.80'],
    ['9.dcm', '1.2.840.10008.1.2.4.90'],
  ])('%s (%s) un-tiles to exactly the reference voxels', async (file, syntax) => {
    const d = await decodeFrames(load(`${TS_DIR}/${file}`));
    expect(d.transferSyntaxUid).toBe(syntax);
    expect([d.columns, d.rows, d.frames]).toEqual([64, 64, 35]);
    expect(d.mosaic).toMatchObject({ images: 35, grid: 6, tileRows: 64, tileColumns: 64 });
    expect(d.data).toBeInstanceOf(Uint16Array);
    // Tile t is NIfTI slice z = t; dcm2niix stores rows bottom-up, so NIfTI (x, y) is tile column x, row 63 - y.
    let mismatches = 0;
    for (let z = 0; z < 35; z++) {
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 64; x++) {
          if (reference.data[x + 64 * y + 4096 * z] !== d.data[4096 * z + 64 * (63 - y) + x]) mismatches++;
        }
      }
    }
    expect(mismatches).toBe(0);
  });

  test('the tile count comes from (0019,100A), else from the CSA header; without both the error says what to keep', async () => {
    const buffer = load(`${TS_DIR}/1.dcm`);
    const parsed = readDicom(buffer);
    expect(parsed.dict.dict['0019100A']).toBeDefined();
    delete parsed.dict.dict['0019100A'];
    expect((await decodeFrames({ buffer, parsed })).frames).toBe(35);
    delete parsed.dict.dict['00291010'];
    const e = await decodeError({ buffer, parsed });
    expect(e.code).toBe('mosaic-count-missing');
    expect(e.message).toMatch(/\(0019,100A\)/);
  });

  test('untileMosaic: false keeps the 384x384 mosaic', async () => {
    const d = await decodeFrames(load(`${TS_DIR}/1.dcm`), { untileMosaic: false });
    expect([d.columns, d.rows, d.frames, d.mosaic]).toEqual([384, 384, 1, undefined]);
  });
});

/** sha256 of the values as little-endian int64, the same digest the pydicom side computes. */
function digest(data: ArrayLike<number>): string {
  const wide = new BigInt64Array(data.length);
  const big = BigInt; // a local: global lookups are slow in Jest's sandbox
  for (let i = 0; i < data.length; i++) wide[i] = big(data[i]);
  return createHash('sha256').update(Buffer.from(wide.buffer)).digest('hex').slice(0, 16);
}

describe('native and RLE files decode to what pydicom reads', () => {
  const files = [
    'modalities/ct-693-explicit-le.dcm',
    'modalities/ct-small.dcm',
    'modalities/ct1-explicit-be.dcm',
    'modalities/deflated.dcm',
    'modalities/dx-xray.dcm',
    'modalities/enhanced-ct-2frames.dcm',
    'modalities/enhanced-mr-10frames.dcm',
    'modalities/mr-small-rle.dcm',
    'modalities/mr-small.dcm',
    'modalities/mr-with-overlays.dcm',
    'modalities/us-multiframe-8.dcm',
    'modalities/us-rgb-single.dcm',
    'segmentations/liver-seg-explicit-le.dcm',
    'segmentations/ct-binary-seg.dcm',
  ];
  // Debian's python3 has pydicom and numpy; it decodes native, deflated and RLE data without extra plugins.
  const script = `
import sys, json, hashlib, warnings
import numpy as np, pydicom
warnings.simplefilter('ignore')
out = {}
for f in sys.argv[2:]:
    a = pydicom.dcmread(sys.argv[1] + '/' + f).pixel_array
    out[f] = hashlib.sha256(np.ascontiguousarray(a.astype('<i8')).tobytes()).hexdigest()[:16]
print(json.dumps(out))
`;
  const expected: Record<string, string> = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, path.join(DATA, 'dicom'), ...files], { encoding: 'utf8' }));

  test.each(files)('%s', async (file) => {
    const d = await decodeFrames(load(`dicom/${file}`));
    expect(digest(d.data)).toBe(expected[file]);
  });
});

describe('every image in dicom/modalities decodes', () => {
  test.each([
    // file, [columns, rows, frames], samples per pixel, photometric, array type
    ['cr-xray-1760-jpeg2000.dcm', [1760, 1760, 1], 1, 'MONOCHROME1', Uint16Array],
    ['ct-693-explicit-le.dcm', [512, 512, 1], 1, 'MONOCHROME2', Int16Array],
    ['ct-693-jpeg2000-lossless.dcm', [512, 512, 1], 1, 'MONOCHROME2', Int16Array],
    ['ct-small.dcm', [128, 128, 1], 1, 'MONOCHROME2', Int16Array],
    ['ct1-explicit-be.dcm', [512, 512, 1], 1, 'MONOCHROME2', Int16Array],
    ['deflated.dcm', [512, 512, 1], 1, 'MONOCHROME2', Uint8Array],
    ['dx-xray.dcm', [211, 169, 1], 1, 'MONOCHROME1', Uint8Array],
    ['enhanced-ct-2frames.dcm', [512, 512, 2], 1, 'MONOCHROME2', Uint16Array],
    ['enhanced-mr-10frames.dcm', [64, 64, 10], 1, 'MONOCHROME2', Uint16Array],
    ['mr-small-rle.dcm', [64, 64, 1], 1, 'MONOCHROME2', Int16Array],
    ['mr-small.dcm', [64, 64, 1], 1, 'MONOCHROME2', Int16Array],
    ['mr-with-overlays.dcm', [484, 484, 1], 1, 'MONOCHROME2', Uint16Array],
    ['nm-jpeg-lossless.dcm', [256, 1024, 1], 1, 'MONOCHROME2', Int16Array],
    ['us-color-30frames-jpeg.dcm', [320, 240, 30], 3, 'RGB', Uint8Array],
    ['us-multiframe-8-jpeg-baseline.dcm', [320, 240, 8], 3, 'RGB', Uint8Array],
    ['us-multiframe-8.dcm', [320, 240, 8], 3, 'RGB', Uint8Array],
    ['us-rgb-single.dcm', [640, 480, 1], 3, 'RGB', Uint8Array],
  ] as const)('%s', async (file, dims, samples, photometric, type) => {
    const d = await decodeFrames(load(`dicom/modalities/${file}`));
    expect([d.columns, d.rows, d.frames]).toEqual(dims);
    expect(d.samplesPerPixel).toBe(samples);
    expect(d.photometric).toBe(photometric);
    expect(d.data).toBeInstanceOf(type);
    expect(d.data.length).toBe(dims[0] * dims[1] * dims[2] * samples);
    // Not blank: a decoder that silently returns zeros would pass the size checks.
    expect(d.data.some((v) => v !== d.data[0])).toBe(true);
  });

  test.each(fs.readdirSync(path.join(DATA, 'dicom/modalities')).filter((f) => !/ecg|rtstruct|sr-report/.test(f)))(
    '%s: a header-only parse decodes to the same pixels as a full one (native from the file, others re-read)',
    async (file) => {
      const buffer = load(`dicom/modalities/${file}`);
      const full = await decodeFrames(buffer);
      const header = await decodeFrames({ buffer: Buffer.from(buffer), parsed: readDicom(buffer, { untilPixelData: true }) }, { consumeParsed: true });
      expect(header.data.constructor).toBe(full.data.constructor);
      expect(Buffer.from(header.data.buffer, header.data.byteOffset, header.data.byteLength).equals(Buffer.from(full.data.buffer, full.data.byteOffset, full.data.byteLength))).toBe(true);
      expect([header.rescaleSlope, header.rescaleIntercept, header.photometric]).toEqual([full.rescaleSlope, full.rescaleIntercept, full.photometric]);
    },
  );

  test('Float Pixel Data (parametric maps) decodes after a header-only parse too (it comes before Pixel Data)', async () => {
    const values = Float32Array.from([0.5, -1.25, 3, 1e-3]);
    const file = writeDicom({
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.30',
      SOPInstanceUID: syntheticUid('float-spec/instance'),
      StudyInstanceUID: syntheticUid('float-spec/study'),
      SeriesInstanceUID: syntheticUid('float-spec/series'),
      Modality: 'MR',
      Rows: 2,
      Columns: 2,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      BitsAllocated: 32,
      FloatPixelData: [values.buffer],
      _vrMap: { FloatPixelData: 'OF' },
    });
    const full = await decodeFrames(file);
    const header = await decodeFrames({ buffer: file, parsed: readDicom(file, { untilPixelData: true }) }, { consumeParsed: true });
    expect(Array.from(full.data)).toEqual(Array.from(values));
    expect(Array.from(header.data)).toEqual(Array.from(values));
  });

  test('a header-only parse of a truncated file and of a non-image still give their reasons', async () => {
    const truncated = load('dicom/broken/mr-truncated.dcm');
    expect((await decodeError({ buffer: truncated, parsed: readDicom(truncated, { untilPixelData: true }) })).code).toBe('truncated');
    const sr = load('dicom/modalities/sr-report.dcm');
    expect((await decodeError({ buffer: sr, parsed: readDicom(sr, { untilPixelData: true }) })).code).toBe('missing-pixel-data');
  });

  test.each(['ecg-waveform.dcm', 'rtstruct-breast-10roi.dcm', 'sr-report.dcm'])('%s has no pixels: missing-pixel-data', async (file) => {
    expect((await decodeError(load(`dicom/modalities/${file}`))).code).toBe('missing-pixel-data');
  });

  test('CT rescale comes from the header, enhanced CT from the shared functional groups', async () => {
    expect(await decodeFrames(load('dicom/modalities/ct-small.dcm'))).toMatchObject({ rescaleSlope: 1, rescaleIntercept: -1024 });
    expect(await decodeFrames(load('dicom/modalities/enhanced-ct-2frames.dcm'))).toMatchObject({ rescaleSlope: 1, rescaleIntercept: -1024 });
  });

  test('lossy JPEG colour ultrasound is close to its uncompressed twin', async () => {
    const lossy = await decodeFrames(load('dicom/modalities/us-multiframe-8-jpeg-baseline.dcm'));
    const raw = await decodeFrames(load('dicom/modalities/us-multiframe-8.dcm'));
    let sum = 0;
    for (let i = 0; i < raw.data.length; i++) sum += Math.abs(lossy.data[i] - raw.data[i]);
    expect(sum / raw.data.length).toBeLessThan(3);
  });

  test('1-bit SEG frames: RLE (packed per frame) equals native (packed across frames)', async () => {
    const rle = await decodeFrames(load('dicom/segmentations/liver-seg-rle.dcm'));
    const native = await decodeFrames(load('dicom/segmentations/liver-seg-explicit-le.dcm'));
    expect(digest(rle.data)).toBe(digest(native.data));
    expect(Array.from(native.data).reduce((a, b) => a + b, 0)).toBeGreaterThan(1000);
  });
});

/** A native (explicit VR LE) secondary-capture image with the given pixel attributes and raw value bytes. */
function syntheticImage(attrs: Record<string, unknown>, bytes: Uint8Array): Buffer {
  const uid = syntheticUid(`pixel-spec/${JSON.stringify(attrs)}`);
  return writeDicom({
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
    SOPInstanceUID: uid,
    StudyInstanceUID: `${uid}.1`,
    SeriesInstanceUID: `${uid}.2`,
    Modality: 'OT',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 0,
    ...attrs,
    PixelData: [bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)],
    _vrMap: { PixelData: attrs.BitsAllocated === 8 ? 'OB' : 'OW' },
  });
}
const words = (values: number[]) => new Uint8Array(Uint16Array.from(values).buffer);
/** RGB to full-range YCbCr (PS3.3 C.7.6.3.1.2), the inverse of what the decoder applies. */
const toYbr = ([r, g, b]: number[]) => [0.299 * r + 0.587 * g + 0.114 * b, -0.168736 * r - 0.331264 * g + 0.5 * b + 128, 0.5 * r - 0.418688 * g - 0.081312 * b + 128].map((v) => Math.min(255, Math.round(v)));

describe('native pixel layouts', () => {
  test.each([
    // name, attributes, stored words, expected values
    ['signed 12-bit in 16: sign-extended, bits above 12 ignored', { BitsStored: 12, HighBit: 11, PixelRepresentation: 1 }, [0x0fff, 0x07ff, 0x0800, 0xf123], [-1, 2047, -2048, 0x123]],
    ['unsigned 12-bit with an overlay bit 15: masked', { BitsStored: 12, HighBit: 11 }, [0x8064, 0x0fff, 0x7000, 5], [100, 4095, 0, 5]],
    ['signed 16-bit', { PixelRepresentation: 1 }, [0xffff, 0x8000, 0x7fff, 0], [-1, -32768, 32767, 0]],
  ])('%s', async (_name, attrs, stored, expected) => {
    const d = await decodeFrames(syntheticImage({ Rows: 2, Columns: 2, ...attrs }, words(stored)));
    expect(Array.from(d.data)).toEqual(expected);
  });

  test('a dataset the caller keeps is left as it was; one given up is decoded in place, to the same values', async () => {
    const file = syntheticImage({ Rows: 2, Columns: 2, BitsStored: 12, HighBit: 11, PixelRepresentation: 1 }, words([0x0fff, 0x07ff, 0x0800, 0xf123]));
    const kept = readDicom(file);
    const before = Buffer.from(kept.dict.dict['7FE00010']!.Value![0] as ArrayBuffer).toString('hex');
    const copied = await decodeFrames({ buffer: file, parsed: kept });
    expect(Buffer.from(kept.dict.dict['7FE00010']!.Value![0] as ArrayBuffer).toString('hex')).toBe(before);
    const consumed = await decodeFrames({ buffer: file, parsed: readDicom(file) }, { consumeParsed: true });
    expect(Array.from(consumed.data)).toEqual(Array.from(copied.data));
    expect(Array.from(consumed.data)).toEqual([-1, 2047, -2048, 0x123]);
  });

  test('bytes inside the pixel data that look like a Pixel Data tag with the right length do not fool the truncation check', async () => {
    // 16 x 16 16-bit pixels (512 bytes) whose values spell (7FE0,0010) OW, length 512, halfway through.
    const bytes = new Uint8Array(512);
    bytes.set([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00], 256);
    const d = await decodeFrames(syntheticImage({ Rows: 16, Columns: 16 }, bytes));
    expect(d.data.length).toBe(256);
    expect(d.data[128]).toBe(0x7fe0);
  });

  const rgb = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [200, 150, 100],
  ];
  const colour = { Rows: 2, Columns: 2, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, HighBit: 7 };
  test.each([
    ['RGB, colour-by-pixel', { PhotometricInterpretation: 'RGB', PlanarConfiguration: 0 }, Uint8Array.from(rgb.flat())],
    ['RGB, colour-by-plane', { PhotometricInterpretation: 'RGB', PlanarConfiguration: 1 }, Uint8Array.from([0, 1, 2].flatMap((c) => rgb.map((p) => p[c])))],
    ['YBR_FULL', { PhotometricInterpretation: 'YBR_FULL', PlanarConfiguration: 0 }, Uint8Array.from(rgb.flatMap(toYbr))],
    [
      'YBR_FULL_422 (pairs of pixels share Cb/Cr)',
      { PhotometricInterpretation: 'YBR_FULL_422', PlanarConfiguration: 0 },
      // Each pair: Y1 Y2 Cb Cr, chroma taken from the first pixel of the pair.
      Uint8Array.from([0, 2].flatMap((p) => [toYbr(rgb[p])[0], toYbr(rgb[p + 1])[0], toYbr(rgb[p])[1], toYbr(rgb[p])[2]])),
    ],
  ])('%s decodes to interleaved RGB', async (name, attrs, bytes) => {
    const d = await decodeFrames(syntheticImage({ ...colour, ...attrs }, bytes));
    expect(d.photometric).toBe('RGB');
    const expected = name.startsWith('YBR_FULL_422') ? [rgb[0], [NaN], rgb[2], [NaN]] : rgb;
    expected.forEach((pixel, p) => {
      if (Number.isNaN(pixel[0])) return; // the second pixel of a pair has the first one's colour difference
      pixel.forEach((v, c) => expect(Math.abs(d.data[3 * p + c] - v)).toBeLessThanOrEqual(2));
    });
  });
});

describe('decodedPhotometric: what the frames will be, from the header alone (WADO-RS metadata)', () => {
  const predicted = (file: Buffer) => {
    const p = readDicom(file, { untilPixelData: true });
    return decodedPhotometric({ photometric: p.dataset.PhotometricInterpretation, samplesPerPixel: Number(p.dataset.SamplesPerPixel ?? 1), bitsAllocated: Number(p.dataset.BitsAllocated), transferSyntaxUid: p.transferSyntaxUid });
  };

  test.each(fs.readdirSync(path.join(DATA, 'dicom/modalities')).filter((f) => !/ecg|rtstruct|sr-report/.test(f)))('%s: as decodeFrames says', async (file) => {
    const buffer = load(`dicom/modalities/${file}`);
    expect(predicted(buffer)).toBe((await decodeFrames(buffer)).photometric);
  });

  test.each([
    ['YBR_FULL', Uint8Array.from([16, 128, 128, 235, 128, 128, 81, 90, 240, 145, 54, 34])],
    ['YBR_FULL_422', Uint8Array.from([16, 235, 128, 128, 81, 145, 90, 240])],
    ['RGB', Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])],
  ])('native %s: as decodeFrames says', async (photometric, bytes) => {
    const file = syntheticImage({ Rows: 2, Columns: 2, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, HighBit: 7, PhotometricInterpretation: photometric, PlanarConfiguration: 0 }, bytes);
    expect(predicted(file)).toBe((await decodeFrames(file)).photometric);
    expect(predicted(file)).toBe('RGB');
  });

  test.each([
    [{ photometric: 'YBR_ICT', samplesPerPixel: 3, bitsAllocated: 8, transferSyntaxUid: '1.2.840.10008.1.2.4.91' }, 'RGB'],
    [{ photometric: 'YBR_PARTIAL_420', samplesPerPixel: 3, bitsAllocated: 8, transferSyntaxUid: '1.2.840.10008.1.2.4.50' }, 'RGB'],
    [{ photometric: 'MONOCHROME1', samplesPerPixel: 1, bitsAllocated: 16, transferSyntaxUid: '1.2.840.10008.1.2.4.50' }, 'MONOCHROME1'],
    [{ photometric: 'PALETTE COLOR', samplesPerPixel: 1, bitsAllocated: 8, transferSyntaxUid: '1.2.840.10008.1.2.1' }, 'PALETTE COLOR'],
    [{ photometric: 'YBR_FULL', samplesPerPixel: 3, bitsAllocated: 16, transferSyntaxUid: '1.2.840.10008.1.2.1' }, 'YBR_FULL'],
  ])('%j -> %s', (stored, expected) => {
    expect(decodedPhotometric(stored)).toBe(expected);
  });
});

describe('damaged and unsupported pixel data', () => {
  test('broken/jpeg2000-too-short.dcm: corrupt-pixel-data', async () => {
    const e = await decodeError(load('dicom/broken/jpeg2000-too-short.dcm'));
    expect(e.code).toBe('corrupt-pixel-data');
    expect(e.message).toMatch(/cut short/);
  });

  test('broken/mr-truncated.dcm: truncated, although dcmjs zero-pads the value', async () => {
    const e = await decodeError(load('dicom/broken/mr-truncated.dcm'));
    expect(e.code).toBe('truncated');
    expect(e.message).toMatch(/holds 8130 bytes .* need 8192/);
  });

  const withPixelData = (file: string, fragment: (original: Uint8Array) => Uint8Array): ParsedDicom => {
    const parsed = readDicom(load(file));
    const original = new Uint8Array(parsed.dict.dict['7FE00010'].Value![0] as ArrayBuffer);
    const replaced = fragment(original);
    parsed.dict.dict['7FE00010'].Value = [replaced.buffer.slice(replaced.byteOffset, replaced.byteOffset + replaced.byteLength)];
    return parsed;
  };
  const garbage = (n: number) => Uint8Array.from([0xff, 0xd8, ...new Array(n).fill(7), 0xff, 0xd9]);

  test.each([
    // name, file, damage, what the message must say (structural check or codec failure)
    ['JPEG 2000 cut in half', `${TS_DIR}/9.dcm`, (b: Uint8Array) => b.slice(0, b.length >> 1), /incomplete/],
    ['JPEG lossless cut in half (libjpeg would pad it grey)', `${TS_DIR}/5.dcm`, (b: Uint8Array) => b.slice(0, b.length >> 1), /incomplete/],
    ['RLE with a broken header', `${TS_DIR}/4.dcm`, (b: Uint8Array) => b.slice(0, 40), /incomplete/],
    ['JPEG-LS garbage (a WebAssembly trap)', `${TS_DIR}/7.dcm`, () => garbage(1000), /could not be decoded/],
    ['JPEG 2000 with a damaged main header', `${TS_DIR}/9.dcm`, (b: Uint8Array) => Uint8Array.from([...b.slice(0, 4), ...new Array(60).fill(0), ...b.slice(64)]), /could not be decoded/],
  ])('%s: corrupt-pixel-data', async (_name, file, damage, message) => {
    const e = await decodeError(withPixelData(file, damage));
    expect(e.code).toBe('corrupt-pixel-data');
    expect(e.message).toMatch(message);
  });

  test('the codecs still work after a WebAssembly trap', async () => {
    expect((await decodeError(withPixelData(`${TS_DIR}/7.dcm`, () => garbage(500)))).code).toBe('corrupt-pixel-data');
    expect((await decodeFrames(load(`${TS_DIR}/7.dcm`))).frames).toBe(35);
  });

  test('an unknown transfer syntax: unsupported-transfer-syntax', async () => {
    const parsed = readDicom(load(`${TS_DIR}/5.dcm`));
    const e = await decodeError({ ...parsed, transferSyntaxUid: '1.2.840.10008.1.2.4.100' });
    expect(e.code).toBe('unsupported-transfer-syntax');
    expect(e.message).toMatch(/1\.2\.840\.10008\.1\.2\.4\.100.*transcode/);
  });

  test('frames decode from a parsed file without its bytes too', async () => {
    const d: DecodedFrames = await decodeFrames(readDicom(load(`${TS_DIR}/9.dcm`)));
    expect(d.frames).toBe(35);
  });
});

describe('packBits', () => {
  it.each([
    ['empty', [], []],
    ['bit order: pixel 0 is bit 0', [1, 0, 0, 0, 0, 0, 0, 0], [0x01]],
    ['pixel 7 is bit 7', [0, 0, 0, 0, 0, 0, 0, 1], [0x80]],
    ['a partial last byte', [1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1], [0x0b, 0x05]],
  ])('%s', (_case, values, bytes) => {
    expect([...packBits(Uint8Array.from(values))]).toEqual(bytes);
  });

  it.each(['dicom/segmentations/ct-binary-seg.dcm', 'dicom/segmentations/liver-seg-explicit-le.dcm'])('gives back the stored frames of a binary SEG (%s)', async (rel) => {
    const file = load(rel);
    const parsed = readDicom(file);
    const decoded = await decodeFrames({ buffer: file, parsed });
    expect(decoded.bitsAllocated).toBe(1);
    const pixels = decoded.rows * decoded.columns;
    expect(pixels % 8).toBe(0); // frames byte-aligned in the file: each frame's stored bytes are its packed form
    const stored = Buffer.from(parsed.dataset.PixelData instanceof Array ? parsed.dataset.PixelData[0] : parsed.dataset.PixelData);
    for (let f = 0; f < decoded.frames; f++) {
      expect(packBits(decoded.data.subarray(f * pixels, (f + 1) * pixels) as Uint8Array).equals(stored.subarray((f * pixels) / 8, ((f + 1) * pixels) / 8))).toBe(true);
    }
  });
});
