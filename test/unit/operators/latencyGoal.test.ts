import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchCostEstimate } from '../../../operators/batchCost.js';
import { LatencyPlan } from '../../../operators/latencyGoal.js';

/** Load 1 ms, step = rows ms, store 2 ms, sink 3 ms, margin 5 ms. */
const cost: BatchCostEstimate = {
  estimate: (rows) => ({ load: 1, step: rows, store: 2, sink: 3, margin: 5 }),
};

describe('LatencyPlan', () => {
  it('an idle engine: load, step, store, sink and the margin once', () => {
    assert.equal(new LatencyPlan(cost, 2).doneAt(100, 10, 0), 100 + 1 + 10 + 2 + 3 + 5);
  });

  it('a batch queues behind the in-flight steps (planned on their means), and waits for room', () => {
    const plan = new LatencyPlan(cost, 2);
    plan.emitted(0, 0, 10, 0); // steps 1 → 11, stored at 13
    // Behind it on the engine: steps 11 → 15.
    assert.equal(plan.doneAt(0, 4, 0), 15 + 2 + 3 + 5);
    plan.emitted(1, 0, 4, 0); // steps 11 → 15, stored at 17
    // Two in flight: room at 13 (the first stored), then its load; the engine is free at 15.
    assert.equal(plan.doneAt(0, 1, 0), 16 + 2 + 3 + 5);
    // Both done early: the engine is idle from then on.
    for (const [seq, at] of [
      [0, 5],
      [1, 6],
    ]) {
      plan.stored(seq, at);
      plan.roomFreed(seq);
    }
    assert.equal(plan.doneAt(6, 1, 0), 6 + 1 + 1 + 2 + 3 + 5);
  });
});
