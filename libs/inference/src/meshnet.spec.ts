// The real pre-trained MeshNet on the real T1 (shared/data): the model segments grey and white matter to the
// volumes its authors' demo reports, and MESHNET_MANIFEST run through ModelRunner gives the same answer, which
// proves the manifest (names, layout, grid, intensity, activation, label channels) right.
import './testing/onnxruntime-realm';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { MESHNET_MANIFEST, ModelRunner, type Vec3 } from './index';

const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../shared/data');
const MODEL = path.join(DATA, 'models/meshnet-gwm/model.onnx');
const T1 = path.join(DATA, 'nifti/t1-brain-256.nii.gz');

/** Just enough NIfTI-1 to get the T1's voxels (libs/volume has the real reader). */
function readNifti(file: string): { data: ArrayLike<number>; dims: Vec3 } {
  const bytes = gunzipSync(readFileSync(file));
  const header = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: Vec3 = [header.getInt16(42, true), header.getInt16(44, true), header.getInt16(46, true)];
  const datatype = header.getInt16(70, true);
  const offset = header.getFloat32(108, true);
  const voxels = dims[0] * dims[1] * dims[2];
  const body = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + voxels * ({ 2: 1, 4: 2, 16: 4 }[datatype] ?? 0));
  if (datatype === 2) return { data: new Uint8Array(body), dims };
  if (datatype === 4) return { data: new Int16Array(body), dims };
  if (datatype === 16) return { data: new Float32Array(body), dims };
  throw new Error(`${file}: NIfTI datatype ${datatype} not handled by this test reader`);
}

// Reference: the shared-data README (niivue's demo, same model and file) reports ~0.52 L white and ~0.74 L grey
// matter; we measured 518,540 and 735,212 voxels of 1 mm^3. The bounds are ±5 % around those. Run-to-run and
// thread-count differences in onnxruntime only flip voxels whose logits tie to float rounding (far below 0.1 %),
// while the mistakes this test exists to catch move the volumes much more: skipping the min-max scaling (feeding
// 0..255) gives 0.670 L white (+29 %) and 0.651 L grey (-11 %); a wrong label channel swaps the two.
const WHITE_ML: [number, number] = [493, 545];
const GREY_ML: [number, number] = [698, 772];

describe('MeshNet (real model, real T1)', () => {
  const t1 = readNifti(T1);
  const runner = new ModelRunner();
  let bare: { white: number; grey: number; labels: Uint8Array };

  afterAll(() => runner.release());

  it('reads the conformed T1', () => {
    expect(t1.dims).toEqual([256, 256, 256]);
  });

  it('segments white and grey matter to the expected volumes (bare onnxruntime)', async () => {
    const session = await ort.InferenceSession.create(MODEL);
    try {
      const n = 256 ** 3;
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < n; i++) {
        min = Math.min(min, t1.data[i]);
        max = Math.max(max, t1.data[i]);
      }
      const input = new Float32Array(n);
      for (let i = 0; i < n; i++) input[i] = (t1.data[i] - min) / (max - min);
      const out = (await session.run({ input: new ort.Tensor('float32', input, [1, 1, 256, 256, 256]) })).output;
      expect(out.dims).toEqual([1, 3, 256, 256, 256]);
      const y = out.data as Float32Array;
      const labels = new Uint8Array(n);
      const counts = [0, 0, 0];
      for (let i = 0; i < n; i++) {
        const b = y[i];
        const w = y[n + i];
        const g = y[2 * n + i];
        labels[i] = b >= w && b >= g ? 0 : w >= g ? 1 : 2;
        counts[labels[i]]++;
      }
      bare = { white: counts[1], grey: counts[2], labels };
    } finally {
      await session.release();
    }
    // 1 mm^3 voxels: 1000 voxels = 1 mL.
    expect(bare.white / 1000).toBeGreaterThanOrEqual(WHITE_ML[0]);
    expect(bare.white / 1000).toBeLessThanOrEqual(WHITE_ML[1]);
    expect(bare.grey / 1000).toBeGreaterThanOrEqual(GREY_ML[0]);
    expect(bare.grey / 1000).toBeLessThanOrEqual(GREY_ML[1]);
    expect(bare.grey).toBeGreaterThan(bare.white); // adult cerebrum: more grey than white matter
  }, 180_000);

  it('gives the same segmentation through ModelRunner with MESHNET_MANIFEST (whole-volume mode)', async () => {
    const model = await runner.load(MODEL);
    expect(model.check(MESHNET_MANIFEST)).toEqual([]);
    const { segmentation, timing } = await model.segment(t1.data, t1.dims, MESHNET_MANIFEST);
    const [white, grey] = segmentation.labels;
    expect(white).toMatchObject({ value: 1, name: 'White matter' });
    expect(grey).toMatchObject({ value: 2, name: 'Grey matter' });
    expect(white.voxels / 1000).toBeGreaterThanOrEqual(WHITE_ML[0]);
    expect(white.voxels / 1000).toBeLessThanOrEqual(WHITE_ML[1]);
    expect(grey.voxels / 1000).toBeGreaterThanOrEqual(GREY_ML[0]);
    expect(grey.voxels / 1000).toBeLessThanOrEqual(GREY_ML[1]);
    // Same model, same scaling written two ways (v / 255 vs v · (1/255)): at most a handful of tied voxels differ.
    if (bare) {
      let differ = 0;
      for (let i = 0; i < bare.labels.length; i++) if (bare.labels[i] !== segmentation.labelMap[i]) differ++;
      expect(differ).toBeLessThan(100);
    }
    expect(timing.patches).toBe(1);
    expect(timing.totalMs).toBeGreaterThanOrEqual(timing.sessionRunMs);
    expect(segmentation.uncertainty.region).toBe('foreground');
    expect(segmentation.uncertainty.score!).toBeGreaterThan(0);
    expect(segmentation.uncertainty.score!).toBeLessThan(0.5);
  }, 180_000);
});
