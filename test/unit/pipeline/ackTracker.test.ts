import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckTracker } from '../../../pipeline/ackTracker.js';
import type { SourcePosition } from '../../../pipeline/types.js';

const at = (partition: number, offset: number): SourcePosition => ({
  topic: 't',
  partition,
  offset: String(offset),
});

describe('AckTracker', () => {
  it('releases the contiguous durable prefix per partition, in order', () => {
    const tracker = new AckTracker();
    const [a, b, c] = [at(0, 0), at(0, 1), at(0, 2)];
    for (const p of [a, b, c]) tracker.register(p);
    assert.deepEqual(tracker.complete([b]), []);
    assert.deepEqual(tracker.complete([a]), [a, b]);
    assert.equal(tracker.size, 1);
  });

  it('a forgotten partition’s in-flight positions are never released, even when the same offsets come back', () => {
    const tracker = new AckTracker();
    const stale = [at(1, 10), at(1, 11)];
    for (const p of stale) tracker.register(p);
    tracker.forget([{ topic: 't', partition: 1 }]);
    assert.equal(tracker.size, 0);
    assert.ok(stale.every((p) => tracker.isForgotten(p)));
    // The partition comes back and offset 10 is read again: the stale completion must not release it.
    const fresh = [at(1, 10), at(1, 11)];
    for (const p of fresh) tracker.register(p);
    assert.deepEqual(tracker.complete(stale), []);
    assert.equal(tracker.isForgotten(fresh[0]), false);
    assert.deepEqual(tracker.complete([fresh[0]]), [fresh[0]]);
    assert.deepEqual(tracker.complete([fresh[1]]), [fresh[1]]);
  });
});
