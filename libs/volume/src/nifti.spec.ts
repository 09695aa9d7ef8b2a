// NIfTI-1 I/O: our writer's files as nibabel reads them (shape, both affines, dtype, units, intent, voxels), our
// reader on a real gzipped T1 against nibabel, and round trips through both.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { affineFromColumns, maxAbsDifference, type Mat4 } from './affine';
import { gunzipSync } from 'node:zlib';
import { NIFTI_DATATYPE, NIFTI_INTENT_LABEL, niftiVolume, readNifti, writeNifti, writeNiftiGzip } from './nifti';
import type { VoxelArray } from './voxel-data';

const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../shared/data');

/** What nibabel (Debian's python3) sees in NIfTI files: one interpreter start for all of them. */
function nibabel(files: string[], samples: number[][]): any[] {
  const script = `
import sys, json
import numpy as np, nibabel as nib
samples = json.loads(sys.argv[1])
out = []
for f in sys.argv[2:]:
    img = nib.load(f)
    h = img.header
    data = np.asanyarray(img.dataobj)
    out.append({
        'shape': list(img.shape), 'dtype': str(img.get_data_dtype()),
        'sform': h.get_sform().tolist(), 'qform': h.get_qform().tolist(), 'affine': img.affine.tolist(),
        'sform_code': int(h['sform_code']), 'qform_code': int(h['qform_code']),
        'units': list(h.get_xyzt_units()), 'intent': int(h['intent_code']), 'vox_offset': int(img.dataobj.offset),
        'descrip': h['descrip'].tobytes().rstrip(b'\\x00').decode(), 'pixdim': [float(v) for v in h['pixdim'][1:4]],
        'values': [float(data[tuple(s)]) for s in samples],
    })
print(json.dumps(out))
`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, JSON.stringify(samples), ...files], { encoding: 'utf8' }));
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'contour-nifti-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const c = Math.cos(0.3);
const s = Math.sin(0.3);
const AFFINES: Record<string, Mat4> = {
  // LPS-ordered axial DICOM volume in RAS: i goes left, j posterior (determinant > 0 after both negations).
  'axial from DICOM (LPS order)': affineFromColumns([-0.7, 0, 0], [0, -0.8, 0], [0, 0, 2.5], [90, 110, -40]),
  // Rows flipped as dcm2niix writes them: a left-handed grid, stored with qfac = -1.
  'left-handed (qfac -1)': affineFromColumns([-0.7, 0, 0], [0, 0.8, 0], [0, 0, 2.5], [90, -110, -40]),
  oblique: affineFromColumns([c * 1.1, s * 1.1, 0], [-s * 0.9, c * 0.9, 0], [0, 0, 3], [-12.5, 30.25, 7]),
  'conformed LIA 1 mm': affineFromColumns([-1, 0, 0], [0, 0, -1], [0, 1, 0], [128, 128, -128]),
};

function fill<T extends VoxelArray>(data: T): T {
  for (let n = 0; n < data.length; n++) data[n] = ((n * 37) % 251) - (data instanceof Uint8Array || data instanceof Uint16Array || data instanceof Uint32Array ? 0 : 100) + (data instanceof Float32Array || data instanceof Float64Array ? 0.25 : 0);
  return data;
}

describe('writeNifti, read back by nibabel', () => {
  const dims = [5, 4, 3];
  const samples = [[0, 0, 0], [4, 3, 2], [1, 2, 1], [3, 0, 2]];
  const at = (data: VoxelArray, [i, j, k]: number[]) => data[i + dims[0] * (j + dims[1] * k)];

  const cases = [
    // dtype nibabel reports, affine, gzip, data
    ['uint8', 'axial from DICOM (LPS order)', false, fill(new Uint8Array(60))],
    ['int16', 'left-handed (qfac -1)', true, fill(new Int16Array(60))],
    ['uint16', 'oblique', false, fill(new Uint16Array(60))],
    ['int32', 'conformed LIA 1 mm', true, fill(new Int32Array(60))],
    ['float32', 'oblique', true, fill(new Float32Array(60))],
    ['float64', 'left-handed (qfac -1)', false, fill(new Float64Array(60))],
  ] as const;
  let seenByFile: any[] = [];
  beforeAll(() => {
    const files = cases.map(([dtype, affineName, gzip, data]) => {
      const file = path.join(tmp, `${dtype}-${gzip ? 'z' : 'n'}.nii${gzip ? '.gz' : ''}`);
      fs.writeFileSync(file, writeNifti({ dims, affineRas: AFFINES[affineName], data, description: 'Contour test volume', intent: { code: NIFTI_INTENT_LABEL, name: 'labels' }, gzip }));
      return file;
    });
    seenByFile = nibabel(files, samples);
  });

  test.each(cases.map((c, n) => [...c, n] as const))('%s, %s affine, gzip %s', (dtype, affineName, _gzip, data, n) => {
    const affine = AFFINES[affineName];
    const seen = seenByFile[n];
    expect(seen.shape).toEqual(dims);
    expect(seen.dtype).toBe(dtype);
    expect(seen.sform_code).toBe(2);
    expect(seen.qform_code).toBe(2);
    // Both the sform and the quaternion qform reproduce the affine (float32 storage: 1e-4 mm).
    expect(maxAbsDifference(seen.sform, affine)).toBeLessThan(1e-4);
    expect(maxAbsDifference(seen.qform, affine)).toBeLessThan(1e-4);
    expect(seen.units).toEqual(['mm', 'unknown']);
    expect(seen.intent).toBe(NIFTI_INTENT_LABEL);
    expect(seen.vox_offset).toBe(352);
    expect(seen.descrip).toBe('Contour test volume');
    expect(seen.values).toEqual(samples.map((p) => at(data, p)));
  });

  test.each(Object.keys(AFFINES))('a file with only a qform reads back the %s affine', (name) => {
    const file = writeNifti({ dims, affineRas: AFFINES[name], data: new Uint8Array(60) });
    file.writeInt16LE(0, 254); // sform_code = 0: readers must fall back to the quaternion
    const image = readNifti(file);
    expect(image.sformCode).toBe(0);
    expect(maxAbsDifference(image.affine, AFFINES[name])).toBeLessThan(1e-4);
  });

  test('a round trip through our reader keeps dims, type, affine, values and intent', () => {
    const data = fill(new Int16Array(60));
    const image = readNifti(writeNifti({ dims, affineRas: AFFINES.oblique, data, intent: { code: NIFTI_INTENT_LABEL, name: 'labels' }, gzip: true }));
    expect(image.dims).toEqual(dims);
    expect(image.datatype).toBe(NIFTI_DATATYPE.INT16);
    expect(image.data).toEqual(data);
    expect(maxAbsDifference(image.affine, AFFINES.oblique)).toBeLessThan(1e-5);
    expect([image.intentCode, image.intentName, image.sformCode]).toEqual([NIFTI_INTENT_LABEL, 'labels', 2]);
  });

  test.each([
    ['dims that do not match the data', () => writeNifti({ dims: [2, 2, 2], affineRas: AFFINES.oblique, data: new Uint8Array(7) }), /7 values but dims \[2, 2, 2\] need 8/],
    ['a singular affine', () => writeNifti({ dims: [1, 1, 1], affineRas: affineFromColumns([1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]), data: new Uint8Array(1) }), /singular/],
    ['a file that is not NIfTI', () => readNifti(Buffer.alloc(400, 1)), /not NIfTI-1/],
    ['a cut-short gzip', () => readNifti(writeNifti({ dims, affineRas: AFFINES.oblique, data: fill(new Float32Array(60)), gzip: true }).subarray(0, 100)), /cannot be decompressed/],
  ])('refuses %s with a reason', (_name, act, message) => {
    expect(act).toThrow(message);
  });
});

describe('readNifti on nifti/t1-brain-256.nii.gz', () => {
  const file = path.join(DATA, 'nifti/t1-brain-256.nii.gz');
  const samples = [[128, 128, 128], [100, 150, 90], [0, 0, 0], [60, 128, 200]];

  test('256^3 uint8 with the same affine and voxels as nibabel', () => {
    const image = readNifti(fs.readFileSync(file));
    const [seen] = nibabel([file], samples);
    expect(image.dims).toEqual([256, 256, 256]);
    expect(image.datatype).toBe(NIFTI_DATATYPE.UINT8);
    expect(image.data).toBeInstanceOf(Uint8Array);
    expect(image.data.length).toBe(256 ** 3);
    expect(maxAbsDifference(image.affine, seen.affine)).toBeLessThan(1e-5);
    expect(image.pixdim).toEqual([1, 1, 1]);
    const volume = niftiVolume(image);
    expect(samples.map(([i, j, k]) => volume.data[i + 256 * (j + 256 * k)])).toEqual(seen.values);
  });
});

describe('writeNiftiGzip', () => {
  it('gzips exactly the bytes writeNifti writes, and reads back', async () => {
    const data = Int16Array.from({ length: 4 * 3 * 2 }, (_, i) => i * 37 - 300);
    const input = { dims: [4, 3, 2], affineRas: [[-0.5, 0, 0, 10], [0, 0.5, 0, -4], [0, 0, 2, 7], [0, 0, 0, 1]], data, description: 'test' };
    const gz = await writeNiftiGzip(input, 1);
    expect(gunzipSync(gz).equals(writeNifti(input))).toBe(true);
    const back = readNifti(gz);
    expect(Array.from(back.data as Int16Array)).toEqual(Array.from(data));
  });
});

describe('readNifti memory', () => {
  const data = Float32Array.from({ length: 6 * 5 * 4 }, (_, i) => i / 3 - 7);
  const input = { dims: [6, 5, 4], affineRas: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] as Mat4, data };

  it('a .nii.gz: the voxels are a view of the decompressed file (no copy), with the right values', () => {
    const image = readNifti(writeNifti({ ...input, gzip: true }));
    expect(image.data).toBeInstanceOf(Float32Array);
    expect(image.data.byteOffset).toBe(352);
    expect(Array.from(image.data)).toEqual(Array.from(data));
  });

  it('a .nii: the voxels are a copy, so changing them leaves the caller’s file as it was', () => {
    const file = writeNifti(input);
    const before = Buffer.from(file);
    const image = readNifti(file);
    image.data.fill(0);
    expect(file.equals(before)).toBe(true);
    expect(Array.from(readNifti(file).data)).toEqual(Array.from(data));
  });

  it('a .nii.gz whose trailer states the wrong size, or that is cut short, is refused with a reason', () => {
    const gz = writeNifti({ ...input, gzip: true });
    const lying = Buffer.from(gz);
    lying.writeUInt32LE(10, lying.length - 4);
    expect(() => readNifti(lying)).toThrow(/cannot be decompressed/); // zlib checks ISIZE itself
    expect(() => readNifti(gz.subarray(0, gz.length - 30))).toThrow(/truncated or damaged/);
  });
});
