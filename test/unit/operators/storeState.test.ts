import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import type {
  StateWrite,
  SteppedBatch,
  StoredState,
  TokenizedMessage,
  WriteReport,
} from '../../../core/contracts.js';
import { storeState, toStateWrites } from '../../../operators/storeState.js';

function msg(key: string, offset: string, end = false): TokenizedMessage {
  return {
    key,
    text: 'x',
    end,
    tokens: Int32Array.from([1]),
    record: { key: Buffer.from(key), value: null, source: { topic: 't', partition: 1, offset } },
  };
}

function stored(offset: string): StoredState {
  return {
    state: { h: Float32Array.from([1]) },
    fence: { partition: 1, offset },
    totalTokens: 3,
    updatedAt: 9,
  };
}

/** Key a: state fenced at 8; key b: ended at its end message 4 (after a replay at 2); key c: replay only. */
function stepped(seq: number): SteppedBatch {
  return {
    seq,
    writes: new Map([
      ['a', stored('8')],
      ['b', null],
    ]),
    results: [
      { message: msg('a', '7'), totalTokens: 2, replayed: false },
      { message: msg('a', '8'), totalTokens: 3, replayed: false },
      { message: msg('b', '2'), totalTokens: 1, replayed: true },
      { message: msg('b', '3'), totalTokens: 2, replayed: false },
      { message: msg('b', '4', true), totalTokens: 3, replayed: false },
      { message: msg('c', '5'), totalTokens: 3, replayed: true },
    ],
    dead: [],
  };
}

const expectedWrites: StateWrite[] = [
  { key: 'a', fence: { partition: 1, offset: '8' }, stored: stored('8') },
  { key: 'b', fence: { partition: 1, offset: '4' }, stored: null },
];

describe('storeState', () => {
  it('writes each batch once, passing it on only after the write resolved, in order (marbles)', () => {
    const [b0, b1] = [stepped(0), stepped(1)];
    const calls: StateWrite[][] = [];
    new TestScheduler((x, y) => assert.deepStrictEqual(x, y)).run(({ cold, expectObservable, flush }) => {
      const report: WriteReport = { applied: 2, fenced: [] };
      const answers = ['--(r|)', '(r|)'];
      const out$ = cold('xy|', { x: b0, y: b1 }).pipe(
        storeState({
          write: (writes) => {
            calls.push(writes);
            return cold(answers[calls.length - 1], { r: report });
          },
        }),
      );
      expectObservable(out$).toBe('--(xy|)', { x: b0, y: b1 });
      flush();
      assert.deepEqual(calls, [expectedWrites, expectedWrites]);
    });
  });

  it('propagates write errors, and passes batches with nothing to write without calling write', () => {
    const empty: SteppedBatch = { seq: 0, writes: new Map(), results: [], dead: [] };
    new TestScheduler((x, y) => assert.deepStrictEqual(x, y)).run(({ cold, expectObservable }) => {
      const out$ = cold('ex|', { e: empty, x: stepped(1) }).pipe(
        storeState({
          write: (writes) =>
            writes.length === 0 ? assert.fail('no write') : cold('-#', {}, new Error('noscript')),
        }),
      );
      expectObservable(out$).toBe('e-#', { e: empty }, new Error('noscript'));
    });
  });

  it('reports keys the store fenced off', async () => {
    const { lastValueFrom, of } = await import('rxjs');
    const fenced: string[][] = [];
    const batch = stepped(0);
    const out = await lastValueFrom(
      of(batch).pipe(
        storeState({
          write: async () => ({ applied: 1, fenced: ['b'] }),
          onFenced: (keys, b) => {
            assert.equal(b, batch);
            fenced.push(keys);
          },
        }),
      ),
    );
    assert.equal(out, batch);
    assert.deepEqual(fenced, [['b']]);
  });

  it("fences a tombstone at the key's last fresh message", () => {
    assert.deepEqual(toStateWrites(stepped(0)), expectedWrites);
    const orphan: SteppedBatch = { seq: 0, writes: new Map([['z', null]]), results: [], dead: [] };
    assert.throws(() => toStateWrites(orphan), /key z/);
  });
});
