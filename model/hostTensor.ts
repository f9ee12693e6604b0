/**
 * Float32 tensors filled in place, for the engine's per-step inputs on host-memory backends.
 *
 * `tf.tensor2d(values)` on the wasm backend allocates the tensor in the wasm heap and copies `values`
 * into it, so building a step's input meant allocating a JS array, filling it, then copying it again —
 * per step and per gate group, in the engine's hot loop. Those short-lived arrays (about 1 MB per step at
 * batch 800) were the engine's largest source of garbage and resident-memory growth. On wasm this fills
 * the heap memory directly through the backend's own `makeOutput`/`typedArrayFromHeap` (what its kernels
 * use for their outputs; TF.js has no public API for it). Other backends get a filled array and
 * `tf.tensor2d`.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The two methods of tfjs-backend-wasm's BackendWasm used here. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

function heapBackend(): HeapBackend | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  return typeof backend.makeOutput === 'function' && typeof backend.typedArrayFromHeap === 'function'
    ? (backend as HeapBackend)
    : undefined;
}

/**
 * A `[rows, cols]` float32 tensor whose values `fill` writes (every element: on wasm the memory is not
 * zeroed first).
 * @example const x = filledTensor2d(2, 3, (out) => out.set(source.subarray(0, 6)));
 */
export function filledTensor2d(rows: number, cols: number, fill: (out: Float32Array) => void): tf.Tensor2D {
  const backend = heapBackend();
  if (backend && rows * cols > 0) {
    const info = backend.makeOutput([rows, cols], 'float32');
    // Filled before anything else can allocate (and grow, detaching this view of) the heap.
    fill(backend.typedArrayFromHeap(info));
    return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor2D;
  }
  const out = new Float32Array(rows * cols);
  fill(out);
  return tf.tensor2d(out, [rows, cols]);
}
