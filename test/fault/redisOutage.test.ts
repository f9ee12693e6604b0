/**
 * Redis outage (issue 5, fault 3): the worker's Redis (a private `redis-server` on a spare port) is frozen
 * with SIGSTOP for 10 s while inputs keep arriving. The worker must not crash: state calls time out and
 * are retried with bounded backoff, outputs stop (nothing is emitted without a durable state), the source
 * pauses (memory stays bounded), and everything resumes after SIGCONT. At the end: no input lost, none
 * doubled, every final state equal to an uninterrupted pass.
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
  PrivateRedis,
  positionsOf,
  referencePass,
  rssBytes,
  toSourceRecords,
  WorkerProcess,
  waitFor,
} from '../fixtures/faults.js';
import { makeTinyModel } from '../fixtures/tinyModel.js';
import { consumeAll, createTopic, deleteTopics, getServices, type Services } from '../harness/index.js';

const OUTAGE_MS = 10_000;
/** Largest delay between two tries (pipeline/retry.ts DEFAULT_RETRY.maxDelayMs). */
const MAX_BACKOFF_MS = 5_000;
/** The worker reads at most this many messages ahead of its commits. */
const MAX_IN_FLIGHT = 3_000;

describe('fault: Redis frozen for 10 s under load', () => {
  let services: Services;
  let redis: PrivateRedis;
  let model: string;
  let loaded: LoadedStreamingModel;
  before(async () => {
    services = await getServices();
    redis = await PrivateRedis.start();
    model = await makeTinyModel({ cell: 'gru', seed: 9 });
    loaded = await loadPipelineModel({ dir: model, backend: 'wasm', log: rootLogger() });
  });
  after(async () => {
    loaded?.model.engine.dispose();
    await redis?.stop();
    await services?.stop();
  });

  it('pauses, retries with bounded backoff, keeps memory bounded, and resumes with nothing lost', async (t) => {
    const scene = makeScene(services.kafkaBrokers, redis.url, 'redis-outage');
    let worker: WorkerProcess | undefined;
    let watcher: OutputWatcher | undefined;
    let load: LoadProducer | undefined;
    try {
      await createTopic(scene.brokers, scene.input, 4);
      await createTopic(scene.brokers, scene.output, 4);
      watcher = await OutputWatcher.start(scene.brokers, scene.output, 'read_uncommitted', false);
      const w = watcher;
      worker = WorkerProcess.start({
        in: scene.uris.in,
        out: scene.uris.out,
        state: scene.uris.state,
        model,
        args: ['--max-in-flight', String(MAX_IN_FLIGHT)],
      });
      const live = worker;
      await live.running();
      load = await LoadProducer.start(
        scene.brokers,
        scene.input,
        makeFeed({ messages: 60_000, keys: 500, seed: 41 }),
        2_000,
      );
      await live.whileAlive(
        waitFor(
          () => w.distinct >= 3_000,
          60_000,
          () => `${w.distinct} outputs before the outage`,
        ),
      );

      const rssBefore = await rssBytes(live.pid);
      const atFreeze = w.distinct;
      redis.freeze();
      const frozenAt = Date.now();
      let rssPeak = rssBefore;
      let atMid = 0;
      while (Date.now() - frozenAt < OUTAGE_MS) {
        await delay(500);
        rssPeak = Math.max(rssPeak, await rssBytes(live.pid));
        // Batches already past the state write may still flush at first; by now every state call waits.
        if (atMid === 0 && Date.now() - frozenAt >= OUTAGE_MS / 2) atMid = w.distinct;
      }
      const atThaw = w.distinct;
      const producedDuringOutage = load.produced;
      redis.thaw();
      const thawedAt = Date.now();
      assert.equal(live.exit, undefined, `the worker survived the outage\n${live.tail()}`);
      await live.whileAlive(waitFor(() => w.distinct > atThaw, 60_000, 'outputs after the outage'));
      const resumeMs = Date.now() - thawedAt;

      const produced = await load.stop();
      load = undefined;
      await live.whileAlive(w.waitForDistinct(produced, 180_000));
      live.kill('SIGTERM');
      const exit = await live.exited;
      await delay(1_000);

      const retries = live.logs.filter((l) => l.msg.endsWith('failed, retrying'));
      const input = await consumeAll(scene.brokers, scene.input, { count: produced, timeoutMs: 60_000 });
      await referencePass(loaded, toSourceRecords(input), scene.uris.reference);
      const keys = [...new Set(input.map((m) => m.key ?? ''))];
      const states = await compareStates(loaded, scene.uris.state, scene.uris.reference, keys);
      const lost = lostInputs(w, positionsOf(input)).length;
      const figures = {
        produced,
        producedDuringOutage,
        outputsAtFreeze: atFreeze,
        outputsMidOutage: atMid,
        outputsAtThaw: atThaw,
        resumeMs,
        retries: retries.length,
        retryOps: [...new Set(retries.map((r) => r.op))],
        maxRetryDelayMs: Math.max(...retries.map((r) => Number(r.delayMs))),
        rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
        rssPeakMiB: Math.round(rssPeak / 2 ** 20),
        exit,
        outputs: w.total,
        lost,
        duplicates: w.duplicates,
        states,
      };
      t.diagnostic(`FAULT redis outage: ${JSON.stringify(figures)}`);
      assert.equal(
        atThaw,
        atMid,
        'no output while Redis is frozen (nothing is emitted without a stored state)',
      );
      assert.ok(retries.length > 0, 'state calls failed and were retried');
      assert.ok(figures.maxRetryDelayMs <= MAX_BACKOFF_MS, `backoff bounded: ${figures.maxRetryDelayMs} ms`);
      assert.ok(
        rssPeak - rssBefore < 150 * 2 ** 20,
        `RSS grew ${figures.rssPeakMiB - figures.rssBeforeMiB} MiB`,
      );
      assert.ok(resumeMs < 15_000, `resumed ${resumeMs} ms after Redis came back`);
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.equal(lost, 0, 'inputs without an output');
      assert.equal(w.duplicates, 0, 'outputs doubled');
      assert.deepEqual(states.missing, []);
      assert.deepEqual(states.bookkeeping, []);
      assert.ok(states.maxAbsDiff <= 1e-6, `max |state - reference| = ${states.maxAbsDiff}`);
    } finally {
      redis.thaw();
      await load?.stop().catch(() => undefined);
      await worker?.dispose();
      await watcher?.stop();
      await deleteTopics(scene.brokers, [scene.input, scene.output]).catch(() => undefined);
    }
  });
});
