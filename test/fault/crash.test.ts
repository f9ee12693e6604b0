/**
 * Crash (issue 5, fault 1), at-least-once outputs: 20 000 pre-produced inputs over 1 000 keys; the worker
 * is SIGKILLed 5 times at seeded output counts and restarted each time. Every input must get an output,
 * and every key's final state must equal an uninterrupted pass (the Redis fence makes replays harmless).
 * Duplicated outputs are expected here (at-least-once) and reported.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rootLogger } from '../../pipeline/logger.js';
import { type LoadedStreamingModel, loadPipelineModel } from '../../pipeline/model.js';
import { crashScenario } from '../fixtures/faults.js';
import { makeTinyModel } from '../fixtures/tinyModel.js';
import { getServices, type Services } from '../harness/index.js';

describe('fault: SIGKILL the worker 5 times (at-least-once outputs)', () => {
  let services: Services;
  let model: string;
  let loaded: LoadedStreamingModel;
  before(async () => {
    services = await getServices();
    model = await makeTinyModel({ cell: 'lstm', seed: 5 });
    loaded = await loadPipelineModel({ dir: model, backend: 'wasm', log: rootLogger() });
  });
  after(async () => {
    loaded?.model.engine.dispose();
    await services?.stop();
  });

  it('loses no input, and every final state equals an uninterrupted pass', async (t) => {
    const result = await crashScenario({
      brokers: services.kafkaBrokers,
      redisUrl: services.redisUrl,
      model,
      loaded,
      exactlyOnce: false,
      messages: 20_000,
      keys: 1_000,
      kills: 5,
      seed: 20_250_101,
      killAfter: [200, 1_000],
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
    assert.deepEqual(result.states.missing, [], 'keys without a usable state');
    assert.deepEqual(
      result.states.bookkeeping,
      [],
      'keys whose fence or token count differ from the reference',
    );
    assert.equal(result.states.nonFinite, 0);
    assert.ok(result.states.maxAbsDiff <= 1e-6, `max |state - reference| = ${result.states.maxAbsDiff}`);
  });
});
