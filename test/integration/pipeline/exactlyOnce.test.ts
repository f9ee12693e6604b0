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
  parseOutput,
  RESTART_INPUTS,
  restartMidStream,
  useFixture,
} from '../../harness/index.js';

const N = RESTART_INPUTS.keys * RESTART_INPUTS.perKey;

describe('--exactly-once across a restart', { timeout: 200_000 }, () => {
  const ctx = useFixture();

  /** Stops (or kills) a worker mid-stream, starts another, and checks what read_committed readers see. */
  async function restartAndCheck(t: TestContext, how: 'SIGTERM' | 'SIGKILL', seed: number): Promise<void> {
    const { input, output, prefix, inputs, second } = await restartMidStream(ctx, t, {
      name: `eos-${how}`,
      seed,
      reserve: 40,
      exactlyOnce: true,
      timeoutMs: 120_000,
      stop: async (first) => {
        if (how === 'SIGTERM') {
          await first.stop();
        } else {
          first.kill();
          const exit = await first.exited;
          assert.equal(exit.signal, 'SIGKILL');
        }
      },
    });
    t.diagnostic(`second worker read ${second.messagesIn} (replays ${second.replayed})`);

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
    restartAndCheck(t, 'SIGTERM', 31));

  it('… and across a SIGKILL crash', (t) => restartAndCheck(t, 'SIGKILL', 37));
});
