/**
 * Graceful shutdown (issue 5, fault 8): SIGTERM while inputs keep arriving. The worker must drain its
 * in-flight batches, commit, and exit 0 within a bound; a successor in the same group resumes where it
 * stopped — no input lost, none output twice (a drain leaves nothing uncommitted) — and every key's final
 * state equals an uninterrupted pass.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rootLogger } from '../../pipeline/logger.js';
import { type LoadedStreamingModel, loadPipelineModel } from '../../pipeline/model.js';
import {
  compareStates,
  delay,
  LoadProducer,
  lostInputs,
  makeFeed,
  makeScene,
  OutputWatcher,
  positionsOf,
  referencePass,
  toSourceRecords,
  WorkerProcess,
  waitFor,
} from '../fixtures/faults.js';
import { makeTinyModel } from '../fixtures/tinyModel.js';
import {
  consumeAll,
  createTopic,
  deleteKeys,
  deleteTopics,
  getServices,
  redisClient,
  type Services,
} from '../harness/index.js';

/** The longest a SIGTERM drain may take. */
const DRAIN_BOUND_MS = 15_000;

describe('fault: SIGTERM under load', () => {
  let services: Services;
  let model: string;
  let loaded: LoadedStreamingModel;
  before(async () => {
    services = await getServices();
    model = await makeTinyModel({ cell: 'gru', seed: 8 });
    loaded = await loadPipelineModel({ dir: model, backend: 'wasm', log: rootLogger() });
  });
  after(async () => {
    loaded?.model.engine.dispose();
    await services?.stop();
  });

  it('drains, commits and exits 0 within 15 s; the successor loses and doubles nothing', async (t) => {
    const scene = makeScene(services.kafkaBrokers, services.redisUrl, 'shutdown');
    const workers: WorkerProcess[] = [];
    let watcher: OutputWatcher | undefined;
    let load: LoadProducer | undefined;
    const start = (name: string) => {
      const worker = WorkerProcess.start({
        in: scene.uris.in,
        out: scene.uris.out,
        state: scene.uris.state,
        model,
        name,
      });
      workers.push(worker);
      return worker;
    };
    try {
      await createTopic(scene.brokers, scene.input, 4);
      await createTopic(scene.brokers, scene.output, 4);
      watcher = await OutputWatcher.start(scene.brokers, scene.output, 'read_uncommitted', false);
      const w = watcher;
      const feed = makeFeed({ messages: 40_000, keys: 500, seed: 31 });
      const first = start('first worker');
      await first.running();
      load = await LoadProducer.start(scene.brokers, scene.input, feed, 2_000);
      // Under load: the worker has been outputting for a while and inputs keep coming.
      await waitFor(
        () => w.distinct >= 4_000,
        60_000,
        () => `first worker: ${w.distinct} outputs`,
      );
      const beforeTerm = w.distinct;
      const producedAtTerm = load.produced;
      const termAt = Date.now();
      first.kill('SIGTERM');
      const exit = await first.exited;
      const drainMs = Date.now() - termAt;
      // Inputs keep arriving while no worker runs, then the successor takes over the same group.
      await delay(1_000);
      const second = start('second worker');
      await second.running();
      await delay(2_000);
      const produced = await load.stop();
      load = undefined;
      await w.waitForDistinct(produced, 120_000);
      second.kill('SIGTERM');
      const secondExit = await second.exited;
      await delay(1_000);

      const input = await consumeAll(scene.brokers, scene.input, { count: produced, timeoutMs: 60_000 });
      const positions = positionsOf(input);
      await referencePass(loaded, toSourceRecords(input), scene.uris.reference);
      const keys = [...new Set(input.map((m) => m.key ?? ''))];
      const states = await compareStates(loaded, scene.uris.state, scene.uris.reference, keys);
      const lost = lostInputs(w, positions).length;
      const figures = {
        produced,
        producedAtTerm,
        outputsAtTerm: beforeTerm,
        drainMs,
        exit,
        secondExit,
        outputs: w.total,
        lost,
        duplicates: w.duplicates,
        states,
      };
      t.diagnostic(`FAULT shutdown: ${JSON.stringify(figures)}`);
      assert.deepEqual(exit, { code: 0, signal: null }, `first worker exit\n${first.tail()}`);
      assert.ok(drainMs <= DRAIN_BOUND_MS, `drain took ${drainMs} ms`);
      assert.equal(first.count('done'), 1, 'the first worker logged its final stats');
      assert.ok(producedAtTerm < produced, 'inputs were still arriving at SIGTERM');
      assert.deepEqual(secondExit, { code: 0, signal: null });
      assert.equal(lost, 0, 'inputs without an output');
      assert.equal(w.duplicates, 0, 'a drained worker leaves nothing to output twice');
      assert.deepEqual(states.missing, []);
      assert.deepEqual(states.bookkeeping, []);
      assert.ok(states.maxAbsDiff <= 1e-6, `max |state - reference| = ${states.maxAbsDiff}`);
    } finally {
      await load?.stop().catch(() => undefined);
      await Promise.all(workers.map((worker) => worker.dispose()));
      await watcher?.stop();
      await deleteTopics(scene.brokers, [scene.input, scene.output]).catch(() => undefined);
      const redis = await redisClient(scene.redisUrl);
      await deleteKeys(redis, scene.prefix);
      await deleteKeys(redis, scene.referencePrefix);
      await redis.quit();
    }
  });
});
