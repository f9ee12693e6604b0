import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Budget } from '../../../pipeline/budget.js';

/** Lets pending promise callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Budget', () => {
  it('counts messages and bytes and refuses what does not fit', () => {
    const budget = new Budget({ maxMessages: 3, maxBytes: 100 });
    assert.ok(budget.tryAcquire(1, 40));
    assert.ok(budget.tryAcquire(1, 40));
    assert.equal(budget.tryAcquire(1, 40), false, 'bytes over the limit');
    assert.ok(budget.tryAcquire(1, 20));
    assert.equal(budget.tryAcquire(1, 0), false, 'messages over the limit');
    assert.deepEqual([budget.messages, budget.bytes], [3, 100]);
    budget.release(2, 80);
    assert.deepEqual([budget.messages, budget.bytes], [1, 20]);
  });

  it('lets one oversized record through when nothing is in flight', () => {
    const budget = new Budget({ maxMessages: 10, maxBytes: 100 });
    assert.ok(budget.tryAcquire(1, 1000));
    assert.equal(budget.tryAcquire(1, 1), false);
  });

  it('acquire waits until a release makes room', async () => {
    const budget = new Budget({ maxMessages: 2 });
    await budget.acquire(1, 1);
    await budget.acquire(1, 1);
    let acquired = false;
    const pending = budget.acquire(1, 1).then(() => {
      acquired = true;
    });
    await flush();
    assert.equal(acquired, false);
    assert.equal(budget.waiting, 1);
    budget.release(1, 1);
    await pending;
    assert.equal(acquired, true);
    assert.equal(budget.messages, 2);
  });

  it('wakes waiters in turn: only those that fit get through', async () => {
    const budget = new Budget({ maxMessages: 1 });
    await budget.acquire(1, 1);
    const order: number[] = [];
    const a = budget.acquire(1, 1).then(() => order.push(1));
    const b = budget.acquire(1, 1).then(() => order.push(2));
    await flush();
    budget.release(1, 1);
    await flush();
    assert.equal(order.length, 1, 'one waiter got the single slot');
    assert.equal(budget.messages, 1);
    budget.release(1, 1);
    await Promise.all([a, b]);
    assert.equal(order.length, 2);
  });

  it('acquire rejects when its signal aborts, and forgets the waiter', async () => {
    const budget = new Budget({ maxMessages: 1 });
    await budget.acquire(1, 1);
    const controller = new AbortController();
    const pending = budget.acquire(1, 1, controller.signal);
    await flush();
    controller.abort(new Error('stopping'));
    await assert.rejects(pending, /stopping/);
    assert.equal(budget.waiting, 0);
    assert.equal(budget.messages, 1);
  });

  it('never goes below zero', () => {
    const budget = new Budget();
    budget.release(5, 500);
    assert.deepEqual([budget.messages, budget.bytes], [0, 0]);
  });

  it('validates its limits', () => {
    assert.throws(() => new Budget({ maxMessages: 0 }), /maxMessages must be a positive integer/);
    assert.throws(() => new Budget({ maxBytes: -1 }), /maxBytes must be a positive number/);
  });
});

describe('Budget.take (what every source waits on)', () => {
  it('waits for room: a release lets one taker through, an abort sends the other away with nothing', async () => {
    const budget = new Budget({ maxMessages: 1 });
    assert.equal(await budget.take(1, 0), true);
    const stopped = new AbortController();
    const results: string[] = [];
    const first = budget.take(1, 0).then((ok) => results.push(`first ${ok}`));
    const second = budget.take(1, 0, stopped.signal).then((ok) => results.push(`second ${ok}`));
    await flush();
    assert.deepEqual(results, [], 'no room: both wait');
    budget.release(1, 0);
    await first;
    await flush();
    assert.deepEqual(results, ['first true'], 'one record of room: the second still waits');
    stopped.abort();
    await second;
    assert.deepEqual(results, ['first true', 'second false']);
    assert.equal(budget.messages, 1, 'the aborted taker took nothing');
    assert.equal(budget.waiting, 0, 'the aborted wait left no waiter behind');
  });

  it('never takes once the signal is aborted, even with room', async () => {
    const budget = new Budget({ maxMessages: 5 });
    const stopped = new AbortController();
    stopped.abort();
    assert.equal(await budget.take(1, 0, stopped.signal), false);
    assert.equal(budget.messages, 0);
  });

  it('a reader taking under any limit never holds more than it, and reads everything once acks come', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 40 }),
        async (limit, records, ackSizes) => {
          const budget = new Budget({ maxMessages: limit });
          let read = 0;
          let most = 0;
          const reader = (async () => {
            for (let i = 0; i < records; i++) {
              assert.equal(await budget.take(1, 0), true);
              read++;
              most = Math.max(most, budget.messages);
            }
          })();
          // Acks of any size (never more than is in flight), in turns the reader interleaves with.
          for (let turn = 0; read < records || budget.messages > 0; turn++) {
            await flush();
            budget.release(Math.min(ackSizes[turn % ackSizes.length], budget.messages), 0);
          }
          await reader;
          assert.equal(read, records);
          assert.ok(most <= limit, `held ${most} with a limit of ${limit}`);
          assert.equal(budget.messages, 0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
