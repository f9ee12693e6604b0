/**
 * Chooses the inference backend at start: `onnxruntime` (ONNX Runtime's native CPU kernels through
 * `onnxruntime-node`: the default), or a TensorFlow.js backend — `tensorflow` (tfjs-node-gpu / tfjs-node,
 * optional), `webgpu` (Dawn through the optional `webgpu` package), `wasm` (the CPU fallback) or `cpu`.
 * The choice and the reason are logged; {@link activeRuntime} tells engine factories which one is active.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as Ort from 'onnxruntime-node';
import { ConfigError } from '../core/errors.js';

import { BACKEND_NAMES, type BackendName } from './backendNames.js';

export { BACKEND_NAMES, type BackendName };

/** The `onnxruntime-node` module. */
export type OnnxRuntime = typeof Ort;

/** Which engine family the selected backend runs: ONNX Runtime, or TF.js on its active backend. */
export type ActiveRuntime = { kind: 'onnxruntime'; ort: OnnxRuntime } | { kind: 'tfjs' };

let active: ActiveRuntime = { kind: 'tfjs' };

/**
 * The runtime chosen by the last {@link selectBackend} in this thread (TF.js until one chose ONNX Runtime).
 * @example if (activeRuntime().kind === 'onnxruntime') …
 */
export function activeRuntime(): ActiveRuntime {
  return active;
}

/** The active backend's name: `onnxruntime`, or TF.js's active backend (`wasm`, `webgpu`, …). */
export function activeBackendName(): string {
  return active.kind === 'onnxruntime' ? 'onnxruntime' : tf.getBackend();
}

/**
 * Loads ONNX Runtime's Node binding (native CPU kernels shipped inside the npm package) and checks that
 * it can create a session. Imported lazily so that a machine where the binary cannot load still runs
 * on TF.js.
 */
async function useOnnxRuntime(): Promise<void> {
  const ort = (await import('onnxruntime-node')) as OnnxRuntime;
  // Touch the native binding: the import alone does not load it.
  if (!ort.listSupportedBackends().some((b) => b.name === 'cpu')) {
    throw new Error('onnxruntime-node has no CPU execution provider on this machine');
  }
  active = { kind: 'onnxruntime', ort };
}

/** The part of a pino logger used here. */
export interface BackendLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** What {@link selectBackend} chose and why. */
export interface BackendChoice {
  /** The active TF.js backend name (`tf.getBackend()`). */
  backend: string;
  reason: string;
}

/** Whether the Vulkan loader Dawn needs is installed (a GPU is only reachable through it). */
function hasVulkanLoader(): boolean {
  const dirs = [
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
  ];
  const fromEnv = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return [...fromEnv, ...dirs].some((dir) => existsSync(join(dir, 'libvulkan.so.1')));
}

/** Activates a registered backend, failing with the backend's own error. */
async function activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') failed to initialise`);
  await tf.ready();
  active = { kind: 'tfjs' };
}

/** Name of a failure for messages. */
const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function useWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  await activate('wasm');
}

async function useCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  await activate('cpu');
  // The cpu backend prints a "install tfjs-node" banner on first use in Node; the choice is already
  // logged with its reason, so the banner is noise.
  const backend = tf.backend() as { firstUse?: boolean };
  if ('firstUse' in backend) backend.firstUse = false;
}

/**
 * Installs the `webgpu` package's Dawn bindings as `navigator.gpu` (Node has no WebGPU of its own)
 * and returns whether an adapter was found.
 */
async function installWebGpu(): Promise<{ ok: true } | { ok: false; why: string }> {
  const scope = globalThis as { navigator?: { gpu?: unknown } };
  if (!scope.navigator?.gpu) {
    let dawn: { create: (flags: string[]) => unknown; globals: object };
    try {
      // A variable specifier keeps TypeScript from requiring the optional package at compile time.
      const specifier = 'webgpu';
      dawn = await import(specifier);
    } catch (error) {
      return { ok: false, why: `the optional 'webgpu' package is not installed (${describe(error)})` };
    }
    // tfjs-backend-webgpu uses the WebGPU globals (GPUBufferUsage, GPUMapMode…).
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    if (scope.navigator) Object.defineProperty(scope.navigator, 'gpu', { value: gpu, configurable: true });
    else
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  const gpu = scope.navigator?.gpu as { requestAdapter(options?: object): Promise<unknown> };
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { ok: false, why: 'no WebGPU adapter found' };
  } catch (error) {
    return { ok: false, why: `WebGPU adapter request failed (${describe(error)})` };
  }
  return { ok: true };
}

async function useWebGpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-webgpu');
  await activate('webgpu');
}

/** Loads tfjs-node-gpu, else tfjs-node (optional dependencies that register the `tensorflow` backend). */
async function useTensorflow(): Promise<string> {
  const failures: string[] = [];
  for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(name);
      await activate('tensorflow');
      return name;
    } catch (error) {
      failures.push(`${name}: ${describe(error)}`);
    }
  }
  throw new Error(failures.join('; '));
}

/**
 * Activates the requested backend, or for `auto` the best available one: onnxruntime when its binding
 * loads (several times faster than TF.js wasm on a CPU, BENCHMARKS.md (a); TF.js webgpu has not been
 * measured on a GPU beside it, so a GPU machine asks for `webgpu` explicitly), else webgpu when a GPU
 * adapter is found, else wasm, else cpu. An explicitly requested
 * backend that is missing or fails is a {@link ConfigError}.
 * @example const { backend, reason } = await selectBackend('auto', logger('model'));
 */
export async function selectBackend(name: BackendName, log?: BackendLog): Promise<BackendChoice> {
  const choice = await choose(name, log);
  log?.info({ backend: choice.backend, requested: name, reason: choice.reason }, 'tensor backend selected');
  return choice;
}

async function choose(name: BackendName, log?: BackendLog): Promise<BackendChoice> {
  const explicit = async (run: () => Promise<string>, hint: string): Promise<BackendChoice> => {
    try {
      const reason = await run();
      return { backend: activeBackendName(), reason };
    } catch (error) {
      throw new ConfigError(`backend '${name}' is not available: ${describe(error)}. ${hint}`, {
        cause: error,
      });
    }
  };
  switch (name) {
    case 'onnxruntime':
      return explicit(async () => {
        await useOnnxRuntime();
        return 'requested';
      }, 'Reinstall onnxruntime-node (npm ci), or use --backend wasm.');
    case 'cpu':
      return explicit(async () => {
        await useCpu();
        return 'requested';
      }, 'Use --backend wasm or auto.');
    case 'wasm':
      return explicit(async () => {
        await useWasm();
        return 'requested';
      }, 'Use --backend cpu.');
    case 'tensorflow':
      return explicit(
        async () => `requested (${await useTensorflow()})`,
        'Install @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, or use --backend auto.',
      );
    case 'webgpu':
      return explicit(async () => {
        const gpu = await installWebGpu();
        if (!gpu.ok) throw new Error(gpu.why);
        await useWebGpu();
        return 'requested';
      }, 'Install the webgpu package on a machine with a GPU (Vulkan), or use --backend auto.');
    case 'auto': {
      let ortWhy: string;
      try {
        await useOnnxRuntime();
        return { backend: 'onnxruntime', reason: 'auto: ONNX Runtime loaded; it is the CPU default' };
      } catch (error) {
        ortWhy = `onnxruntime-node did not load (${describe(error)})`;
        log?.warn({ error: describe(error) }, 'onnxruntime backend failed; trying TF.js backends');
      }
      // Dawn prints a warning on stderr when it cannot load Vulkan; without the loader there is no GPU to find.
      const gpu = hasVulkanLoader()
        ? await installWebGpu()
        : ({ ok: false, why: 'no Vulkan loader (libvulkan.so.1) for WebGPU on this machine' } as const);
      if (gpu.ok) {
        try {
          await useWebGpu();
          return { backend: 'webgpu', reason: `auto: ${ortWhy}; a WebGPU adapter was found` };
        } catch (error) {
          log?.warn({ error: describe(error) }, 'webgpu backend failed; falling back to wasm');
        }
      }
      const why = gpu.ok ? 'webgpu failed to initialise' : gpu.why;
      try {
        await useWasm();
        return { backend: 'wasm', reason: `auto: ${ortWhy}; ${why}; wasm is the TF.js CPU default` };
      } catch (error) {
        await useCpu();
        return { backend: 'cpu', reason: `auto: ${ortWhy}; ${why}; wasm failed (${describe(error)})` };
      }
    }
    default:
      throw new ConfigError(`unknown backend '${String(name)}'; use one of ${BACKEND_NAMES.join(', ')}`);
  }
}
