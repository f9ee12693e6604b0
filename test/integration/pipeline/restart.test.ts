/**
 * Restart continuity (issue 3, "Done when"): a worker stopped with SIGTERM while input is still arriving,
 * then another in the same group, leave every key's state equal to one uninterrupted pass over the same
 * input (tolerance 1e-5), and every input gets an output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffStates, RESTART_INPUTS, restartMidStream, useFixture } from '../../harness/index.js';

const N = RESTART_INPUTS.keys * RESTART_INPUTS.perKey;
const TOLERANCE = 1e-5;

describe('restart continuity across SIGTERM', { timeout: 180_000 }, () => {
  const ctx = useFixture();

  it('continues every key from its stored state and ends equal to one uninterrupted pass', async (t) => {
    const run = await restartMidStream(ctx, t, {
      name: 'restart',
      seed: 11,
      reserve: 60,
      stop: (first) => first.stop(),
    });
    const { input, prefix, inputs, watcher, stopped: firstStats, second: secondStats } = run;
    t.diagnostic(`first worker read ${firstStats.messagesIn}, second ${secondStats.messagesIn}`);
    assert.ok(firstStats.messagesIn > 0 && secondStats.messagesIn > 0, 'both workers had work');
    // Graceful stops commit what they drained: the second worker starts where the first ended.
    assert.equal(firstStats.messagesIn + secondStats.messagesIn, N, 'no input read twice after a clean stop');

    const counts = watcher.perPosition;
    for (const m of inputs) assert.ok((counts.get(`${m.partition}:${m.offset}`) ?? 0) >= 1);

    // The reference: one worker, one pass, another group and namespace.
    const refPrefix = await ctx.referenceRun('restart-ref', input, inputs);

    const keys = [...new Set(inputs.map((m) => m.key ?? ''))];
    const actual = await ctx.states(prefix, keys);
    const expected = await ctx.states(refPrefix, keys);
    assert.deepEqual(diffStates(keys, actual, expected, TOLERANCE), []);
    for (const key of keys) {
      const a = actual.get(key);
      const e = expected.get(key);
      if (a?.kind === 'ok' && e?.kind === 'ok') assert.deepEqual(a.stored.fence, e.stored.fence);
    }
  });
});
