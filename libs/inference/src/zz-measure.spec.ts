import './testing/onnxruntime-realm';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { MESHNET_MANIFEST, ModelRunner, softmaxChannels, argmaxLabels, channelLabelValues, uncertaintyScore, cleanUpComponents } from './index';
it('measure', async () => {
  const bytes = gunzipSync(readFileSync('/work/shared/data/nifti/t1-brain-256.nii.gz'));
  const data = bytes.subarray(352, 352 + 256 ** 3);
  const runner = new ModelRunner();
  const model = await runner.load('/work/shared/data/models/meshnet-gwm/model.onnx');
  for (let k = 0; k < 2; k++) {
    const r = await model.run(data, [256, 256, 256], MESHNET_MANIFEST);
    console.log('run', JSON.stringify(r.timing));
    let t = performance.now();
    softmaxChannels(r.channels, 3); const a = performance.now() - t; t = performance.now();
    const labels = argmaxLabels(r.channels, 3, channelLabelValues(MESHNET_MANIFEST, 3)); const b = performance.now() - t; t = performance.now();
    const u = uncertaintyScore(r.channels, 3, labels, 'probabilities'); const c = performance.now() - t; t = performance.now();
    cleanUpComponents(labels, [256, 256, 256], { keepLargest: 'all' }); const d = performance.now() - t;
    console.log({ softmax: a, argmax: b, entropy: c, components: d, u });
  }
  await runner.release();
}, 600000);
