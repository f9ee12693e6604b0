import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import type { DeadLetter, InputMessage, Routed } from '../../../core/contracts.js';
import { PoisonInputError } from '../../../core/errors.js';
import { tokenizeMessages } from '../../../operators/tokenizeMessages.js';

function input(text: string, offset: string): InputMessage {
  return {
    key: 'k',
    text,
    end: false,
    record: { key: null, value: null, source: { topic: 't', partition: 0, offset } },
  };
}

/** A toy tokenizer: one id per word (its length); refuses "poison", crashes on "bug". */
function tokenize(text: string): Int32Array {
  if (text.includes('poison')) throw new PoisonInputError('too-many-tokens', 'text is poison');
  if (text.includes('bug')) throw new TypeError('tokenizer bug');
  return Int32Array.from(text.split(' ').map((w) => w.length));
}

const scheduler = () => new TestScheduler((a, e) => assert.deepStrictEqual(a, e));

describe('tokenizeMessages', () => {
  it('adds tokens, turns PoisonInputError into a tokenize dead letter, passes dead letters through', () => {
    const a = input('ab c', '1');
    const p = input('poison', '2');
    const earlier: DeadLetter = { record: a.record, reason: 'invalid-json', stage: 'decode' };
    scheduler().run(({ cold, expectObservable }) => {
      const out$ = cold<Routed<InputMessage>>('a-p-d|', {
        a: { ok: true, value: a },
        p: { ok: true, value: p },
        d: { ok: false, dead: earlier },
      }).pipe(tokenizeMessages({ tokenize }));
      expectObservable(out$).toBe('a-p-d|', {
        a: { ok: true, value: { ...a, tokens: Int32Array.from([2, 1]) } },
        p: {
          ok: false,
          dead: { record: p.record, reason: 'too-many-tokens', stage: 'tokenize', detail: 'text is poison' },
        },
        d: { ok: false, dead: earlier },
      });
    });
  });

  it('propagates programmer errors instead of dead-lettering them', () => {
    const b = input('a bug', '1');
    scheduler().run(({ cold, expectObservable }) => {
      const out$ = cold<Routed<InputMessage>>('-a-b-a|', {
        a: { ok: true, value: input('x', '0') },
        b: { ok: true, value: b },
      }).pipe(tokenizeMessages({ tokenize }));
      expectObservable(out$).toBe(
        '-a-#',
        { a: { ok: true, value: { ...input('x', '0'), tokens: Int32Array.from([1]) } } },
        new TypeError('tokenizer bug'),
      );
    });
  });
});
