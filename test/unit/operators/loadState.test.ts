import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchError, EmptyError, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type {
  Batch,
  LoadedBatch,
  LoadedState,
  StoredState,
  TokenizedMessage,
} from '../../../core/contracts.js';
import { ConfigError, RnnstreamError } from '../../../core/errors.js';
import { loadState, splitBatch } from '../../../operators/loadState.js';

function msg(key: string, offset: string, partition = 0): TokenizedMessage {
  return {
    key,
    text: `${key}@${offset}`,
    end: false,
    tokens: Int32Array.from([1, 2]),
    record: { key: Buffer.from(key), value: null, source: { topic: 't', partition, offset } },
  };
}

function stored(partition: number, offset: string, totalTokens = 10): StoredState {
  return { state: { h: Float32Array.from([0.5]) }, fence: { partition, offset }, totalTokens, updatedAt: 1 };
}

const scheduler = () => new TestScheduler((a, e) => assert.deepStrictEqual(a, e));

describe('loadState', () => {
  it('loads each batch with one call of all its keys, in order, and splits rows by fence (marbles)', () => {
    const [a1, a2, b1] = [msg('a', '5'), msg('a', '6'), msg('b', '1')];
    const c1 = msg('c', '3');
    const batch0: Batch = {
      seq: 0,
      rows: [
        { key: 'a', messages: [a1, a2] },
        { key: 'b', messages: [b1] },
      ],
    };
    const batch1: Batch = { seq: 1, rows: [{ key: 'c', messages: [c1] }] };
    const calls: string[][] = [];
    scheduler().run(({ cold, expectObservable, flush }) => {
      const answers = [
        cold<Map<string, LoadedState>>('---(m|)', {
          m: new Map([['a', { kind: 'ok', stored: stored(0, '5') }]]),
        }),
        cold<Map<string, LoadedState>>('-(m|)', { m: new Map() }),
      ];
      const load = (keys: readonly string[]) => {
        calls.push([...keys]);
        return answers[calls.length - 1];
      };
      const out$ = cold('xy|', { x: batch0, y: batch1 }).pipe(loadState({ load }));
      // Batch 1 waits for batch 0's load (concatMap): loads are serial, answers in batch order.
      expectObservable(out$).toBe('---x(y|)', {
        x: {
          seq: 0,
          rows: [
            { key: 'a', messages: [a1, a2], previous: stored(0, '5'), replayed: [a1], fresh: [a2] },
            { key: 'b', messages: [b1], replayed: [], fresh: [b1] },
          ],
          dead: [],
        } satisfies LoadedBatch,
        y: { seq: 1, rows: [{ key: 'c', messages: [c1], replayed: [], fresh: [c1] }], dead: [] },
      });
      flush();
      assert.deepEqual(calls, [['a', 'b'], ['c']]);
    });
  });

  it('propagates load errors and source errors', () => {
    const batch: Batch = { seq: 0, rows: [{ key: 'a', messages: [msg('a', '1')] }] };
    scheduler().run(({ cold, expectObservable }) => {
      const failing = loadState({ load: () => cold('--#', {}, new Error('redis down')) });
      expectObservable(cold('x-x|', { x: batch }).pipe(failing)).toBe('--#', {}, new Error('redis down'));
      const ok = loadState({ load: async () => new Map() });
      expectObservable(cold<Batch>('-#', {}, new Error('upstream')).pipe(ok)).toBe(
        '-#',
        {},
        new Error('upstream'),
      );
    });
  });

  it('errors when load completes without an answer instead of dropping the batch', () => {
    const batch: Batch = { seq: 0, rows: [{ key: 'a', messages: [msg('a', '1')] }] };
    scheduler().run(({ cold, expectObservable }) => {
      const out$ = cold('x|', { x: batch }).pipe(
        loadState({ load: () => cold('-|') }),
        // EmptyError has an enumerable `stack`, so it is compared by class rather than deep-equality.
        catchError((e) => of(e instanceof EmptyError ? 'empty' : 'other')),
      );
      expectObservable(out$).toBe('-(e|)', { e: 'empty' });
    });
  });

  it('works with a Promise-returning load', async () => {
    const { lastValueFrom, of } = await import('rxjs');
    const batch: Batch = { seq: 3, rows: [{ key: 'a', messages: [msg('a', '1')] }] };
    const out = await lastValueFrom(of(batch).pipe(loadState({ load: async () => new Map() })));
    assert.deepEqual(out.rows[0].fresh, batch.rows[0].messages);
  });

  it('compares offsets as BigInt beyond 2^53', () => {
    // 2^53 + 3 and 2^53 + 4 are the same IEEE double: a Number comparison would call the fresh one a replay.
    const fence = '9007199254740995';
    const [replay, fresh] = [msg('a', '9007199254740995'), msg('a', '9007199254740996')];
    assert.equal(Number(fence), Number(fresh.record.source.offset));
    const out = splitBatch(
      { seq: 0, rows: [{ key: 'a', messages: [msg('a', '9007199254740994'), replay, fresh] }] },
      new Map([['a', { kind: 'ok', stored: stored(0, fence) }]]),
      'reset',
    );
    assert.deepEqual(
      out.rows[0].replayed.map((m) => m.record.source.offset),
      ['9007199254740994', '9007199254740995'],
    );
    assert.deepEqual(out.rows[0].fresh, [fresh]);
    // Lexicographic string order would get this one wrong ("10" < "9").
    const small = splitBatch(
      { seq: 0, rows: [{ key: 'a', messages: [msg('a', '10')] }] },
      new Map([['a', { kind: 'ok', stored: stored(0, '9') }]]),
      'reset',
    );
    assert.equal(small.rows[0].fresh.length, 1);
  });

  it('fences only messages of the fence partition', () => {
    const out = splitBatch(
      { seq: 0, rows: [{ key: 'a', messages: [msg('a', '3', 1), msg('a', '3', 0)] }] },
      new Map([['a', { kind: 'ok', stored: stored(0, '7') }]]),
      'reset',
    );
    assert.deepEqual(
      out.rows[0].fresh.map((m) => m.record.source.partition),
      [1],
    );
    assert.equal(out.rows[0].replayed.length, 1);
  });

  it('treats an ended tombstone as a fence, and fresh messages after it as a new sequence', () => {
    const [old, next] = [msg('a', '4'), msg('a', '8')];
    const out = splitBatch(
      { seq: 0, rows: [{ key: 'a', messages: [old, next] }] },
      new Map([['a', { kind: 'ended', fence: { partition: 0, offset: '4' } }]]),
      'fail',
    );
    assert.deepEqual(out.rows, [{ key: 'a', messages: [old, next], replayed: [old], fresh: [next] }]);
    assert.equal('previous' in out.rows[0], false, 'no previous state: the new sequence starts from zeros');
  });

  it("onBadState 'reset': a new sequence, counted, no dead letters", () => {
    const resets: string[] = [];
    const m = msg('a', '1');
    const out = splitBatch(
      { seq: 0, rows: [{ key: 'a', messages: [m] }] },
      new Map([['a', { kind: 'bad', reason: 'bad-checksum' }]]),
      'reset',
      (key, reason) => resets.push(`${key}:${reason}`),
    );
    assert.deepEqual(out.rows, [{ key: 'a', messages: [m], replayed: [], fresh: [m] }]);
    assert.deepEqual(out.dead, []);
    assert.deepEqual(resets, ['a:bad-checksum']);
  });

  it("onBadState 'dlq': the row's messages become state dead letters and the row is dropped", () => {
    const [a1, a2, b1] = [msg('a', '1'), msg('a', '2'), msg('b', '1')];
    const out = splitBatch(
      {
        seq: 0,
        rows: [
          { key: 'a', messages: [a1, a2] },
          { key: 'b', messages: [b1] },
        ],
      },
      new Map([['a', { kind: 'bad', reason: 'other-model' }]]),
      'dlq',
    );
    assert.deepEqual(
      out.rows.map((r) => r.key),
      ['b'],
    );
    assert.deepEqual(
      out.dead.map((d) => [d.record, d.stage, d.reason]),
      [
        [a1.record, 'state', 'other-model'],
        [a2.record, 'state', 'other-model'],
      ],
    );
  });

  it("onBadState 'fail': the stream errors naming the option, with the key and record as fields", () => {
    const batch: Batch = { seq: 0, rows: [{ key: 'a', messages: [msg('a', '7', 2), msg('a', '8', 2)] }] };
    const bad = new Map<string, LoadedState>([['a', { kind: 'bad', reason: 'truncated' }]]);
    const expected = new RnnstreamError(
      "stored state is unusable (truncated); set onBadState to 'reset' or 'dlq' to go on",
      { context: { topic: 't', partition: 2, offset: '7', key: 'a' } },
    );
    assert.throws(
      () => splitBatch(batch, bad, 'fail'),
      (e: unknown) => {
        assert.ok(e instanceof RnnstreamError);
        assert.match(e.message, /onBadState/);
        // The first message of the key's row is where the run stopped: its coordinates are the context.
        assert.deepStrictEqual(e.context, { topic: 't', partition: 2, offset: '7', key: 'a' });
        return true;
      },
    );
    scheduler().run(({ cold, expectObservable }) => {
      const out$ = cold('x|', { x: batch }).pipe(
        loadState({ load: () => cold('-(m|)', { m: bad }), onBadState: 'fail' }),
      );
      expectObservable(out$).toBe('-#', {}, expected);
    });
  });

  it('refuses an unknown onBadState', () => {
    assert.throws(
      () => loadState({ load: async () => new Map(), onBadState: 'skip' as 'reset' }),
      (e: unknown) => e instanceof ConfigError && /onBadState/.test(e.message),
    );
  });
});
