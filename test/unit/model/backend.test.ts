import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../../core/errors.js';
import { activeBackendName, activeRuntime, type BackendName, selectBackend } from '../../../model/backend.js';

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

  it('activates onnxruntime on request: engines are then built on ONNX Runtime', async () => {
    const { log, lines } = recorder();
    const choice = await selectBackend('onnxruntime', log);
    assert.deepEqual(choice, { backend: 'onnxruntime', reason: 'requested' });
    assert.equal(activeRuntime().kind, 'onnxruntime');
    assert.equal(activeBackendName(), 'onnxruntime');
    assert.equal(lines.at(-1)?.fields.backend, 'onnxruntime');
    await selectBackend('wasm');
    assert.equal(activeRuntime().kind, 'tfjs', 'a TF.js backend switches engines back to TF.js');
  });

  it('auto picks onnxruntime when its binding loads, and says why', async () => {
    const { log, lines } = recorder();
    const choice = await selectBackend('auto', log);
    assert.equal(choice.backend, 'onnxruntime');
    assert.match(choice.reason, /ONNX Runtime loaded/);
    assert.equal(activeBackendName(), 'onnxruntime');
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
