import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flopsPerToken, randomTokenRows, randomWeights, seededRandom } from '../../../bench/random.js';

describe('bench random data', () => {
  it('is reproducible from its seed and differs between seeds', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const first = [a(), a(), a()];
    assert.deepEqual(first, [b(), b(), b()]);
    assert.notDeepEqual(first, [c(), c(), c()]);
    for (const x of first) assert.ok(x >= 0 && x < 1);
  });

  it('makes weights in PyTorch layout', () => {
    const w = randomWeights({ cell: 'lstm', inputSize: 3, hiddenSize: 5, numLayers: 2, bias: true }, 11, 1);
    assert.deepEqual(w.embedding?.shape, [11, 3]);
    assert.deepEqual(w.layers[0].weightIh.shape, [20, 3]);
    assert.deepEqual(w.layers[1].weightIh.shape, [20, 5]);
    assert.deepEqual(w.layers[1].weightHh.shape, [20, 5]);
    assert.deepEqual(w.layers[0].biasHh?.shape, [20]);
    const bound = 1 / Math.sqrt(5);
    assert.ok(w.layers[0].weightHh.data.every((v) => Math.abs(v) <= bound));
  });

  it('draws token ids inside the vocabulary', () => {
    const rows = randomTokenRows(4, 6, 10, 3);
    assert.equal(rows.length, 4);
    for (const row of rows) {
      assert.equal(row.length, 6);
      assert.ok(row.every((id) => id >= 0 && id < 10));
    }
  });

  it('counts FLOPs per token, with layer 0 free when it is a table', () => {
    const gru = { cell: 'gru' as const, inputSize: 128, hiddenSize: 256, numLayers: 1, bias: true };
    assert.equal(flopsPerToken(gru, true), 2 * 3 * 256 * 256);
    assert.equal(flopsPerToken(gru, false), 2 * 3 * 256 * (256 + 128));
    assert.equal(
      flopsPerToken({ ...gru, cell: 'rnn', numLayers: 2 }, true),
      2 * 256 * 256 * 2 + 2 * 256 * 256,
    );
  });
});
