/**
 * Crash (issue 5, fault 1), at-least-once outputs: 20 000 pre-produced inputs over 1 000 keys; the worker
 * is SIGKILLed 5 times at seeded output counts and restarted each time. Every input must get an output,
 * and every key's final state must equal an uninterrupted pass (the Redis fence makes replays harmless).
 * Duplicated outputs are expected here (at-least-once) and reported.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertStatesEqual, crashScenario, useFixture } from '../harness/index.js';

describe('fault: SIGKILL the worker 5 times (at-least-once outputs)', () => {
  const fx = useFixture({ model: { cell: 'lstm', seed: 5 }, loadModel: true });

  it('loses no input, and every final state equals an uninterrupted pass', async (t) => {
    const result = await crashScenario(fx, {
      exactlyOnce: false,
      seed: 20_250_101,
      note: (text) => t.diagnostic(text),
    });
    t.diagnostic(`FAULT crash at-least-once: ${JSON.stringify(result)}`);
    assert.equal(result.kills, 5);
    assert.ok(
      result.killedAt.every((n) => n < result.inputs),
      `every kill happened mid-stream: ${result.killedAt}`,
    );
    assert.equal(result.lost, 0, 'inputs without any output');
    assert.ok(result.outputs >= result.inputs);
    assert.equal(result.outputs, result.inputs + result.duplicates);
    assert.deepEqual(result.finalExit, { code: 0, signal: null });
    assertStatesEqual(result.states);
  });
});
