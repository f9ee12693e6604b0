/**
 * Crash (issue 5, fault 1) with `--exactly-once`: as crash.test.ts, but outputs and offsets commit in one
 * Kafka transaction and the outputs are read `read_committed`. The restarted worker is assigned the same
 * partitions, so its per-partition producers (transactional ids from group, topic and partition) fence the
 * killed one's and abort their open transactions: every input must have exactly one committed output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rootLogger } from '../../pipeline/logger.js';
import { type LoadedStreamingModel, loadPipelineModel } from '../../pipeline/model.js';
import { crashScenario } from '../fixtures/faults.js';
import { makeTinyModel } from '../fixtures/tinyModel.js';
import { getServices, type Services } from '../harness/index.js';

describe('fault: SIGKILL the worker 5 times (--exactly-once, read_committed)', () => {
  let services: Services;
  let model: string;
  let loaded: LoadedStreamingModel;
  before(async () => {
    services = await getServices();
    model = await makeTinyModel({ cell: 'gru', seed: 6 });
    loaded = await loadPipelineModel({ dir: model, backend: 'wasm', log: rootLogger() });
  });
  after(async () => {
    loaded?.model.engine.dispose();
    await services?.stop();
  });

  it('commits exactly one output per input, and every final state equals an uninterrupted pass', async (t) => {
    const result = await crashScenario({
      brokers: services.kafkaBrokers,
      redisUrl: services.redisUrl,
      model,
      loaded,
      exactlyOnce: true,
      messages: 20_000,
      keys: 1_000,
      kills: 5,
      seed: 20_250_102,
      killAfter: [200, 1_000],
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
