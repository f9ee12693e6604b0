import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import type { DeadLetter, Routed } from '../../../core/contracts.js';
import { routeDeadLetters } from '../../../operators/routeDeadLetters.js';

const scheduler = () => new TestScheduler((a, e) => assert.deepStrictEqual(a, e));

function dead(reason: string): DeadLetter {
  return {
    record: { key: null, value: null, source: { topic: 't', partition: 0, offset: '0' } },
    reason,
    stage: 'decode',
  };
}

describe('routeDeadLetters', () => {
  it('passes values on and hands dead letters to the sink, in order', () => {
    const sunk: string[] = [];
    scheduler().run(({ cold, expectObservable, flush }) => {
      const out$ = cold<Routed<number>>('a-x-b-y|', {
        a: { ok: true, value: 1 },
        b: { ok: true, value: 2 },
        x: { ok: false, dead: dead('x') },
        y: { ok: false, dead: dead('y') },
      }).pipe(routeDeadLetters((d) => sunk.push(d.reason)));
      expectObservable(out$).toBe('a---b--|', { a: 1, b: 2 });
      flush();
      assert.deepEqual(sunk, ['x', 'y']);
    });
  });

  it('propagates source errors and sink errors', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: { ok: true, value: 1 }, x: { ok: false, dead: dead('x') } } as const;
      expectObservable(cold<Routed<number>>('a-#', values).pipe(routeDeadLetters(() => {}))).toBe('a-#', {
        a: 1,
      });
      const failing = routeDeadLetters<number>(() => {
        throw new Error('queue full');
      });
      expectObservable(cold<Routed<number>>('a-x-a|', values).pipe(failing)).toBe(
        'a-#',
        { a: 1 },
        new Error('queue full'),
      );
    });
  });
});
