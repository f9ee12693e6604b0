import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { type BackendName, selectBackend } from '../../../model/backend.js';
import { ConfigError } from '../../../pipeline/errors.js';

/** Collects what selectBackend logs. */
function recorder() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const log = {
    info: (fields: object, message: string) => lines.push({ level: 'info', fields: { ...fields }, message }),
    warn: (fields: object, message: string) => lines.push({ level: 'warn', fields: { ...fields }, message }),
  };
  return { log, lines };
}

describe('selectBackend', () => {
  it('activates wasm and cpu on request and logs the choice with its reason', async () => {
    for (const name of ['wasm', 'cpu'] as const) {
      const { log, lines } = recorder();
      const choice = await selectBackend(name, log);
      assert.deepEqual(choice, { backend: name, reason: 'requested' });
      assert.equal(tf.getBackend(), name);
      assert.deepEqual(lines.at(-1)?.fields, { backend: name, requested: name, reason: 'requested' });
    }
  });

  it('auto picks webgpu only when an adapter exists, else wasm, and says why', async () => {
    const { log, lines } = recorder();
    const choice = await selectBackend('auto', log);
    assert.equal(tf.getBackend(), choice.backend);
    if (choice.backend === 'webgpu') assert.match(choice.reason, /adapter was found/);
    else {
      assert.equal(choice.backend, 'wasm');
      assert.match(choice.reason, /webgpu|WebGPU|Vulkan/);
    }
    assert.equal(lines.at(-1)?.fields.reason, choice.reason);
  });

  it('fails with a ConfigError naming the backend when an explicit one is missing', async () => {
    await assert.rejects(
      selectBackend('tensorflow'),
      (e: Error) =>
        e instanceof ConfigError && /backend 'tensorflow' is not available.*tfjs-node/.test(e.message),
    );
    await assert.rejects(selectBackend('bogus' as BackendName), /unknown backend 'bogus'/);
  });
});
