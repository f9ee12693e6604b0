/**
 * Crash (issue 5, fault 1) with `--exactly-once`: as crash.test.ts, but outputs and offsets commit in one
 * Kafka transaction and the outputs are read `read_committed`. The restarted worker is assigned the same
 * partitions, so its per-partition producers (transactional ids from group, topic and partition) fence the
 * killed one's and abort their open transactions: every input must have exactly one committed output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertStatesEqual, crashScenario, useFixture } from '../harness/index.js';

describe('fault: SIGKILL the worker 5 times (--exactly-once, read_committed)', () => {
  const fx = useFixture({ model: { cell: 'gru', seed: 6 }, loadModel: true });

  it('commits exactly one output per input, and every final state equals an uninterrupted pass', async (t) => {
    const result = await crashScenario(fx, {
      exactlyOnce: true,
      seed: 20_250_102,
      note: (text) => t.diagnostic(text),
    });
    t.diagnostic(`FAULT crash exactly-once: ${JSON.stringify(result)}`);
    assert.equal(result.kills, 5);
    assert.ok(
      result.killedAt.every((n) => n < result.inputs),
      `every kill happened mid-stream: ${result.killedAt}`,
    );
    assert.equal(result.lost, 0, 'inputs without a committed output');
    assert.equal(result.duplicates, 0, 'inputs with more than one committed output');
    assert.equal(result.outputs, result.inputs);
    assert.deepEqual(result.finalExit, { code: 0, signal: null });
    assertStatesEqual(result.states);
  });
});
