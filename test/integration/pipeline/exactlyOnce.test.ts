/**
 * `--exactly-once` (issue 3, "Done when"): with outputs and offsets committed in Kafka transactions, a
 * `read_committed` consumer sees exactly one output per input across a worker restart: a SIGTERM drain,
 * and also a SIGKILL crash (the successor's transactional id fences and aborts the open transaction;
 * the Redis fence keeps the state from being applied twice, so re-read inputs come out as replays).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  consumeAll,
  countBySource,
  diffStates,
  feedWhile,
  jsonMessages,
  keyedInputs,
  parseOutput,
  produce,
  useFixture,
} from '../../harness/index.js';

const KEYS = 30;
const PER_KEY = 10;
const N = KEYS * PER_KEY;

describe('--exactly-once across a restart', { timeout: 200_000 }, () => {
  const ctx = useFixture();

  /** Stops (or kills) a worker mid-stream, starts another, and checks what read_committed readers see. */
  async function restartMidStream(t: TestContext, how: 'SIGTERM' | 'SIGKILL', seed: number): Promise<void> {
    const { input, output, prefix, group } = await ctx.names(`eos-${how}`, 4);
    const messages = jsonMessages(keyedInputs({ keys: KEYS, perKey: PER_KEY, seed }));
    // Half before the first worker; then small requests for as long as it runs, so that the stop lands
    // while input is arriving; the rest (at least 40) after it stopped, for the second worker.
    const rest = messages.slice(N / 2);
    await produce(ctx.brokers, input, messages.slice(0, N / 2));
    const watcher = await ctx.watch(output, { isolation: 'read_committed' });

    const first = ctx.worker({ input, group, output, prefix, exactlyOnce: true, name: 'first' });
    await watcher.waitForCount(N / 2, 90_000);
    const feeding = feedWhile(ctx.brokers, input, rest, () => first.alive, { chunk: 2, reserve: 40 });
    feeding.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    await watcher.waitForCount(N / 2 + 1, 60_000);
    if (how === 'SIGTERM') {
      await first.stop();
    } else {
      first.kill();
      const exit = await first.exited;
      assert.equal(exit.signal, 'SIGKILL');
    }
    const fed = await feeding;
    t.diagnostic(`${fed} messages fed while the first worker ran`);
    await produce(ctx.brokers, input, rest.slice(fed));

    const second = ctx.worker({ input, group, output, prefix, exactlyOnce: true, name: 'second' });
    const inputs = await consumeAll(ctx.brokers, input, { count: N });
    await watcher.waitForInputs(inputs, 120_000);
    const stats = await second.stop();
    t.diagnostic(`second worker read ${stats.messagesIn} (replays ${stats.replayed})`);

    // A fresh read_committed reader, lingering after the last expected output to catch any duplicate.
    const committed = await consumeAll(ctx.brokers, output, {
      count: N,
      isolationLevel: 'read_committed',
      settleMs: 1_500,
      timeoutMs: 60_000,
    });
    const counts = countBySource(committed.map(parseOutput));
    const wrong = inputs
      .map((m) => `${m.partition}:${m.offset}`)
      .filter((at) => counts.get(at) !== 1)
      .map((at) => `${at}×${counts.get(at) ?? 0}`);
    assert.deepEqual(wrong, [], 'inputs without exactly one committed output');
    assert.equal(committed.length, N);

    // And the state is that of one pass (the Redis fence held across the restart).
    const refPrefix = await ctx.referenceRun(`eos-${how}-ref`, input, inputs);
    const keys = [...new Set(inputs.map((m) => m.key ?? ''))];
    assert.deepEqual(
      diffStates(keys, await ctx.states(prefix, keys), await ctx.states(refPrefix, keys), 1e-5),
      [],
    );
  }

  it('a read_committed consumer sees exactly one output per input across a SIGTERM restart', (t) =>
    restartMidStream(t, 'SIGTERM', 31));

  it('… and across a SIGKILL crash', (t) => restartMidStream(t, 'SIGKILL', 37));
});
