import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { WeightAverage, warmedDecay } from '../../../model/train/weightAverage.js';

describe('WeightAverage', () => {
  it('warms the decay up like TensorFlow’s num_updates, then holds it', () => {
    assert.equal(warmedDecay(0.999, 0), 0.1);
    assert.equal(warmedDecay(0.999, 8), 0.5);
    assert.equal(warmedDecay(0.9, 10_000), 0.9);
  });

  it('averages a weight’s path: a ← d·a + (1 − d)·w with the warmed decay', () => {
    const w = tf.variable(tf.tensor1d([0, 10]));
    const average = new WeightAverage([w], 0.5);
    let expected = [0, 10];
    for (const [step, next] of [
      [0, [4, 2]],
      [1, [8, -6]],
      [2, [1, 1]],
    ] as [number, number[]][]) {
      w.assign(tf.tensor1d(next));
      average.update();
      const d = warmedDecay(0.5, step);
      expected = expected.map((a, i) => d * a + (1 - d) * next[i]);
      const got = Array.from(average.values()[0]);
      for (const [i, v] of got.entries())
        assert.ok(Math.abs(v - expected[i]) < 1e-5, `step ${step}: ${got} vs ${expected}`);
    }
    // The variable itself is untouched by the average.
    assert.deepEqual(Array.from(w.dataSync()), [1, 1]);
    average.dispose();
    w.dispose();
  });

  it('refuses a decay outside (0, 1)', () => {
    const w = tf.variable(tf.scalar(1));
    assert.throws(() => new WeightAverage([w], 1), /decay must be in \(0, 1\)/);
    w.dispose();
  });
});
