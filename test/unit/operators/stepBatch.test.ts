import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type {
  LoadedBatch,
  LoadedRow,
  Prediction,
  SteppedBatch,
  StoredState,
  TokenizedMessage,
} from '../../../core/contracts.js';
import type { StepResult, StepRow } from '../../../model/types.js';
import { NON_FINITE_STATE, type StepBatchOptions, stepBatch } from '../../../operators/stepBatch.js';

function msg(key: string, offset: string, tokens: number[], end = false): TokenizedMessage {
  return {
    key,
    text: `${key}@${offset}`,
    end,
    tokens: Int32Array.from(tokens),
    record: { key: Buffer.from(key), value: null, source: { topic: 't', partition: 2, offset } },
  };
}

function stored(h: number, offset: string, totalTokens: number): StoredState {
  return {
    state: { h: Float32Array.from([h]), c: Float32Array.from([-h]) },
    fence: { partition: 2, offset },
    totalTokens,
    updatedAt: 0,
  };
}

function row(
  key: string,
  messages: TokenizedMessage[],
  previous?: StoredState,
  replayed: TokenizedMessage[] = [],
): LoadedRow {
  const r: LoadedRow = { key, messages: [...replayed, ...messages], replayed, fresh: messages };
  if (previous) r.previous = previous;
  return r;
}

/**
 * A deterministic fake of the engine, hidden size 1: h = incoming h + sum of the tokens so far, c = -h.
 * A token 999 produces NaN (a diverged network).
 */
function fakeStep(rows: StepRow[]): StepResult[] {
  return rows.map((r) => {
    const tokens = r.tokens ?? new Int32Array(0);
    const after: number[] = [r.state?.h[0] ?? 0];
    for (const t of tokens) after.push(t === 999 ? Number.NaN : after[after.length - 1] + t);
    const h = after[tokens.length];
    return {
      state: { h: Float32Array.from([h]), c: Float32Array.from([-h]) },
      last: Float32Array.from([h]),
      marked: (r.marks ?? []).map((m) => Float32Array.from([after[m]])),
    };
  });
}

const predict = (hs: Float32Array[]): Prediction[] =>
  hs.map((h) => ({ label: h[0] >= 0 ? 'positive' : 'negative', score: h[0], probs: [] }));

/** Runs one batch through stepBatch synchronously with the fake engine; returns the output and the step calls. */
function step(
  batch: LoadedBatch,
  options: Partial<StepBatchOptions> = {},
): { out: SteppedBatch; calls: StepRow[][] } {
  const calls: StepRow[][] = [];
  let out: SteppedBatch | undefined;
  let failure: unknown;
  of(batch)
    .pipe(
      stepBatch({
        step: (rows) => {
          calls.push(rows);
          return of(fakeStep(rows));
        },
        predict,
        now: () => 1234,
        ...options,
      }),
    )
    .subscribe({
      next: (b) => {
        out = b;
      },
      error: (e) => {
        failure = e;
      },
    });
  if (failure !== undefined) throw failure;
  assert.ok(out, 'stepBatch emitted synchronously');
  return { out, calls };
}

const summary = (out: SteppedBatch) =>
  out.results.map((r) => ({
    offset: r.message.record.source.offset,
    totalTokens: r.totalTokens,
    score: r.prediction?.score,
    replayed: r.replayed,
  }));

describe('stepBatch', () => {
  it('steps batches in order, one step call each (marbles)', () => {
    const a = msg('a', '1', [1, 2]);
    const b = msg('b', '1', [5]);
    const batch0: LoadedBatch = { seq: 0, rows: [row('a', [a])], dead: [] };
    const batch1: LoadedBatch = { seq: 1, rows: [row('b', [b])], dead: [] };
    new TestScheduler((x, y) => assert.deepStrictEqual(x, y)).run(({ cold, expectObservable }) => {
      const delays = ['---(r|)', '-(r|)'];
      let call = 0;
      const out$ = cold('xy|', { x: batch0, y: batch1 }).pipe(
        stepBatch({ step: (rows) => cold(delays[call++], { r: fakeStep(rows) }), now: () => 7 }),
      );
      expectObservable(out$).toBe('---x(y|)', {
        x: {
          seq: 0,
          writes: new Map([['a', { ...stored(3, '1', 2), updatedAt: 7 }]]),
          results: [{ message: a, totalTokens: 2, replayed: false }],
          dead: [],
        },
        y: {
          seq: 1,
          writes: new Map([['b', { ...stored(5, '1', 1), updatedAt: 7 }]]),
          results: [{ message: b, totalTokens: 1, replayed: false }],
          dead: [],
        },
      });
    });
  });

  it('propagates step errors', () => {
    const batch: LoadedBatch = { seq: 0, rows: [row('a', [msg('a', '1', [1])])], dead: [] };
    new TestScheduler((x, y) => assert.deepStrictEqual(x, y)).run(({ cold, expectObservable }) => {
      const out$ = cold('x-x|', { x: batch }).pipe(
        stepBatch({ step: () => cold('--#', {}, new Error('gpu lost')) }),
      );
      expectObservable(out$).toBe('--#', {}, new Error('gpu lost'));
    });
  });

  it('builds one step row per row: tokens concatenated, a mark per message, the previous state', () => {
    const [a1, a2, a3] = [msg('a', '5', [1, 2]), msg('a', '6', []), msg('a', '7', [3])];
    const b1 = msg('b', '1', [4]);
    const prev = stored(10, '4', 100);
    const { out, calls } = step({ seq: 0, rows: [row('a', [a1, a2, a3], prev), row('b', [b1])], dead: [] });
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0], [
      { tokens: Int32Array.from([1, 2, 3]), marks: [2, 2, 3], state: prev.state },
      { tokens: Int32Array.from([4]), marks: [1], state: null },
    ]);
    assert.deepEqual(summary(out), [
      { offset: '5', totalTokens: 102, score: 13, replayed: false },
      { offset: '6', totalTokens: 102, score: 13, replayed: false },
      { offset: '7', totalTokens: 103, score: 16, replayed: false },
      { offset: '1', totalTokens: 1, score: 4, replayed: false },
    ]);
    assert.deepEqual(out.writes.get('a'), {
      state: { h: Float32Array.from([16]), c: Float32Array.from([-16]) },
      fence: { partition: 2, offset: '7' },
      totalTokens: 103,
      updatedAt: 1234,
    });
    assert.equal(out.writes.get('b')?.totalTokens, 1);
  });

  it('ends a sequence at an end message: tombstone when it is last, zero state for the messages after it', () => {
    const prev = stored(10, '4', 100);
    const [a1, a2] = [msg('a', '5', [1]), msg('a', '6', [2], true)];
    const [b1, b2, b3] = [msg('b', '1', [3], true), msg('b', '2', [4]), msg('b', '3', [5])];
    const { out, calls } = step({
      seq: 0,
      rows: [row('a', [a1, a2], prev), row('b', [b1, b2, b3], prev)],
      dead: [],
    });
    assert.deepEqual(calls[0], [
      { tokens: Int32Array.from([1, 2]), marks: [1, 2], state: prev.state },
      { tokens: Int32Array.from([3]), marks: [1], state: prev.state },
      { tokens: Int32Array.from([4, 5]), marks: [1, 2], state: null },
    ]);
    assert.deepEqual(summary(out), [
      { offset: '5', totalTokens: 101, score: 11, replayed: false },
      { offset: '6', totalTokens: 102, score: 13, replayed: false },
      { offset: '1', totalTokens: 101, score: 13, replayed: false },
      { offset: '2', totalTokens: 1, score: 4, replayed: false },
      { offset: '3', totalTokens: 2, score: 9, replayed: false },
    ]);
    assert.equal(out.writes.get('a'), null, 'the ended sequence is deleted');
    assert.deepEqual(out.writes.get('b'), {
      state: { h: Float32Array.from([9]), c: Float32Array.from([-9]) },
      fence: { partition: 2, offset: '3' },
      totalTokens: 2,
      updatedAt: 1234,
    });
  });

  it('does not apply replayed messages again: they get the stored state, and mark 0 asks for it', () => {
    const prev = stored(10, '6', 100);
    const [r1, r2, f1] = [msg('a', '5', [7]), msg('a', '6', [8]), msg('a', '7', [1])];
    const onlyReplays = msg('b', '3', [9]);
    const { out, calls } = step({
      seq: 0,
      rows: [row('a', [f1], prev, [r1, r2]), row('b', [], stored(-2, '3', 5), [onlyReplays])],
      dead: [],
    });
    assert.deepEqual(calls[0], [
      { tokens: Int32Array.from([1]), marks: [0, 1], state: prev.state },
      { tokens: new Int32Array(0), marks: [0], state: stored(-2, '3', 5).state },
    ]);
    assert.deepEqual(summary(out), [
      { offset: '5', totalTokens: 100, score: 10, replayed: true },
      { offset: '6', totalTokens: 100, score: 10, replayed: true },
      { offset: '7', totalTokens: 101, score: 11, replayed: false },
      { offset: '3', totalTokens: 5, score: -2, replayed: true },
    ]);
    assert.deepEqual([...out.writes.keys()], ['a'], 'a replay-only row writes nothing');
    assert.equal(out.writes.get('a')?.fence.offset, '7');
  });

  it('replays guarded only by a tombstone have no state to score, and need no step', () => {
    const old = msg('a', '4', [1]);
    const { out, calls } = step({ seq: 0, rows: [row('a', [], undefined, [old])], dead: [] });
    assert.equal(calls.length, 0, 'no step call for a batch with nothing to step');
    assert.deepEqual(out.results, [{ message: old, totalTokens: 0, replayed: true }]);
    assert.equal(out.writes.size, 0);
  });

  it('turns a row with NaN/Inf into step dead letters and writes no state for it', () => {
    const [a1, a2] = [msg('a', '1', [1]), msg('a', '2', [999])];
    const b1 = msg('b', '1', [2]);
    const replay = msg('c', '1', [1]);
    const { out } = step({
      seq: 0,
      rows: [
        row('a', [a1, a2]),
        row('b', [b1]),
        row('c', [msg('c', '2', [999])], stored(1, '1', 1), [replay]),
      ],
      dead: [{ record: a1.record, reason: 'other-model', stage: 'state' }],
    });
    assert.deepEqual([...out.writes.keys()], ['b']);
    assert.deepEqual(
      out.results.map((r) => r.message),
      [b1, replay],
      'only the good row and the replay are emitted',
    );
    assert.deepEqual(
      out.dead.map((d) => [d.stage, d.reason, d.record.source.offset, d.detail]),
      [
        ['state', 'other-model', '1', undefined],
        ['step', NON_FINITE_STATE, '1', 'key a'],
        ['step', NON_FINITE_STATE, '2', 'key a'],
        ['step', NON_FINITE_STATE, '2', 'key c'],
      ],
    );
  });

  it('rejects an infinite cell state even when h is finite', () => {
    const a = msg('a', '1', [1]);
    const { out } = step(
      { seq: 0, rows: [row('a', [a])], dead: [] },
      {
        step: (rows) =>
          of(
            fakeStep(rows).map((r) => ({
              ...r,
              state: { h: r.state.h, c: Float32Array.from([Number.POSITIVE_INFINITY]) },
            })),
          ),
      },
    );
    assert.equal(out.writes.size, 0);
    assert.equal(out.dead[0].reason, NON_FINITE_STATE);
  });

  it('attaches embeddings only when asked, and predictions only with a head', () => {
    const a = msg('a', '1', [1, 2]);
    const batch: LoadedBatch = { seq: 0, rows: [row('a', [a])], dead: [] };
    const withEmbedding = step(batch, { emitEmbedding: true, predict: undefined }).out.results[0];
    assert.deepEqual(withEmbedding.embedding, Float32Array.from([3]));
    assert.equal(withEmbedding.prediction, undefined);
    const plain = step(batch).out.results[0];
    assert.equal(plain.embedding, undefined);
    assert.equal(plain.prediction?.label, 'positive');
  });

  it('errors when the engine returns the wrong number of results', () => {
    const batch: LoadedBatch = { seq: 0, rows: [row('a', [msg('a', '1', [1])])], dead: [] };
    assert.throws(() => step(batch, { step: () => of([]) }), /0 results for 1 rows/);
  });
});
