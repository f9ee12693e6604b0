/**
 * Crash (issue 5, fault 1): 20 000 pre-produced inputs over 1 000 keys; the worker is SIGKILLed 5 times at
 * seeded output counts and restarted each time. Every input must get an output, and every key's final
 * state must equal an uninterrupted pass (the Redis fence makes replays harmless).
 *
 * At-least-once: duplicated outputs are expected and reported. With `--exactly-once` outputs and offsets
 * commit in one Kafka transaction and the outputs are read `read_committed`. The restarted worker is
 * assigned the same partitions, so its per-partition producers (transactional ids from group, topic and
 * partition) fence the killed one's and abort their open transactions: every input must have exactly one
 * committed output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TinyModelOptions } from '../fixtures/tinyModel.js';
import { assertStatesEqual, crashScenario, useFixture } from '../harness/index.js';

/**
 * One crash test: the scenario on its own model and seed, the checks every crash run must pass, and what
 * the delivery guarantee promises about outputs.
 */
function crashTest(model: TinyModelOptions, exactlyOnce: boolean, seed: number): void {
  const guarantee = exactlyOnce ? '--exactly-once, read_committed' : 'at-least-once outputs';
  describe(`fault: SIGKILL the worker 5 times (${guarantee})`, () => {
    const fx = useFixture({ model, loadModel: true });
    const what = exactlyOnce
      ? 'commits exactly one output per input, and every final state equals an uninterrupted pass'
      : 'loses no input, and every final state equals an uninterrupted pass';
    it(what, async (t) => {
      const result = await crashScenario(fx, { exactlyOnce, seed, note: (text) => t.diagnostic(text) });
      t.diagnostic(
        `FAULT crash ${exactlyOnce ? 'exactly-once' : 'at-least-once'}: ${JSON.stringify(result)}`,
      );
      assert.equal(result.kills, 5);
      assert.ok(
        result.killedAt.every((n) => n < result.inputs),
        `every kill happened mid-stream: ${result.killedAt}`,
      );
      if (exactlyOnce) {
        assert.equal(result.lost, 0, 'inputs without a committed output');
        assert.equal(result.duplicates, 0, 'inputs with more than one committed output');
        assert.equal(result.outputs, result.inputs);
      } else {
        assert.equal(result.lost, 0, 'inputs without any output');
        assert.ok(result.outputs >= result.inputs);
        assert.equal(result.outputs, result.inputs + result.duplicates);
      }
      assert.deepEqual(result.finalExit, { code: 0, signal: null });
      assertStatesEqual(result.states);
    });
  });
}

crashTest({ cell: 'lstm', seed: 5 }, false, 20_250_101);
crashTest({ cell: 'gru', seed: 6 }, true, 20_250_102);
