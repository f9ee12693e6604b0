/**
 * Chooses the TensorFlow.js backend at start: `tensorflow` (tfjs-node-gpu / tfjs-node, optional),
 * `webgpu` (Dawn through the optional `webgpu` package), `wasm` (the default on CPU) or `cpu`.
 * The choice and the reason are logged.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../pipeline/errors.js';

/** Backend names accepted by `--backend`. */
export const BACKEND_NAMES = ['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

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
 * Activates the requested backend, or for `auto` the best available one (webgpu when a GPU adapter is
 * found, else wasm, else cpu). An explicitly requested backend that is missing or fails is a
 * {@link ConfigError}.
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
      return { backend: tf.getBackend(), reason };
    } catch (error) {
      throw new ConfigError(`backend '${name}' is not available: ${describe(error)}. ${hint}`, {
        cause: error,
      });
    }
  };
  switch (name) {
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
      // Dawn prints a warning on stderr when it cannot load Vulkan; without the loader there is no GPU to find.
      const gpu = hasVulkanLoader()
        ? await installWebGpu()
        : ({ ok: false, why: 'no Vulkan loader (libvulkan.so.1) for WebGPU on this machine' } as const);
      if (gpu.ok) {
        try {
          await useWebGpu();
          return { backend: 'webgpu', reason: 'auto: a WebGPU adapter was found' };
        } catch (error) {
          log?.warn({ error: describe(error) }, 'webgpu backend failed; falling back to wasm');
        }
      }
      const why = gpu.ok ? 'webgpu failed to initialise' : gpu.why;
      try {
        await useWasm();
        return { backend: 'wasm', reason: `auto: ${why}; wasm is the CPU default` };
      } catch (error) {
        await useCpu();
        return { backend: 'cpu', reason: `auto: ${why}; wasm failed (${describe(error)})` };
      }
    }
    default:
      throw new ConfigError(`unknown backend '${String(name)}'; use one of ${BACKEND_NAMES.join(', ')}`);
  }
}
