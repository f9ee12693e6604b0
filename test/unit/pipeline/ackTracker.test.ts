/**
 * AckTracker, alone and inside a model of what the pipeline does around it.
 *
 * The suspected commit stall (issue 14), settled: it happens. What the pipeline really does on a
 * rebalance (pipeline/kafka/source.ts `#onJoin`): a revoked partition's tracker becomes an orphan, but the
 * records already pushed keep flowing through the run loop (nothing drops them) and are completed
 * later; when the partition comes back, kafkajs fetches from the committed offset, so every record still
 * in flight from before is pushed — and registered — a second time. The micro-batcher's key gate does
 * not keep the two reads of one record apart: read before their first batch is emitted, they coalesce in
 * one row of one batch and complete together; and two records of different keys are not ordered at all,
 * so an offset whose key waits behind a slow batch lets the next one complete, be re-read and complete
 * again before it. With `done` a `Set` of offsets, two completions of one offset before its first read
 * reaches the head are one element: the first read is released, the second never is, and the partition
 * releases nothing after it again (its commits stall, and so does the source once its budget is spent:
 * the run loop acks only released positions). The
 * property below finds this within its first runs; the fixed tracker keys work by the registered
 * position object (each read of a record is its own entry) and abandons a forgotten partition's work.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import type { Batch, SourcePosition, TokenizedMessage } from '../../../core/contracts.js';
import { microBatch } from '../../../operators/microBatch.js';
import { AckTracker } from '../../../pipeline/ackTracker.js';

const pos = (offset: number, partition = 0, topic = 't'): SourcePosition => ({
  topic,
  partition,
  offset: String(offset),
});
const offsets = (positions: readonly SourcePosition[]) => positions.map((p) => Number(p.offset));

describe('AckTracker', () => {
  it('releases a partition contiguously, whatever order completions come in', () => {
    const tracker = new AckTracker();
    const [p0, p1, p2] = [pos(0), pos(1), pos(2)];
    const q0 = pos(7, 1);
    for (const p of [p0, p1, q0, p2]) tracker.register(p);
    assert.deepEqual(tracker.complete([p2, p1]), [], 'offset 0 is still in flight');
    assert.deepEqual(offsets(tracker.complete([q0])), [7], 'partitions are independent');
    assert.deepEqual(offsets(tracker.complete([p0])), [0, 1, 2]);
    assert.equal(tracker.size, 0);
  });

  it('ignores positions it does not track', () => {
    const tracker = new AckTracker();
    const p0 = pos(0);
    tracker.register(p0);
    assert.deepEqual(tracker.complete([pos(0, 3)]), []);
    assert.equal(tracker.size, 1);
    assert.deepEqual(offsets(tracker.complete([p0])), [0]);
  });

  it('releases both reads of an offset re-read after a rebalance (the stall of issue 14)', () => {
    // Offset 4 (key A) waits behind a slow batch of A; offset 5 (key B) completes, the partition is
    // revoked and comes back, 4 and 5 are read again, and the second 5 completes before the first 4.
    const tracker = new AckTracker();
    const [a4, b5] = [pos(4), pos(5)];
    tracker.register(a4);
    tracker.register(b5);
    assert.deepEqual(tracker.complete([b5]), []);
    const [a4again, b5again] = [pos(4), pos(5)];
    tracker.register(a4again);
    tracker.register(b5again);
    assert.deepEqual(tracker.complete([b5again]), []);
    assert.deepEqual(offsets(tracker.complete([a4])), [4, 5]);
    assert.deepEqual(offsets(tracker.complete([a4again])), [4, 5], 'the second read of 5 is released too');
    assert.equal(tracker.size, 0);
  });

  it('releases both reads of one record when they complete together (one row of one batch)', () => {
    const tracker = new AckTracker();
    const [first, second] = [pos(0), pos(0)];
    tracker.register(first);
    tracker.register(second);
    assert.deepEqual(tracker.complete([first, second]), [first, second]);
    assert.equal(tracker.size, 0);
  });

  it('forget abandons a revoked partition: its work is never released, its completions free budget', () => {
    const tracker = new AckTracker();
    const [p0, p1, p2] = [pos(0), pos(1), pos(2)];
    const other = pos(0, 1);
    for (const p of [p0, p1, p2, other]) tracker.register(p);
    assert.deepEqual(tracker.complete([p1]), []);
    tracker.forget([{ topic: 't', partition: 0 }]);
    assert.equal(tracker.size, 1, 'only the kept partition is in flight');
    assert.deepEqual(tracker.takeAbandoned(), [p1], 'p1 completed before the revocation');
    // The partition comes back: offsets 0.. are read again, and the old reads complete among them.
    const again = [pos(0), pos(1)];
    for (const p of again) tracker.register(p);
    assert.deepEqual(tracker.complete([p0, p2]), [], 'old reads release nothing');
    assert.deepEqual(tracker.takeAbandoned(), [p0, p2]);
    assert.deepEqual(tracker.takeAbandoned(), [], 'taken once');
    assert.deepEqual(tracker.complete(again), again);
    assert.deepEqual(tracker.complete([other]), [other]);
    assert.equal(tracker.size, 0);
  });

  it('a forgotten partition’s in-flight reads are never released, even when the same offsets come back', () => {
    const tracker = new AckTracker();
    const stale = [pos(10, 1), pos(11, 1)];
    for (const p of stale) tracker.register(p);
    tracker.forget([{ topic: 't', partition: 1 }]);
    assert.equal(tracker.size, 0);
    assert.ok(stale.every((p) => tracker.isAbandoned(p)));
    // The partition comes back and offset 10 is read again: the stale completion must not release it.
    const fresh = [pos(10, 1), pos(11, 1)];
    for (const p of fresh) tracker.register(p);
    assert.deepEqual(tracker.complete(stale), []);
    assert.deepEqual(tracker.takeAbandoned(), stale, 'their completions only give budget back');
    assert.equal(tracker.isAbandoned(fresh[0]), false);
    assert.deepEqual(tracker.complete([fresh[0]]), [fresh[0]]);
    assert.deepEqual(tracker.complete([fresh[1]]), [fresh[1]]);
  });

  it('refuses a position registered twice', () => {
    const tracker = new AckTracker();
    const p = pos(0);
    tracker.register(p);
    assert.throws(() => tracker.register(p), /registered twice/);
  });

  it('property: inside the key-gated pipeline, a partition revoked and re-assigned never stalls nor releases work before it is durable', () => {
    const action = fc.oneof(
      { weight: 4, arbitrary: fc.constant('read' as const) },
      { weight: 3, arbitrary: fc.constant('complete' as const) },
      { weight: 2, arbitrary: fc.constant('tick' as const) },
      { weight: 1, arbitrary: fc.constant('rebalance' as const) },
    );
    fc.assert(
      fc.property(
        fc.record({
          keys: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 12 }),
          maxRows: fc.integer({ min: 1, max: 3 }),
          maxInFlight: fc.integer({ min: 1, max: 3 }),
          /** Whether the run loop calls `forget` on revocation (the wiring the fix asks for). */
          forget: fc.boolean(),
          /** Records another worker committed while the partition was away (0: none). */
          movedOn: fc.array(fc.nat({ max: 3 }), { maxLength: 4 }),
          actions: fc.array(action, { maxLength: 80 }),
        }),
        (p) => simulate(p),
      ),
      { numRuns: 300 },
    );
  });
});

interface Scenario {
  keys: string[];
  maxRows: number;
  maxInFlight: number;
  forget: boolean;
  movedOn: number[];
  actions: ('read' | 'complete' | 'tick' | 'rebalance')[];
}

/**
 * One partition through the real micro-batcher (key gate, `maxInFlight`), with batches completed in seq
 * order as the run loop's `concatMap` stages do, and a Kafka source as pipeline/kafka/source.ts: it
 * commits the end of the released prefix, and after a revocation and re-assignment reads again from the
 * committed offset (or from where another worker left it) while the old reads are still in flight.
 */
function simulate(p: Scenario): void {
  const tracker = new AckTracker();
  const scheduler = new VirtualTimeScheduler();
  const input = new Subject<TokenizedMessage>();
  const completed$ = new Subject<Pick<Batch, 'seq'>>();
  const inFlight: Batch[] = [];
  input
    .pipe(
      microBatch({ maxRows: p.maxRows, maxDelayMs: 1, maxInFlight: p.maxInFlight, scheduler, completed$ }),
    )
    .subscribe((batch) => inFlight.push(batch));

  /** Per registered position: its generation (rebalances seen when it was read) and whether it completed. */
  const reads = new Map<SourcePosition, { generation: number; completed: boolean }>();
  const released = new Set<SourcePosition>();
  const abandoned = new Set<SourcePosition>();
  let generation = 0;
  let next = 0;
  let committed = 0;
  let moves = 0;

  const read = () => {
    if (next >= p.keys.length) return;
    const position = pos(next);
    reads.set(position, { generation, completed: false });
    tracker.register(position);
    const record = { key: null, value: null, source: position };
    input.next({ key: p.keys[next], text: '', end: false, record, tokens: new Int32Array(1) });
    next++;
  };
  const tick = () => {
    scheduler.maxFrames = scheduler.frame + 1;
    scheduler.flush();
    scheduler.frame = scheduler.maxFrames;
  };
  const completeOldest = () => {
    const batch = inFlight.shift();
    if (!batch) return;
    const positions = batch.rows.flatMap((row) => row.messages.map((m) => m.record.source));
    for (const position of positions) reads.get(position)!.completed = true;
    completed$.next({ seq: batch.seq });
    for (const position of tracker.complete(positions)) {
      const info = reads.get(position);
      assert.ok(info, 'a released position is one that was registered');
      assert.ok(!released.has(position), `offset ${position.offset} released twice`);
      // Durable before released: it, and every earlier read of its generation, completed.
      for (const [other, o] of reads) {
        if (o.generation === info.generation && BigInt(other.offset) <= BigInt(position.offset))
          assert.ok(o.completed, `offset ${position.offset} released while ${other.offset} is in flight`);
      }
      if (p.forget)
        assert.equal(info.generation, generation, 'work of a revoked partition is never released');
      released.add(position);
      committed = Math.max(committed, Number(position.offset) + 1);
    }
    for (const position of tracker.takeAbandoned()) abandoned.add(position);
  };
  const rebalance = () => {
    if (p.forget) tracker.forget([{ topic: 't', partition: 0 }]);
    for (const position of tracker.takeAbandoned()) abandoned.add(position);
    generation++;
    committed = Math.min(p.keys.length, committed + (p.movedOn[moves++ % (p.movedOn.length || 1)] ?? 0));
    next = committed;
  };

  for (const a of p.actions) {
    if (a === 'read') read();
    else if (a === 'complete') completeOldest();
    else if (a === 'tick') tick();
    else rebalance();
  }
  // Drain: read the rest, then let every batch go and complete.
  while (next < p.keys.length) read();
  // (Until every read completed: a forgotten read still pending in the batcher counts in no size.)
  const incomplete = () => [...reads.values()].some((r) => !r.completed);
  for (let guard = 0; guard < 10_000 && (inFlight.length > 0 || incomplete()); guard++) {
    tick();
    completeOldest();
  }
  assert.equal(inFlight.length, 0, 'every batch completed');
  assert.ok(!incomplete(), 'every read completed');
  assert.equal(tracker.size, 0, 'nothing left in flight: the partition did not stall');
  // Every read is accounted for once: released, or (forgotten) abandoned.
  for (const position of reads.keys()) {
    assert.ok(
      released.has(position) !== abandoned.has(position),
      `offset ${position.offset} released or abandoned`,
    );
  }
}
