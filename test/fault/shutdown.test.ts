/**
 * Graceful shutdown (issue 5, fault 8): SIGTERM while inputs keep arriving. The worker must drain its
 * in-flight batches, commit, and exit 0 within a bound; a successor in the same group resumes where it
 * stopped — no input lost, none output twice (a drain leaves nothing uncommitted) — and every key's final
 * state equals an uninterrupted pass.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertStatesEqual, delay, makeFeed, useFixture, waitFor } from '../harness/index.js';

/** The longest a SIGTERM drain may take. */
const DRAIN_BOUND_MS = 15_000;

describe('fault: SIGTERM under load', () => {
  const fx = useFixture({ model: { cell: 'gru', seed: 8 }, loadModel: true });

  it('drains, commits and exits 0 within 15 s; the successor loses and doubles nothing', async (t) => {
    const scene = await fx.scene('shutdown').createTopics(4);
    const w = await scene.watch({ keep: false });
    const feed = makeFeed({ messages: 40_000, keys: 500, seed: 31 });
    const first = scene.startWorker({ name: 'first worker' });
    await first.running();
    const load = await scene.startLoad(feed, 2_000);
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
    const second = scene.startWorker({ name: 'second worker' });
    await second.running();
    await delay(2_000);
    const produced = await load.stop();
    await w.waitForDistinct(produced, 120_000);
    second.kill('SIGTERM');
    const secondExit = await second.exited;
    await delay(1_000);

    const { states, lost } = await scene.compareWithReference(fx.loaded, w, produced);
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
    assertStatesEqual(states);
  });
});
