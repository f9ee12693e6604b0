import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
for (const b of ['wasm', 'cpu']) {
  await tf.setBackend(b); await tf.ready();
  if (b === 'wasm') console.log('threads', getThreadsCount(), tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'));
  const a = tf.randomNormal([256, 256]) as tf.Tensor2D, w = tf.randomNormal([256, 768]) as tf.Tensor2D;
  for (const [name, f] of [['matMul', () => tf.matMul(a, w)], ['add', () => tf.add(a, a)], ['sigmoid', () => tf.sigmoid(a)], ['split', () => tf.split(a, 2, 1)], ['slice', () => tf.slice(a, [0, 0], [128, 256])]] as const) {
    for (let i = 0; i < 3; i++) tf.dispose((f as any)());
    const t0 = performance.now(); const n = 20;
    for (let i = 0; i < n; i++) tf.dispose((f as any)());
    await (tf.zeros([1]).data());
    console.log(b, name, ((performance.now() - t0) / n).toFixed(3), 'ms');
  }
}
