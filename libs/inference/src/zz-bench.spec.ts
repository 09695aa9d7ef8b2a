import { softmaxChannels } from './index';
it('bench', () => {
  const n = 256 ** 3 / 4;
  const a = new Float32Array(3 * n); for (let i = 0; i < a.length; i++) a[i] = Math.sin(i) * 5;
  let t = performance.now(); softmaxChannels(a, 3); console.log('softmax sandbox arrays', performance.now() - t);
  const Outer = require('node:vm').runInThisContext('Float32Array');
  const b = new Outer(3 * n); for (let i = 0; i < b.length; i++) b[i] = Math.sin(i) * 5;
  t = performance.now(); softmaxChannels(b, 3); console.log('softmax outer arrays', performance.now() - t);
});
