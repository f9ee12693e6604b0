import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Observable, Subject, VirtualTimeScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Batch, BatchRow, TokenizedMessage } from '../../../core/contracts.js';
import { ConfigError } from '../../../core/errors.js';
import type { BatchCostEstimate } from '../../../operators/batchCost.js';
import type { LatencyGoalMiss } from '../../../operators/latencyGoal.js';
import { microBatch } from '../../../operators/microBatch.js';

let nextOffset = 0;
/** A tokenized message of `key` with `tokens` token ids; offsets are unique so messages are distinguishable. */
function msg(key: string, tokens = 1): TokenizedMessage {
  const offset = String(nextOffset++);
  return {
    key,
    text: `${key}@${offset}`,
    end: false,
    tokens: new Int32Array(tokens).fill(7),
    record: { key: Buffer.from(key), value: null, source: { topic: 't', partition: 0, offset } },
  };
}

function batch(seq: number, ...rows: [string, ...TokenizedMessage[]][]): Batch {
  return { seq, rows: rows.map(([key, ...messages]): BatchRow => ({ key, messages })) };
}

const done = (seq: number): Batch => ({ seq, rows: [] });

/** A learned cost stand-in: the step costs `a + b·rows + c·tokens` ms, load, store and sink `l` ms each. */
function linearCost(a: number, b: number, c: number, l = 0): BatchCostEstimate {
  return {
    estimate: (rows, tokens) => ({ load: l, step: a + b * rows + c * tokens, store: l, sink: l, margin: 0 }),
  };
}

function run(
  callback: (helpers: Parameters<Parameters<TestScheduler['run']>[0]>[0], scheduler: TestScheduler) => void,
) {
  const scheduler = new TestScheduler((a, e) => assert.deepStrictEqual(a, e));
  scheduler.run((helpers) => callback(helpers, scheduler));
}

describe('microBatch', () => {
  it('emits when rows reach maxRows', () => {
    const [a, b, c, d] = [msg('k1'), msg('k2'), msg('k3'), msg('k4')];
    run(({ cold, hot, expectObservable }, scheduler) => {
      const out$ = cold('abcd|', { a, b, c, d }).pipe(
        microBatch({ maxRows: 2, maxDelayMs: 100, scheduler, completed$: hot<Batch>('-') }),
      );
      expectObservable(out$).toBe('-x-y|', {
        x: batch(0, ['k1', a], ['k2', b]),
        y: batch(1, ['k3', c], ['k4', d]),
      });
    });
  });

  it('emits when tokens reach maxTokens, never letting a second message push a batch over it', () => {
    const [a, b, c, d] = [msg('k1', 3), msg('k2', 2), msg('k3', 4), msg('k4', 3)];
    run(({ cold, hot, expectObservable }, scheduler) => {
      const out$ = cold('abcd|', { a, b, c, d }).pipe(
        microBatch({ maxTokens: 5, maxDelayMs: 100, scheduler, completed$: hot<Batch>('-') }),
      );
      expectObservable(out$).toBe('-x-y(z|)', {
        x: batch(0, ['k1', a], ['k2', b]),
        y: batch(1, ['k3', c]),
        z: batch(2, ['k4', d]),
      });
    });
  });

  it('emits a single oversized message alone', () => {
    const [a, b] = [msg('k1', 1), msg('k2', 50)];
    run(({ cold, hot, expectObservable }, scheduler) => {
      const out$ = cold('ab---|', { a, b }).pipe(
        microBatch({ maxTokens: 10, maxDelayMs: 100, scheduler, completed$: hot<Batch>('-') }),
      );
      expectObservable(out$).toBe('-(xy)|', { x: batch(0, ['k1', a]), y: batch(1, ['k2', b]) });
    });
  });

  it('emits maxDelayMs after the first message of a batch (virtual time)', () => {
    const [a, b, c] = [msg('k1'), msg('k2'), msg('k3')];
    run(({ cold, hot, expectObservable }, scheduler) => {
      const out$ = cold('a-b-----c|', { a, b, c }).pipe(
        microBatch({ maxDelayMs: 3, scheduler, completed$: hot<Batch>('-') }),
      );
      expectObservable(out$).toBe('---x-----(z|)', {
        x: batch(0, ['k1', a], ['k2', b]),
        z: batch(1, ['k3', c]),
      });
    });
  });

  it('coalesces messages of one key into one row in arrival order', () => {
    const [a1, b1, a2, c1, d1] = [msg('a'), msg('b'), msg('a'), msg('c'), msg('d')];
    run(({ cold, hot, expectObservable }, scheduler) => {
      const out$ = cold('vwxyz|', { v: a1, w: b1, x: a2, y: c1, z: d1 }).pipe(
        microBatch({ maxRows: 3, maxDelayMs: 100, scheduler, completed$: hot<Batch>('-') }),
      );
      expectObservable(out$).toBe('---x-(y|)', {
        x: batch(0, ['a', a1, a2], ['b', b1], ['c', c1]),
        y: batch(1, ['d', d1]),
      });
    });
  });

  it('holds a message back while its key is in flight, until completed$ signals that batch', () => {
    const [a, b, c] = [msg('k1'), msg('k1'), msg('k2')];
    run(({ cold, hot, expectObservable }, scheduler) => {
      const completed$ = hot<Batch>('--------s', { s: done(0) });
      const out$ = cold('a--b-c------|', { a, b, c }).pipe(
        microBatch({ maxDelayMs: 1, scheduler, completed$ }),
      );
      expectObservable(out$).toBe('-x----y--z--|', {
        x: batch(0, ['k1', a]),
        y: batch(1, ['k2', c]),
        z: batch(2, ['k1', b]),
      });
    });
  });

  it('lets released messages join the next batch being collected, ahead of later messages of their key', () => {
    const [a, b, c, d] = [msg('k1'), msg('k1'), msg('k2'), msg('k1')];
    // Batch 0 = [a] at 3; b (4) waits; completion at 5 releases b; c (6) and d (7) join b's batch, flushed at 5+3.
    run(({ cold, hot, expectObservable }, scheduler) => {
      const completed$ = hot<Batch>('-----s', { s: done(0) });
      const out$ = cold('a---b-cd-----|', { a, b, c, d }).pipe(
        microBatch({ maxDelayMs: 3, scheduler, completed$ }),
      );
      expectObservable(out$).toBe('---x----y----|', {
        x: batch(0, ['k1', a]),
        y: batch(1, ['k1', b, d], ['k2', c]),
      });
    });
  });

  it('holds back a message whose key a token-limit flush just put in flight', () => {
    const [a, b] = [msg('k1', 3), msg('k1', 3)];
    run(({ cold, hot, expectObservable }, scheduler) => {
      const completed$ = hot<Batch>('-----s', { s: done(0) });
      const out$ = cold('ab|', { a, b }).pipe(
        microBatch({ maxTokens: 5, maxDelayMs: 100, scheduler, completed$ }),
      );
      expectObservable(out$).toBe('-x---(y|)', { x: batch(0, ['k1', a]), y: batch(1, ['k1', b]) });
    });
  });

  it('flushes on completion and completes once held-back messages are flushed', () => {
    const [a, b] = [msg('k1'), msg('k1')];
    run(({ cold, hot, expectObservable }, scheduler) => {
      const completed$ = hot<Batch>('------s', { s: done(0) });
      const out$ = cold('a-b|', { a, b }).pipe(microBatch({ maxDelayMs: 1, scheduler, completed$ }));
      expectObservable(out$).toBe('-x----(y|)', { x: batch(0, ['k1', a]), y: batch(1, ['k1', b]) });
    });
  });

  it('completes at once on an empty source, and ignores unknown or repeated completions', () => {
    const a = msg('k1');
    run(({ cold, hot, expectObservable }, scheduler) => {
      expectObservable(
        cold<TokenizedMessage>('--|').pipe(microBatch({ scheduler, completed$: hot<Batch>('-') })),
      ).toBe('--|');
      const completed$ = hot<Batch>('-uu', { u: done(42) });
      expectObservable(cold('a---|', { a }).pipe(microBatch({ maxDelayMs: 1, scheduler, completed$ }))).toBe(
        '-x--|',
        { x: batch(0, ['k1', a]) },
      );
    });
  });

  it('propagates source errors and completed$ errors', () => {
    const a = msg('k1');
    run(({ cold, hot, expectObservable }, scheduler) => {
      const out1$ = cold('a--#', { a }, new Error('source')).pipe(
        microBatch({ maxDelayMs: 1, scheduler, completed$: hot<Batch>('-') }),
      );
      expectObservable(out1$).toBe('-x-#', { x: batch(0, ['k1', a]) }, new Error('source'));
      const completed$ = hot<Batch>('--#', {}, new Error('completions'));
      const out2$ = cold('a----|', { a }).pipe(microBatch({ maxDelayMs: 1, scheduler, completed$ }));
      expectObservable(out2$).toBe('-x#', { x: batch(0, ['k1', a]) }, new Error('completions'));
    });
  });

  it('errors when completed$ completes while messages are held back (they could never be released)', () => {
    const [a, b] = [msg('k1'), msg('k1')];
    run(({ cold, hot, expectObservable }, scheduler) => {
      const out$ = cold('a-b----|', { a, b }).pipe(
        microBatch({ maxDelayMs: 1, scheduler, completed$: hot<Batch>('---|') }),
      );
      expectObservable(out$).toBe(
        '-x-#',
        { x: batch(0, ['k1', a]) },
        new Error('microBatch: completed$ ended with 1 keys held back'),
      );
    });
  });

  it('unsubscribes its timer, source and completed$ on teardown', () => {
    run(({ cold, hot, expectObservable, expectSubscriptions }, scheduler) => {
      const source = cold('a---', { a: msg('k1') });
      const completed$ = hot<Batch>('-');
      expectObservable(source.pipe(microBatch({ maxDelayMs: 5, scheduler, completed$ })), '--!').toBe('---');
      expectSubscriptions(source.subscriptions).toBe('^-!');
      expectSubscriptions(completed$.subscriptions).toBe('^-!');
    });
  });

  it('maxInFlight: a due batch waits for room and keeps filling, so batches grow under load', () => {
    const [a, b, c] = [msg('k1'), msg('k2'), msg('k3')];
    run(({ cold, hot, expectObservable }, scheduler) => {
      // Batch 0 at 1; b's batch is due at 3 but batch 0 is in flight; c joins it; room at 5.
      const completed$ = hot<Batch>('-----s', { s: done(0) });
      const out$ = cold('a-b-c---|', { a, b, c }).pipe(
        microBatch({ maxDelayMs: 1, maxInFlight: 1, scheduler, completed$ }),
      );
      expectObservable(out$).toBe('-x---y--|', {
        x: batch(0, ['k1', a]),
        y: batch(1, ['k2', b], ['k3', c]),
      });
    });
  });

  it("maxInFlight: a full batch waiting for room still takes its keys' messages; new keys park in order", () => {
    const [a, b, c, d, e, f, g] = [
      msg('k1'),
      msg('k2'),
      msg('k3'),
      msg('k4'),
      msg('k5'),
      msg('k3'),
      msg('k4'),
    ];
    run(({ cold, hot, expectObservable }, scheduler) => {
      // Batch 0 = [a, b] (full) at 1. [c, d] is full at 5 and waits; e (a new key) parks; f joins k3's row.
      // Room at 8: [c f, d] goes, e starts the next batch; g's key is now in flight, so g parks until 10.
      const completed$ = hot<Batch>('--------s-t', { s: done(0), t: done(1) });
      const out$ = cold('ab-c-def-g---|', { a, b, c, d, e, f, g }).pipe(
        microBatch({ maxRows: 2, maxDelayMs: 1, maxInFlight: 1, scheduler, completed$ }),
      );
      expectObservable(out$).toBe('-x------y-z--|', {
        x: batch(0, ['k1', a], ['k2', b]),
        y: batch(1, ['k3', c, f], ['k4', d]),
        z: batch(2, ['k5', e], ['k4', g]),
      });
    });
  });

  it('latency goal: emits as soon as waiting longer would miss the goal (virtual time)', () => {
    const [a, b, c] = [msg('k1'), msg('k2'), msg('k3')];
    run(({ cold, hot, expectObservable }, scheduler) => {
      // Step = 1 + rows ms, goal 6 ms from a's arrival at 0: a alone could wait until 4, with b until 3;
      // with c (at 2) the batch takes 4 ms, so it must go at 2. Without the goal it would wait until 9.
      const out$ = cold('abc------|', { a, b, c }).pipe(
        microBatch({
          maxDelayMs: 100,
          latencyGoal: { targetMs: 6, cost: linearCost(1, 1, 0) },
          scheduler,
          completed$: hot<Batch>('-'),
        }),
      );
      expectObservable(out$).toBe('--x------|', { x: batch(0, ['k1', a], ['k2', b], ['k3', c]) });
    });
  });

  it('latency goal: a message that would make the batch miss goes to the next batch; overload is reported', () => {
    const [a, b, c, d] = [msg('k1', 3), msg('k2', 4), msg('k3', 5), msg('k4', 1)];
    const misses: LatencyGoalMiss[] = [];
    run(({ cold, hot, expectObservable }, scheduler) => {
      // Step = tokens ms, goal 10 ms. a + b (7 ms) meet it, c would make 12: [a, b] goes at once. c's batch
      // waits behind it on the engine (done at 12 whatever it holds): overloaded, so it grows (d joins) and
      // goes at max-delay (10), reported as predicted done at 10 + 6 = 16 ms after c arrived.
      const out$ = cold('(abc)d------|', { a, b, c, d }).pipe(
        microBatch({
          maxDelayMs: 10,
          latencyGoal: { targetMs: 10, cost: linearCost(0, 0, 1), onOverload: (m) => misses.push(m) },
          scheduler,
          completed$: hot<Batch>('-'),
        }),
      );
      expectObservable(out$).toBe('x---------y-|', {
        x: batch(0, ['k1', a], ['k2', b]),
        y: batch(1, ['k3', c], ['k4', d]),
      });
    });
    assert.deepEqual(misses, [{ seq: 1, rows: 2, tokens: 6, predictedMs: 16, targetMs: 10 }]);
  });

  it('latency goal: a batch waiting for room stops taking messages that would make it miss', () => {
    const [a, b, c] = [msg('k1', 4), msg('k2', 2), msg('k3', 2)];
    run(({ cold, hot, expectObservable }, scheduler) => {
      // Step = tokens ms, maxInFlight 1: [a] is predicted in flight until 4. b's batch (at 2) waits for
      // room; with c (at 3) it would be done at 4 + 4 = 8 > 2 + 5, alone at 6: c parks for the next batch.
      const completed$ = hot<Batch>('----s-t', { s: done(0), t: done(1) });
      const out$ = cold('a-bc----|', { a, b, c }).pipe(
        microBatch({
          maxDelayMs: 0,
          maxInFlight: 1,
          latencyGoal: { targetMs: 5, cost: linearCost(0, 0, 1) },
          scheduler,
          completed$,
        }),
      );
      expectObservable(out$).toBe('x---y-z-|', {
        x: batch(0, ['k1', a]),
        y: batch(1, ['k2', b]),
        z: batch(2, ['k3', c]),
      });
    });
  });

  it('written$: room is given back when the outputs are written, keys when the state is stored', () => {
    const [a, b, c] = [msg('k1'), msg('k2'), msg('k1')];
    run(({ cold, hot, expectObservable }, scheduler) => {
      // maxInFlight 1: [a] stored at 2 (k1 free again), written at 5. b (at 1) and c (at 3) wait for the room.
      const completed$ = hot<Batch>('--s', { s: done(0) });
      const written$ = hot<Batch>('-----w', { w: done(0) });
      const out$ = cold('ab-c----|', { a, b, c }).pipe(
        microBatch({ maxDelayMs: 0, maxInFlight: 1, scheduler, completed$, written$ }),
      );
      expectObservable(out$).toBe('x----y--|', { x: batch(0, ['k1', a]), y: batch(1, ['k2', b], ['k1', c]) });
    });
  });

  it('latency goal: reports how long a held-back message waited', () => {
    const [a, b] = [msg('k1'), msg('k1')];
    const held: [string, number][] = [];
    run(({ cold, hot, expectObservable }, scheduler) => {
      const completed$ = hot<Batch>('-----s', { s: done(0) });
      const out$ = cold('a-b-----|', { a, b }).pipe(
        microBatch({ maxDelayMs: 0, scheduler, completed$, onUnparked: (m, ms) => held.push([m.text, ms]) }),
      );
      expectObservable(out$).toBe('x----y--|', { x: batch(0, ['k1', a]), y: batch(1, ['k1', b]) });
    });
    assert.deepEqual(held, [[b.text, 3]]);
  });

  it('refuses bad options with a message naming the option', () => {
    const completed$ = new Subject<Batch>();
    assert.throws(
      () => microBatch({ maxRows: 0, completed$ }),
      (e: unknown) => e instanceof ConfigError && /maxRows/.test(e.message),
    );
    assert.throws(() => microBatch({ maxTokens: 1.5, completed$ }), /maxTokens/);
    assert.throws(() => microBatch({ maxDelayMs: -1, completed$ }), /maxDelayMs/);
    assert.throws(() => microBatch({ maxInFlight: 0, completed$ }), /maxInFlight/);
    assert.throws(() => microBatch({ maxInFlight: 1.5, completed$ }), /maxInFlight/);
    const cost = linearCost(0, 0, 0);
    assert.throws(
      () => microBatch({ latencyGoal: { targetMs: 0, cost }, completed$ }),
      /latencyGoal.targetMs/,
    );
  });

  it('property: exactly once, per-key order, no key in two in-flight batches, limits hold (goal, written$ or not)', () => {
    const event = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('msg' as const),
          key: fc.constantFrom('a', 'b', 'c', 'd'),
          tokens: fc.integer({ min: 0, max: 5 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('write' as const), pick: fc.nat() }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 4 }) }),
      },
    );
    fc.assert(
      fc.property(
        fc.record({
          maxRows: fc.integer({ min: 1, max: 4 }),
          maxTokens: fc.integer({ min: 1, max: 12 }),
          maxDelayMs: fc.integer({ min: 0, max: 3 }),
          maxInFlight: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
          goal: fc.option(
            fc.record({
              targetMs: fc.integer({ min: 1, max: 12 }),
              a: fc.integer({ min: 0, max: 3 }),
              b: fc.integer({ min: 0, max: 3 }),
              c: fc.integer({ min: 0, max: 2 }),
              l: fc.integer({ min: 0, max: 2 }),
            }),
            { nil: undefined },
          ),
          syncCompletion: fc.boolean(),
          /** Room is given back on `written$` (after completion), not on `completed$`. */
          written: fc.boolean(),
          events: fc.array(event, { maxLength: 60 }),
          drainPicks: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
        }),
        (p) => {
          const scheduler = new VirtualTimeScheduler();
          const source = new Subject<TokenizedMessage>();
          const completed = new Subject<Batch>();
          const written = new Subject<Batch>();
          const inFlight = new Map<number, Batch>();
          /** Completed batches whose outputs are not written yet (they still hold room with `written`). */
          const unwritten = new Map<number, Batch>();
          const emitted: Batch[] = [];
          const sent: TokenizedMessage[] = [];
          let finished = false;
          const violations: string[] = [];
          const complete = (pick: number) => {
            const seqs = [...inFlight.keys()];
            if (seqs.length === 0) return;
            const seq = seqs[pick % seqs.length];
            const b = inFlight.get(seq)!;
            inFlight.delete(seq);
            if (p.written) unwritten.set(seq, b);
            completed.next(b);
          };
          const write = (pick: number) => {
            const seqs = [...unwritten.keys()];
            if (seqs.length === 0) return;
            const b = unwritten.get(seqs[pick % seqs.length])!;
            unwritten.delete(b.seq);
            written.next(b);
          };
          const advance = (ms: number) => {
            scheduler.maxFrames = scheduler.frame + ms;
            scheduler.flush();
            scheduler.frame = scheduler.maxFrames;
          };
          const batches$: Observable<Batch> = source.pipe(
            microBatch({
              maxRows: p.maxRows,
              maxTokens: p.maxTokens,
              maxDelayMs: p.maxDelayMs,
              maxInFlight: p.maxInFlight,
              latencyGoal: p.goal && {
                targetMs: p.goal.targetMs,
                cost: linearCost(p.goal.a, p.goal.b, p.goal.c, p.goal.l),
                onOverload: (miss) => {
                  if (!(miss.predictedMs > miss.targetMs))
                    violations.push(`overload ${miss.seq} meets the goal`);
                },
              },
              scheduler,
              completed$: completed,
              written$: p.written ? written : undefined,
            }),
          );
          batches$.subscribe({
            next: (b) => {
              // Collected, not thrown: an error thrown in `next` would be reported asynchronously by RxJS.
              const check = (ok: boolean, what: string) => {
                if (!ok) violations.push(`batch ${b.seq}: ${what}`);
              };
              const keys = b.rows.map((r) => r.key);
              check(new Set(keys).size === keys.length, 'one row per key');
              check(b.rows.length <= p.maxRows, 'maxRows');
              check(
                b.rows.every((r) => r.messages.length > 0),
                'no empty row',
              );
              const messages = b.rows.flatMap((r) => r.messages);
              const tokens = messages.reduce((s, m) => s + m.tokens.length, 0);
              check(messages.length === 1 || tokens <= p.maxTokens, 'maxTokens');
              for (const other of inFlight.values()) {
                for (const row of other.rows)
                  check(!keys.includes(row.key), `key ${row.key} in two in-flight batches`);
              }
              check(b.seq === emitted.length, 'seq counts from 0');
              check(
                inFlight.size + unwritten.size < (p.maxInFlight ?? Number.POSITIVE_INFINITY),
                'maxInFlight',
              );
              emitted.push(b);
              inFlight.set(b.seq, b);
              if (p.syncCompletion) {
                complete(b.seq);
                write(b.seq);
              }
            },
            error: (e) => violations.push(`error: ${e}`),
            complete: () => {
              finished = true;
            },
          });
          for (const e of p.events) {
            if (e.kind === 'msg') {
              const m = msg(e.key, e.tokens);
              sent.push(m);
              source.next(m);
            } else if (e.kind === 'complete') complete(e.pick);
            else if (e.kind === 'write') write(e.pick);
            else advance(e.ms);
          }
          source.complete();
          for (let i = 0; !finished && violations.length === 0; i++) {
            assert.ok(inFlight.size + unwritten.size > 0, 'stuck: not complete and nothing in flight');
            const pick = p.drainPicks[i % p.drainPicks.length];
            if (unwritten.size > 0 && (inFlight.size === 0 || pick % 2 === 0)) write(pick);
            else complete(pick);
          }
          assert.deepEqual(violations, []);
          const out = emitted.flatMap((b) => b.rows.flatMap((r) => r.messages));
          assert.equal(out.length, sent.length, 'every message comes out');
          assert.equal(new Set(out).size, out.length, 'exactly once');
          for (const key of ['a', 'b', 'c', 'd']) {
            assert.deepEqual(
              out.filter((m) => m.key === key),
              sent.filter((m) => m.key === key),
              `order of key ${key}`,
            );
          }
        },
      ),
      { numRuns: 600 },
    );
  });
});
