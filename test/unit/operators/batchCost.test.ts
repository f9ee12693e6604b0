import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchCostModel, LinearCost } from '../../../operators/batchCost.js';

const near = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} is not within ${tolerance} of ${expected}`,
  );

describe('BatchCostModel', () => {
  it('predicts nothing before it has measured a stage', () => {
    const costs = new BatchCostModel();
    assert.deepEqual(costs.estimate(100, 2000), { load: 0, step: 0, store: 0, sink: 0, margin: 0 });
    costs.observe('step', 10, 200, 5);
    assert.equal(costs.estimate(10, 200).load, 0);
    assert.equal(costs.observations('step'), 1);
  });

  it('learns the step as a + b·rows + c·tokens and the other stages as a + b·rows', () => {
    const costs = new BatchCostModel({ margin: 0 });
    const step = (rows: number, tokens: number) => 2 + 0.05 * rows + 0.004 * tokens;
    for (let i = 0; i < 200; i++) {
      const rows = 1 + ((i * 37) % 500);
      const tokens = rows * (5 + (i % 40));
      costs.observe('step', rows, tokens, step(rows, tokens));
      costs.observe('store', rows, tokens, 1 + 0.01 * rows);
    }
    const at = costs.estimate(800, 24_000);
    near(at.step, step(800, 24_000), 0.05, 'step extrapolated');
    near(at.store, 1 + 0.01 * 800, 0.05, 'store extrapolated');
  });

  it('follows a change of speed (forgets old measurements)', () => {
    const costs = new BatchCostModel({ margin: 0, decay: 0.1 });
    for (let i = 0; i < 100; i++) costs.observe('load', 100 + (i % 7), 0, 10);
    for (let i = 0; i < 100; i++) costs.observe('load', 100 + (i % 7), 0, 2);
    near(costs.estimate(103, 0).load, 2, 0.1, 'load after the change');
  });

  it('gives a margin of residuals for noisy stages, so the plan is for a high quantile', () => {
    const plain = new BatchCostModel({ margin: 0 });
    const careful = new BatchCostModel({ margin: 2 });
    for (let i = 0; i < 200; i++) {
      const ms = 10 + (i % 2 === 0 ? 3 : -3);
      plain.observe('sink', 50, 0, ms);
      careful.observe('sink', 50, 0, ms);
    }
    near(plain.estimate(50, 0).sink, 10, 1, 'mean');
    assert.equal(plain.estimate(50, 0).margin, 0);
    near(careful.estimate(50, 0).sink, 10, 1, 'mean with a margin');
    // Residuals of ±3 ms: a margin of about 2 × 3 ms.
    near(careful.estimate(50, 0).margin, 6, 1, 'margin');
  });

  it('never predicts a negative time, and refuses bad options', () => {
    const costs = new BatchCostModel({ margin: 0 });
    costs.observe('sink', 100, 0, 10);
    costs.observe('sink', 200, 0, 1);
    assert.ok(costs.estimate(5000, 0).sink >= 0);
    assert.throws(() => new BatchCostModel({ decay: 0 }), /decay/);
    assert.throws(() => new BatchCostModel({ margin: -1 }), /margin/);
  });

  it('LinearCost ignores non-finite measurements', () => {
    const fit = new LinearCost(2, 0.05);
    fit.observe([1, 1], Number.NaN);
    assert.equal(fit.observations, 0);
  });
});
