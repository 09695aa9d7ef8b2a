// Volume assembly checked against dcm2niix on real series: same dims, same voxels and the same RAS affine
// (within 1e-3 mm) once our LPS-ordered volume is reoriented to dcm2niix's voxel order. dcm2niix always stores
// rows bottom-up (our j flipped), and for 3D acquisitions (MRAcquisitionType 3D) it also rotates to the
// closest canonical orientation, which for the axial MPRAGE below flips i as well.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ctPhantomSeries, readDicom } from '@contour/dicom';
import { invertAffine, maxAbsDifference, transformPoint } from './affine';
import { instanceGeometryFromDicom } from './dicom-geometry';
import { readNifti, writeNifti, writeNiftiGzipFromSlices } from './nifti';
import { orientationOf, reorient } from './orientation';
import { decodeFrames } from './pixel-decoding';
import { buildVolume, Int16SliceStream, NotStreamableError, volumeFromDicomFiles, VolumeAssemblyError, VolumeBuilder } from './volume-assembly';

const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../shared/data');

function filesIn(rel: string): Buffer[] {
  const p = path.join(DATA, rel);
  return fs.statSync(p).isDirectory()
    ? fs.readdirSync(p).sort().map((f) => fs.readFileSync(path.join(p, f)))
    : [fs.readFileSync(p)];
}

/** Runs dcm2niix (uncompressed NIfTI, fixed name) on a folder, or on one file in single-file mode. */
function dcm2niix(rel: string) {
  const input = path.join(DATA, rel);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'contour-dcm2niix-'));
  try {
    const single = fs.statSync(input).isFile() ? ['-s', 'y'] : [];
    execFileSync('/usr/bin/dcm2niix', [...single, '-z', 'n', '-f', 'out', '-o', out, input], { stdio: 'ignore' });
    return readNifti(fs.readFileSync(path.join(out, 'out.nii')));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** NIfTI scaling: scl_slope 0 (or NaN) means the stored values are the real values. */
const realScaling = (image: { sclSlope: number; sclInter: number }): [number, number] =>
  Number.isFinite(image.sclSlope) && image.sclSlope !== 0 ? [image.sclSlope, Number.isFinite(image.sclInter) ? image.sclInter : 0] : [1, 0];

describe('volumes match dcm2niix', () => {
  test.each([
    // name, input, rescale (dcm2niix applied the CT intercept itself), our orientation, dcm2niix's, dims
    ['MR T1 MPRAGE, 24 axial slices (3D acquisition)', 'dicom/series/mr-t1-vs-seg-001', 'none', 'LPS', 'RAS', [512, 512, 24]],
    ['CT, 3 slices numbered against the normal', 'dicom/series/ct-3slice', 'float32', 'LPS', 'LAS', [512, 512, 3]],
    ['enhanced CT, 2 frames stored against the normal', 'dicom/modalities/enhanced-ct-2frames.dcm', 'none', 'RPI', 'RAI', [512, 512, 2]],
    ['Siemens MOSAIC, 35 slices in one image', 'dicom/transfer-syntaxes/1.dcm', 'none', 'LPS', 'LAS', [64, 64, 35]],
  ] as const)('%s', async (_name, input, rescale, ours, theirs, dims) => {
    const volume = await volumeFromDicomFiles(filesIn(input), { rescale });
    const reference = dcm2niix(input);
    expect(volume.geometry.issues).toEqual([]);
    expect(volume.dims).toEqual(dims);
    expect(orientationOf(volume.affineRas)).toBe(ours);
    expect(orientationOf(reference.affine)).toBe(theirs);

    const matched = reorient(volume, theirs);
    expect(matched.dims).toEqual(reference.dims.slice(0, 3));
    expect(maxAbsDifference(matched.affineRas, reference.affine)).toBeLessThan(1e-3);
    // Compare real values: dcm2niix keeps stored integers and writes the rescale into scl_slope/scl_inter.
    const [slope, inter] = realScaling(reference);
    let mismatches = 0;
    for (let n = 0; n < matched.data.length; n++) {
      if (matched.data[n] * volume.rescaleSlope + volume.rescaleIntercept !== reference.data[n] * slope + inter) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  test('the CT transform written out: dcm2niix voxel (i, j, k) is ours (i, ny - 1 - j, k), affine likewise', async () => {
    const volume = await volumeFromDicomFiles(filesIn('dicom/series/ct-3slice'), { rescale: 'float32' });
    const reference = dcm2niix('dicom/series/ct-3slice');
    const [nx, ny] = volume.dims;
    for (const [i, j, k] of [[0, 0, 0], [100, 300, 1], [511, 511, 2], [256, 10, 2]]) {
      const [slope, inter] = realScaling(reference);
      expect(reference.data[i + nx * (j + ny * k)] * slope + inter).toBe(volume.data[i + nx * (ny - 1 - j + ny * k)]);
      const theirs = transformPoint(reference.affine, [i, j, k]);
      const mine = transformPoint(volume.affineRas, [i, ny - 1 - j, k]);
      theirs.forEach((v, a) => expect(v).toBeCloseTo(mine[a], 3));
    }
  });
});

describe('buildVolume', () => {
  const phantom = ctPhantomSeries({ patient: { name: 'Phantom^Volume', id: 'VOL-1' }, seed: 'volume-spec', slices: 40, rows: 128, columns: 128, pixelSpacing: 2.8, sliceThickness: 2.5, shuffle: true });

  test('a shuffled synthetic CT stacks along the normal, in HU, with the lesion where the generator put it', async () => {
    const volume = await volumeFromDicomFiles(phantom.files, { rescale: 'float32' });
    expect(volume.geometry.kind).toBe('volume');
    expect(volume.geometry.issues).toEqual([]);
    expect(volume.dims).toEqual([128, 128, 40]);
    expect(volume.geometry.spacing).toEqual([2.8, 2.8, 2.5]);
    // The generator puts slice k at z = -2.5 k: the most inferior (last generated) slice comes first.
    const z = volume.geometry.slices.map((s) => s.position![2]);
    expect(z).toEqual([...z].sort((a, b) => a - b));
    expect(z[0]).toBeCloseTo(-97.5, 6);
    expect(volume.data).toBeInstanceOf(Float32Array);
    // Lesion: 60 HU, centred 70 mm to the patient's right (LPS x = -70), 5 mm anterior, mid-series.
    const toVoxel = invertAffine(volume.affineLps);
    const [i, j, k] = transformPoint(toVoxel, [-70, -5, -48.75]).map(Math.round);
    expect(volume.data[i + 128 * (j + 128 * k)]).toBe(60);
    expect(volume.data[0]).toBe(-1000); // air in the corner
  });

  test("rescale 'none' keeps the stored integers and one slope/intercept", async () => {
    const volume = await volumeFromDicomFiles(phantom.files.slice(0, 5));
    expect(volume.data).toBeInstanceOf(Uint16Array);
    expect([volume.rescaleSlope, volume.rescaleIntercept]).toEqual([1, -1024]);
  });

  test('slices with different rescale values need float32, and the error says so', async () => {
    const instances = await Promise.all(
      phantom.files.slice(0, 3).map(async (file, n) => {
        const parsed = readDicom(file);
        const frames = await decodeFrames({ buffer: file, parsed });
        return { geometry: instanceGeometryFromDicom(parsed), frames: { ...frames, rescaleIntercept: n === 1 ? -1000 : -1024 } };
      }),
    );
    expect(() => buildVolume(instances)).toThrow(expect.objectContaining({ code: 'mixed-rescale', message: expect.stringMatching(/rescale: 'float32'/) }));
    const volume = buildVolume(instances, { rescale: 'float32' });
    expect(volume.data).toBeInstanceOf(Float32Array);
  });

  /** The first `n` phantom slices, parsed and decoded. */
  const decodedSlices = (n: number) =>
    Promise.all(
      phantom.files.slice(0, n).map(async (file) => {
        const parsed = readDicom(file);
        return { geometry: instanceGeometryFromDicom(parsed), frames: await decodeFrames({ buffer: file, parsed }) };
      }),
    );

  describe("rescale 'int16-or-float32'", () => {
    const decoded = () => decodedSlices(4);
    test.each([
      ['whole slope and intercepts, even differing per slice', [1, 1, 1, 1], [-1024, -1000, -1024, -1024], Int16Array],
      ['a fractional slope', [1, 0.5, 1, 1], [-1024, -1024, -1024, -1024], Float32Array],
      ['a fractional intercept', [1, 1, 1, 1], [-1024, -1024.5, -1024, -1024], Float32Array],
      ['values beyond int16 (slope 20 on 12-bit data)', [1, 20, 1, 1], [-1024, -1024, -1024, -1024], Float32Array],
    ])('%s', async (_case, slopes, intercepts, type) => {
      const instances = (await decoded()).map((inst, n) => ({ ...inst, frames: { ...inst.frames, rescaleSlope: slopes[n], rescaleIntercept: intercepts[n] } }));
      const reference = buildVolume(instances, { rescale: 'float32' });
      const volume = buildVolume(instances, { rescale: 'int16-or-float32' });
      expect(volume.data).toBeInstanceOf(type);
      expect([volume.rescaleSlope, volume.rescaleIntercept]).toEqual([1, 0]);
      // The same real values as the float32 build, voxel for voxel.
      expect(Array.from(volume.data).every((v, n) => v === reference.data[n])).toBe(true);
    });
  });

  describe('VolumeBuilder (one instance at a time)', () => {
    const decodedAll = () => decodedSlices(6);

    test.each(['none', 'float32', 'int16-or-float32'] as const)('rescale %s: in any order, the same volume as buildVolume', async (rescale) => {
      const instances = await decodedAll();
      const reference = buildVolume(instances, { rescale });
      const builder = new VolumeBuilder(instances.map((i) => i.geometry), { rescale });
      for (const i of [...instances].reverse()) builder.add(i.geometry.id, i.frames);
      const volume = builder.finish();
      expect(volume.data.constructor).toBe(reference.data.constructor);
      expect(Buffer.from(volume.data.buffer).equals(Buffer.from(reference.data.buffer))).toBe(true);
      expect([volume.rescaleSlope, volume.rescaleIntercept]).toEqual([reference.rescaleSlope, reference.rescaleIntercept]);
    });

    test('an instance outside the geometry, and a volume finished with a slice missing, are refused', async () => {
      const [a, b, c] = await decodedAll();
      const builder = new VolumeBuilder([a.geometry, b.geometry], { rescale: 'float32' });
      expect(() => builder.add(c.geometry.id, c.frames)).toThrow(expect.objectContaining({ code: 'unknown-instance' }));
      builder.add(a.geometry.id, a.frames);
      expect(() => builder.finish()).toThrow(expect.objectContaining({ code: 'unknown-instance', message: expect.stringContaining(b.geometry.id) }));
    });

    test.each(['float32', 'int16-or-float32'] as const)('rescale %s: a blanked instance leaves zeros in its slice and the rest as they were, blanked first or last', async (rescale) => {
      const instances = await decodedAll();
      const reference = buildVolume(instances, { rescale });
      const L = reference.dims[0] * reference.dims[1];
      for (const blankFirst of [true, false]) {
        const builder = new VolumeBuilder(instances.map((i) => i.geometry), { rescale });
        const blanked = reference.geometry.order[2];
        if (blankFirst) builder.blank(blanked);
        for (const i of instances) if (i.geometry.id !== blanked) builder.add(i.geometry.id, i.frames);
        if (!blankFirst) builder.blank(blanked);
        const volume = builder.finish();
        expect(volume.dims).toEqual(reference.dims);
        for (let k = 0; k < reference.dims[2]; k++) {
          const slice = Array.from(volume.data.subarray(k * L, (k + 1) * L));
          if (k === 2) expect(slice.every((v) => v === 0)).toBe(true);
          else expect(slice).toEqual(Array.from(reference.data.subarray(k * L, (k + 1) * L)));
        }
      }
    });

    test('blanking an instance outside the geometry is refused; blanking every instance gives zeros on the grid', async () => {
      const [a, b, c] = await decodedAll();
      for (const rescale of ['none', 'float32', 'int16-or-float32'] as const) {
        const builder = new VolumeBuilder([a.geometry, b.geometry], { rescale });
        expect(() => builder.blank(c.geometry.id)).toThrow(expect.objectContaining({ code: 'unknown-instance' }));
        builder.blank(a.geometry.id);
        builder.blank(b.geometry.id);
        const volume = builder.finish();
        expect(volume.dims).toEqual([128, 128, 2]);
        expect(volume.data.length).toBe(128 * 128 * 2);
        expect(volume.data.every((v) => v === 0)).toBe(true);
        expect([volume.samplesPerPixel, volume.rescaleSlope, volume.rescaleIntercept]).toEqual([1, 1, 0]);
      }
    });
  });

  describe('Int16SliceStream (the series NIfTI written slice by slice)', () => {
    type Decoded = Awaited<ReturnType<typeof decodedSlices>>[number];
    const reader = (instances: Decoded[]) => {
      const read: string[] = [];
      const fn = async (id: string) => {
        read.push(id);
        return instances.find((i) => i.geometry.id === id)!.frames;
      };
      return { fn, read };
    };
    const stream = (instances: Decoded[]) => {
      const s = new Int16SliceStream(instances.map((i) => i.geometry));
      const g = s.geometry;
      return { s, write: (read: (id: string) => Promise<Decoded['frames']>) => writeNiftiGzipFromSlices({ dims: g.dims, affineRas: g.affineRas, description: 'Contour' }, new Int16Array(0), s.slices(read), 1, 1 << 16) };
    };

    test('the same file as the whole int16 volume, each instance read once in slice order', async () => {
      const instances = [...(await decodedSlices(6))].reverse();
      const whole = buildVolume(instances, { rescale: 'int16-or-float32' });
      expect(whole.data).toBeInstanceOf(Int16Array);
      const { s, write } = stream(instances);
      const { fn, read } = reader(instances);
      const gz = await write(fn);
      expect(zlib.gunzipSync(gz).equals(writeNifti({ dims: whole.dims, affineRas: whole.affineRas, data: whole.data, description: 'Contour' }))).toBe(true);
      expect(read).toEqual(whole.geometry.order);
      expect(s.geometry.order).toEqual(whole.geometry.order);
    });

    test('blanked instances are zeros in the file and never read', async () => {
      const instances = await decodedSlices(6);
      const whole = buildVolume(instances, { rescale: 'int16-or-float32' });
      const blank = new Set([whole.geometry.order[0], whole.geometry.order[4]]);
      const builder = new VolumeBuilder(instances.map((i) => i.geometry), { rescale: 'int16-or-float32' });
      for (const i of instances) (blank.has(i.geometry.id) ? builder.blank(i.geometry.id) : builder.add(i.geometry.id, i.frames));
      const expected = builder.finish();
      const s = new Int16SliceStream(instances.map((i) => i.geometry));
      const { fn, read } = reader(instances);
      const gz = await writeNiftiGzipFromSlices({ dims: s.geometry.dims, affineRas: s.geometry.affineRas, description: 'Contour' }, new Int16Array(0), s.slices(fn, blank), 1, 1 << 16);
      expect(zlib.gunzipSync(gz).equals(writeNifti({ dims: expected.dims, affineRas: expected.affineRas, data: expected.data, description: 'Contour' }))).toBe(true);
      expect(read).toEqual(whole.geometry.order.filter((id) => !blank.has(id)));
      const none: Int16Array[] = [];
      for await (const slice of s.slices(fn, new Set(whole.geometry.order))) none.push(slice);
      expect(none.map((x) => x.every((v) => v === 0))).toEqual(whole.geometry.order.map(() => true));
    });

    test.each([
      ['a fractional slope', { rescaleSlope: 0.5 }, /fractional or outside int16 \(slope 0.5/],
      ['values beyond int16', { rescaleSlope: 20 }, /fractional or outside int16 \(slope 20/],
      ['colour', { samplesPerPixel: 3 }, /3 samples per pixel/],
    ])('%s: NotStreamableError (the caller builds the whole volume)', async (_case, change, message) => {
      const instances = (await decodedSlices(3)).map((inst, n) => (n === 1 ? { ...inst, frames: { ...inst.frames, ...change } } : inst));
      const { write } = stream(instances);
      const failing = write(reader(instances).fn);
      await expect(failing).rejects.toBeInstanceOf(NotStreamableError);
      await expect(write(reader(instances).fn)).rejects.toThrow(message);
    });

    test('a decoded size that does not fit the grid is the same error as VolumeBuilder gives', async () => {
      const instances = (await decodedSlices(3)).map((inst, n) => (n === 2 ? { ...inst, frames: { ...inst.frames, rows: 64 } } : inst));
      await expect(stream(instances).write(reader(instances).fn)).rejects.toThrow(expect.objectContaining({ code: 'mixed-dimensions' }));
    });

    test('an instance whose slices are apart in the slice order is not streamed', async () => {
      const [a, b] = await decodedSlices(2);
      // Two 2-frame instances whose frames interleave along the normal: a0 b0 a1 b1.
      const pa = a.geometry.imagePositionPatient!;
      const gap = b.geometry.imagePositionPatient!.map((v, i) => v - pa[i]);
      const twoFrames = (g: typeof a.geometry) => {
        const p = g.imagePositionPatient!;
        return { ...g, numberOfFrames: 2, frames: [{ imagePositionPatient: p }, { imagePositionPatient: p.map((v, i) => v + 2 * gap[i]) }] };
      };
      expect(() => new Int16SliceStream([twoFrames(a.geometry), twoFrames(b.geometry)])).toThrow(NotStreamableError);
    });
  });

  test('images of different sizes cannot be stacked', async () => {
    const small = ctPhantomSeries({ patient: { name: 'P^Q', id: 'VOL-2' }, seed: 'volume-spec-small', slices: 1, rows: 64, columns: 64 });
    await expect(volumeFromDicomFiles([phantom.files[0], small.files[0]])).rejects.toBeInstanceOf(VolumeAssemblyError);
  });
});

describe('colour images (ultrasound cines)', () => {
  // A volume of real values is one value per voxel, whatever the image stored: colour becomes its luminance (ITU-R
  // BT.601), as the single-image volume does. It kept the three samples of each pixel, three times the values its
  // dims hold, and the series' NIfTI could not be written (a 500 for a colour cine's series volume).
  const luminance = (rgb: ArrayLike<number>, pixel: number) => 0.299 * rgb[3 * pixel] + 0.587 * rgb[3 * pixel + 1] + 0.114 * rgb[3 * pixel + 2];

  test.each([
    ['RGB cine, 30 frames in JPEG (YBR_FULL_422 in the file)', 'dicom/modalities/us-color-30frames-jpeg.dcm', [320, 240, 30]],
    ['RGB cine, 8 frames uncompressed', 'dicom/modalities/us-multiframe-8.dcm', [320, 240, 8]],
    ['one RGB image', 'dicom/modalities/us-rgb-single.dcm', [640, 480, 1]],
  ] as const)('%s: real values are its luminance, one per voxel', async (_name, file, dims) => {
    const [buffer] = filesIn(file);
    const decoded = await decodeFrames({ buffer, parsed: readDicom(buffer) });
    expect(decoded.samplesPerPixel).toBe(3);
    for (const rescale of ['float32', 'int16-or-float32'] as const) {
      const volume = await volumeFromDicomFiles([buffer], { rescale });
      expect(volume.dims).toEqual(dims);
      expect(volume.data.length).toBe(dims[0] * dims[1] * dims[2]);
      expect([volume.samplesPerPixel, volume.photometric, volume.rescaleSlope, volume.rescaleIntercept]).toEqual([1, 'MONOCHROME2', 1, 0]);
      // The volume's slice k is frame k (a cine has no positions: its frames are in their stored order).
      const pixels = dims[0] * dims[1];
      for (const k of [0, dims[2] - 1]) {
        const frame = decoded.data.subarray(k * pixels * 3, (k + 1) * pixels * 3);
        for (const p of [0, 1, Math.floor(pixels / 2) + 7, pixels - 1]) expect(volume.data[k * pixels + p]).toBeCloseTo(luminance(frame, p), 4);
      }
      // The picture is there (not a blank or a third of it).
      expect(Array.from(volume.data.subarray((dims[2] - 1) * pixels)).some((v) => v > 0)).toBe(true);
    }
  });

  test("rescale 'none' keeps the stored samples of each pixel (three values per voxel) and says so", async () => {
    const volume = await volumeFromDicomFiles(filesIn('dicom/modalities/us-multiframe-8.dcm'));
    expect([volume.samplesPerPixel, volume.photometric]).toEqual([3, 'RGB']);
    expect(volume.data.length).toBe(320 * 240 * 8 * 3);
  });

  test('a colour and a greyscale cine of one series share its volume of real values, each as its own volume has it', async () => {
    // An ultrasound series of a colour Doppler cine and a B-mode one of the same size: the B-mode one is made here
    // from the real colour cine (its geometry record under another id, 8 frames of grey ramps).
    const [buffer] = filesIn('dicom/modalities/us-multiframe-8.dcm');
    const parsed = readDicom(buffer);
    const colour = { geometry: { ...instanceGeometryFromDicom(parsed), id: 'colour', instanceNumber: 1 }, frames: await decodeFrames({ buffer, parsed }) };
    const pixels = 320 * 240;
    const ramps = Uint8Array.from({ length: pixels * 8 }, (_, n) => (n * 7) % 256);
    const grey = { geometry: { ...colour.geometry, id: 'grey', instanceNumber: 2 }, frames: { ...colour.frames, samplesPerPixel: 1, photometric: 'MONOCHROME2', data: ramps } };
    for (const order of [[colour, grey], [grey, colour]]) {
      for (const rescale of ['float32', 'int16-or-float32'] as const) {
        const volume = buildVolume(order, { rescale });
        expect(volume.data.length).toBe(volume.dims[0] * volume.dims[1] * volume.dims[2]);
        expect(volume.data).toBeInstanceOf(Float32Array);
        expect([volume.samplesPerPixel, volume.photometric]).toEqual([1, 'MONOCHROME2']);
        for (let k = 0; k < volume.dims[2]; k++) {
          const { id, frame } = volume.geometry.slices[k];
          const slice = volume.data.subarray(k * pixels, (k + 1) * pixels);
          if (id === 'grey') expect(Array.from(slice)).toEqual(Array.from(ramps.subarray(frame * pixels, (frame + 1) * pixels)));
          else expect(slice[123]).toBeCloseTo(luminance(colour.frames.data.subarray(frame * pixels * 3), 123), 4);
        }
        expect(new Set(volume.geometry.slices.map((s) => s.id))).toEqual(new Set(['colour', 'grey']));
      }
    }
    // Stored values cannot mix them; the error says how to build it.
    expect(() => buildVolume([colour, grey])).toThrow(expect.objectContaining({ code: 'mixed-pixel-format', message: expect.stringMatching(/rescale: 'float32'/) }));
  });
});
