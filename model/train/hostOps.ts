/**
 * Small tensor helpers of training that run on the host: a row gather whose gradient is a host
 * scatter-add, and seeded uniform initialisation.
 */
import * as tf from '@tensorflow/tfjs';
import type { SeededRandom } from './random.js';

/**
 * `embedding[ids]` with a gradient computed on the host by scatter-add. TF.js derives gather's gradient
 * with `UnsortedSegmentSum`, which the wasm backend lacks and the cpu backend runs as one masked pass per
 * vocabulary row (minutes per batch for a 6000-word vocabulary); a host loop over the batch's tokens
 * takes microseconds.
 */
export function gatherRows(embedding: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [vocab, width] = embedding.shape;
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const table = args[0] as tf.Tensor2D;
    const rows = tf.gather(table, tf.tensor1d(ids, 'int32'));
    return {
      value: rows,
      gradFunc: (dy: tf.Tensor) => {
        const upstream = dy.dataSync();
        const grad = new Float32Array(vocab * width);
        for (let n = 0; n < ids.length; n++) {
          const row = ids[n] * width;
          const from = n * width;
          for (let i = 0; i < width; i++) grad[row + i] += upstream[from + i];
        }
        return tf.tensor2d(grad, [vocab, width]);
      },
    };
  });
  return lookup(embedding) as tf.Tensor2D;
}

/** Uniform host tensor in `[-bound, bound)`. */
export function uniform(count: number, bound: number, random: SeededRandom): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = random.uniform(-bound, bound);
  return out;
}
