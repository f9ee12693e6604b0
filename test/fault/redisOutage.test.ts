/**
 * Redis outage (issue 5, fault 3): the worker's Redis (a private `redis-server` on a spare port) is frozen
 * with SIGSTOP for 10 s while inputs keep arriving. The worker must not crash: state calls time out and
 * are retried with bounded backoff, outputs stop (nothing is emitted without a durable state), the source
 * pauses (memory stays bounded), and everything resumes after SIGCONT. At the end: no input lost, none
 * doubled, every final state equal to an uninterrupted pass.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertStatesEqual,
  delay,
  makeFeed,
  PrivateRedis,
  rssBytes,
  useFixture,
  waitFor,
} from '../harness/index.js';

const OUTAGE_MS = 10_000;
/** Largest delay between two tries (pipeline/retry.ts DEFAULT_RETRY.maxDelayMs). */
const MAX_BACKOFF_MS = 5_000;
/** The worker reads at most this many messages ahead of its commits. */
const MAX_IN_FLIGHT = 3_000;

describe('fault: Redis frozen for 10 s under load', () => {
  const fx = useFixture({ model: { cell: 'gru', seed: 9 }, loadModel: true });
  let redis: PrivateRedis;
  before(async () => {
    redis = await PrivateRedis.start();
  });
  after(() => redis?.stop());

  it('pauses, retries with bounded backoff, keeps memory bounded, and resumes with nothing lost', async (t) => {
    const scene = await fx.scene('redis-outage', { redisUrl: redis.url }).createTopics(4);
    const w = await scene.watch({ keep: false });
    const live = scene.startWorker({ args: ['--max-in-flight', String(MAX_IN_FLIGHT)] });
    try {
      await live.running();
      const load = await scene.startLoad(makeFeed({ messages: 60_000, keys: 500, seed: 41 }), 2_000);
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
      await live.whileAlive(w.waitForDistinct(produced, 180_000));
      live.kill('SIGTERM');
      const exit = await live.exited;
      await delay(1_000);

      const retries = live.logs.filter((l) => l.msg.endsWith('failed, retrying'));
      const { states, lost } = await scene.compareWithReference(fx.loaded, w, produced);
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
      assertStatesEqual(states);
    } finally {
      // Thawed before the scene is dropped (its prefixes live on this Redis).
      redis.thaw();
    }
  });
});
