import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, PoisonInputError, TransientError } from '../../../core/errors.js';
import { isRetriable, withRetry } from '../../../pipeline/retry.js';

/** A function failing with `errors` in turn, then returning 'ok'; counts its calls. */
function failing(...errors: unknown[]) {
  const fn = async () => {
    fn.calls++;
    if (errors.length > 0) throw errors.shift();
    return 'ok';
  };
  fn.calls = 0;
  return fn;
}

describe('withRetry', () => {
  const transient = () => new TransientError('redis down');

  it('waits with equal jitter: cap/2 + random·cap/2, the cap doubling up to maxDelayMs', async () => {
    for (const [random, expected] of [
      [0, [50, 100, 200, 400, 500]],
      [1, [100, 200, 400, 800, 1000]],
      [0.5, [75, 150, 300, 600, 750]],
    ] as const) {
      const waits: number[] = [];
      const fn = failing(...Array.from({ length: 5 }, transient));
      const result = await withRetry(fn, {
        initialDelayMs: 100,
        maxDelayMs: 1000,
        random: () => random,
        sleep: async (ms) => {
          waits.push(ms);
        },
      });
      assert.equal(result, 'ok');
      assert.deepEqual(waits, expected, `random() = ${random}`);
      assert.equal(fn.calls, 6);
    }
  });

  it('reports each retry before its wait', async () => {
    const seen: [string, number, number][] = [];
    await withRetry(failing(transient(), transient()), {
      random: () => 0,
      sleep: async () => {},
      onRetry: (error, attempt, delayMs) => seen.push([(error as Error).message, attempt, delayMs]),
    });
    assert.deepEqual(seen, [
      ['redis down', 1, 50],
      ['redis down', 2, 100],
    ]);
  });

  it('fails at once on errors that are not retriable', async () => {
    for (const error of [
      new TypeError('bug'),
      new PoisonInputError('bad-json', 'not JSON'),
      new ConfigError('--state is required'),
      new Error('plain'),
    ]) {
      const fn = failing(error);
      await assert.rejects(withRetry(fn, { sleep: async () => assert.fail('no wait') }), error);
      assert.equal(fn.calls, 1, error.message);
    }
  });

  it('gives up after maxAttempts tries, with the last error', async () => {
    const last = transient();
    const fn = failing(transient(), transient(), last, transient());
    await assert.rejects(withRetry(fn, { maxAttempts: 3, sleep: async () => {} }), last);
    assert.equal(fn.calls, 3);
  });

  it('stops retrying once its signal aborts', async () => {
    const abort = new AbortController();
    const fn = failing(transient(), transient(), transient());
    await assert.rejects(
      withRetry(fn, {
        signal: abort.signal,
        sleep: async () => abort.abort(),
      }),
      TransientError,
    );
    assert.equal(fn.calls, 2, 'one wait, then the abort is seen');
  });
});

describe('isRetriable', () => {
  it("follows rnnstream's flag and drivers' `retriable: true`, never programmer errors", () => {
    assert.equal(isRetriable(new TransientError('x')), true);
    assert.equal(isRetriable(new ConfigError('x')), false);
    assert.equal(isRetriable(Object.assign(new Error('kafkajs'), { retriable: true })), true);
    assert.equal(isRetriable(Object.assign(new RangeError('x'), { retriable: true })), false);
    assert.equal(isRetriable({ retriable: 'yes' }), false);
    assert.equal(isRetriable(undefined), false);
  });
});
