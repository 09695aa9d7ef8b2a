// Classification and detection through the real onnxruntime-node: the rule-based models built in code give the
// hand-computed scores and boxes, and the runner turns them into answers and labelled boxes.
import './testing/onnxruntime-realm';
import { buildBrightRegionDetector, buildMeanIntensityClassifier, InferenceError, ModelRunner, parseModelManifest, type Vec3 } from './index';
import { CLASSIFIER_TEST_MANIFEST, DETECTOR_TEST_MANIFEST } from './testing/rule-manifests';

const classifierManifest = CLASSIFIER_TEST_MANIFEST;
const detectorManifest = DETECTOR_TEST_MANIFEST;

/** A [w, h, d] volume of zeros with value `v` inside [x0, x1) x [y0, y1) on the given slices. */
function volumeWith(dims: Vec3, rects: { z: number; x0: number; y0: number; x1: number; y1: number; v: number }[]): Float32Array {
  const [w, h] = dims;
  const out = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (const r of rects) for (let y = r.y0; y < r.y1; y++) for (let x = r.x0; x < r.x1; x++) out[r.z * w * h + y * w + x] = r.v;
  return out;
}

describe('rule-based classification and detection models in onnxruntime', () => {
  const runner = new ModelRunner({ intraOpNumThreads: 1 });
  afterAll(() => runner.release());

  it('classifies by mean intensity: logits computed by hand', async () => {
    // logit_dark = -4·mean + 1, logit_bright = 4·mean - 1; a 4x4 image with 8 pixels at 1 has mean 0.5 -> logits (-1, 1).
    const model = await runner.load(buildMeanIntensityClassifier({ weights: [-4, 4], bias: [1, -1] }));
    const m = parseModelManifest(classifierManifest);
    expect(model.check(m)).toEqual([]);
    const image = volumeWith([4, 4, 1], [{ z: 0, x0: 0, y0: 0, x1: 4, y1: 2, v: 1 }]);
    const { classification } = await model.classify([{ volume: image, dims: [4, 4, 1] }], m);
    const pBright = 1 / (1 + Math.exp(-2));
    expect(classification.choices).toEqual(['bright']);
    expect(classification.probabilities.bright).toBeCloseTo(pBright, 5);
    // Two views: the second all dark (mean 0, logits (1, -1)); the average is exactly uniform, a tie -> 'dark'.
    const dark = new Float32Array(16);
    const both = await model.classify([{ volume: image, dims: [4, 4, 1] }, { volume: dark, dims: [4, 4, 1] }], m);
    expect(both.classification.probabilities.bright).toBeCloseTo(0.5, 5);
    expect(both.classification.images).toBe(2);
    expect(both.classification.uncertainty).toBeCloseTo(1, 5);
  });

  it('classifies per slice and averages (frames of a cine)', async () => {
    const model = await runner.load(buildMeanIntensityClassifier({ weights: [-4, 4], bias: [1, -1] }));
    const m = parseModelManifest({ ...classifierManifest, inference: { mode: 'per-slice', batchSize: 2 } });
    // Three 2x2 frames with means 1, 1, 0: probabilities of 'bright' σ(6), σ(6), σ(-2).
    const frames = volumeWith([2, 2, 3], [{ z: 0, x0: 0, y0: 0, x1: 2, y1: 2, v: 1 }, { z: 1, x0: 0, y0: 0, x1: 2, y1: 2, v: 1 }]);
    const { classification, timing } = await model.classify([{ volume: frames, dims: [2, 2, 3] }], m);
    const s = (x: number) => 1 / (1 + Math.exp(-x));
    expect(classification.probabilities.bright).toBeCloseTo((2 * s(6) + s(-2)) / 3, 5);
    expect(timing.patches).toBe(3);
    expect(timing.batches).toBe(2);
  });

  it('detects the bright region of each slice, in pixel coordinates', async () => {
    const model = await runner.load(buildBrightRegionDetector({ threshold: 0.5 }));
    const m = parseModelManifest(detectorManifest);
    expect(model.check(m)).toEqual([]);
    const dims: Vec3 = [20, 10, 3];
    const volume = volumeWith(dims, [
      { z: 0, x0: 3, y0: 2, x1: 8, y1: 6, v: 1 },
      // slice 1 has nothing above the threshold: score 0, no box
      { z: 1, x0: 0, y0: 0, x1: 20, y1: 10, v: 0.2 },
      { z: 2, x0: 19, y0: 9, x1: 20, y1: 10, v: 1 },
    ]);
    const { detections, uncertainty } = await model.detect(volume, dims, m);
    expect(detections).toEqual([
      { box: [3, 2, 8, 6], score: 1, label: 1, image: 0 },
      { box: [19, 9, 20, 10], score: 1, label: 1, image: 2 },
    ]);
    expect(uncertainty).toBe(0);
  });

  it('refuses a model used for the wrong purpose', async () => {
    const model = await runner.load(buildBrightRegionDetector({ threshold: 0.5 }));
    const m = parseModelManifest(detectorManifest);
    await expect(model.run(new Float32Array(4), [2, 2, 1], m)).rejects.toThrow(InferenceError);
    await expect(model.run(new Float32Array(4), [2, 2, 1], m)).rejects.toThrow("manifest 'bright-detector' is a detection model; it cannot be used for segmentation");
  });
});
