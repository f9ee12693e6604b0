/**
 * Restart continuity (issue 3, "Done when"): a worker stopped with SIGTERM while input is still arriving,
 * then another in the same group, leave every key's state equal to one uninterrupted pass over the same
 * input (tolerance 1e-5), and every input gets an output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  consumeAll,
  diffStates,
  feedWhile,
  jsonMessages,
  keyedInputs,
  produce,
  useFixture,
} from '../../harness/index.js';

const KEYS = 30;
const PER_KEY = 10;
const N = KEYS * PER_KEY;
const TOLERANCE = 1e-5;

describe('restart continuity across SIGTERM', { timeout: 180_000 }, () => {
  const ctx = useFixture();

  it('continues every key from its stored state and ends equal to one uninterrupted pass', async (t) => {
    const { input, output, prefix, group } = await ctx.names('restart', 4);
    const messages = jsonMessages(keyedInputs({ keys: KEYS, perKey: PER_KEY, seed: 11 }));
    // Half before the first worker; then small requests for as long as it runs, so that the stop lands
    // while input is arriving; the rest (at least 60) after it stopped, for the second worker.
    const rest = messages.slice(N / 2);
    await produce(ctx.brokers, input, messages.slice(0, N / 2));
    const watcher = await ctx.watch(output);

    const first = ctx.worker({ input, group, output, prefix, name: 'first' });
    await watcher.waitForCount(N / 2, 90_000);
    const feeding = feedWhile(ctx.brokers, input, rest, () => first.alive, { chunk: 2, reserve: 60 });
    feeding.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    await watcher.waitForCount(N / 2 + 1, 60_000);
    const firstStats = await first.stop();
    const fed = await feeding;
    t.diagnostic(`${fed} messages fed while the first worker ran`);
    await produce(ctx.brokers, input, rest.slice(fed));

    const second = ctx.worker({ input, group, output, prefix, name: 'second' });
    const inputs = await consumeAll(ctx.brokers, input, { count: N });
    await watcher.waitForInputs(inputs, 90_000);
    const secondStats = await second.stop();
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
