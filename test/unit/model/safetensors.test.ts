import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelFormatError } from '../../../core/errors.js';
import { rnnWeightsFromStateDict } from '../../../model/cells.js';
import {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  type TensorMap,
  writeSafetensors,
} from '../../../model/safetensors.js';
import { GOLDEN_CASES, randomStateDict } from './helpers.js';

/** Hand-built safetensors bytes with one tensor of the given dtype and raw data. */
function fileWith(name: string, dtype: string, shape: number[], raw: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ [name]: { dtype, shape, data_offsets: [0, raw.length] } }),
  );
  const out = new Uint8Array(8 + header.length + raw.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(raw, 8 + header.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips F32 tensors through a file, with metadata and 8-byte aligned data', async () => {
    const tensors: TensorMap = new Map([
      ['a.weight', { shape: [2, 3], data: Float32Array.of(1, -2, 3.5, 1e-8, -0, Number.MAX_VALUE) }],
      ['scalar', { shape: [], data: Float32Array.of(7) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'rnnstream-st-'));
    try {
      await writeSafetensors(join(dir, 'w.safetensors'), tensors, { format: 'pt' });
      const back = await readSafetensors(join(dir, 'w.safetensors'));
      assert.deepEqual([...back.keys()], ['a.weight', 'scalar', 'empty']);
      for (const [name, t] of tensors) {
        assert.deepEqual(back.get(name)?.shape, t.shape);
        assert.deepEqual(back.get(name)?.data, t.data);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const bytes = serializeSafetensors(tensors);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(headerLength % 8, 0);
  });

  it('reads the golden PyTorch files', async () => {
    const tensors = await readSafetensors(join(GOLDEN_CASES[0], 'weights.safetensors'));
    assert.deepEqual(tensors.get('weight_ih_l0')?.shape, [48, 8]);
    assert.deepEqual(tensors.get('bias_hh_l0')?.shape, [48]);
  });

  it('widens F16 and BF16 to F32', () => {
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00]).buffer);
    const half = parseSafetensors(fileWith('h', 'F16', [5], f16)).get('h')?.data ?? [];
    assert.deepEqual([...half].slice(0, 2), [1, -2]);
    assert.ok(Math.abs(half[2] - 0.333251953125) < 1e-9);
    assert.equal(half[3], 2 ** -24);
    assert.equal(half[4], Number.POSITIVE_INFINITY);
    const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc0a0]).buffer);
    assert.deepEqual([...(parseSafetensors(fileWith('b', 'BF16', [2], bf16)).get('b')?.data ?? [])], [1, -5]);
  });

  it('refuses truncated files, bad headers and unsupported dtypes, naming the problem', () => {
    assert.throws(() => parseSafetensors(new Uint8Array(4), 'x.safetensors'), /x.safetensors.*8-byte/);
    const good = serializeSafetensors(new Map([['t', { shape: [4], data: new Float32Array(4) }]]));
    assert.throws(() => parseSafetensors(good.subarray(0, good.length - 1)), ModelFormatError);
    assert.throws(() => parseSafetensors(fileWith('t', 'I64', [1], new Uint8Array(8))), /"t" has dtype I64/);
    assert.throws(() => parseSafetensors(fileWith('t', 'F32', [3], new Uint8Array(8))), /"t" data_offsets/);
  });

  it('maps PyTorch state_dict names and reports a wrong shape or a missing tensor by name', () => {
    const config = { cell: 'gru' as const, inputSize: 3, hiddenSize: 4, numLayers: 2, bias: true };
    const tensors = randomStateDict(config, 1, { prefix: 'rnn.' });
    const weights = rnnWeightsFromStateDict(tensors, config, { prefix: 'rnn.' });
    assert.equal(weights.layers.length, 2);

    const wrong = new Map(tensors);
    wrong.set('rnn.weight_hh_l1', { shape: [12, 5], data: new Float32Array(60) });
    assert.throws(
      () => rnnWeightsFromStateDict(wrong, config, { prefix: 'rnn.' }),
      (e: Error) =>
        e instanceof ModelFormatError &&
        /"rnn.weight_hh_l1" has shape \[12, 5\], expected \[12, 4\]/.test(e.message),
    );
    const missing = new Map(tensors);
    missing.delete('rnn.bias_ih_l0');
    assert.throws(
      () => rnnWeightsFromStateDict(missing, config, { prefix: 'rnn.' }),
      /"rnn.bias_ih_l0" is missing/,
    );
    assert.throws(() => rnnWeightsFromStateDict(tensors, config), /"weight_ih_l0" is missing/);
    assert.throws(
      () => rnnWeightsFromStateDict(tensors, { ...config, bias: false }, { prefix: 'rnn.' }),
      /"rnn.bias_ih_l0" is present but the network is configured with bias: false/,
    );
    assert.throws(
      () => rnnWeightsFromStateDict(tensors, { ...config, cell: 'lstm' }, { prefix: 'rnn.' }),
      /"rnn.weight_ih_l0" has shape \[12, 3\], expected \[16, 3\]/,
    );
  });
});
