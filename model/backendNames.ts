/**
 * Backend names accepted by `--backend`, in a module of their own so that the CLI and config can list
 * them without loading any inference runtime.
 */
export const BACKEND_NAMES = ['auto', 'onnxruntime', 'wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The `--backend` option's help, the same wherever the option is offered. */
export const BACKEND_HELP =
  'inference backend: onnxruntime (native CPU), wasm/cpu/webgpu/tensorflow (TF.js); auto picks onnxruntime, else webgpu with a GPU, else wasm';
