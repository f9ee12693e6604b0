/**
 * Rebalance (issue 5, fault 2): three workers in one group share a 6-partition topic under load; members
 * join and leave (SIGTERM and SIGKILL) while inputs keep arriving. Every input must still get an output,
 * and every key's final state must equal an uninterrupted pass. Duplicated outputs (a SIGKILLed member's
 * uncommitted batches) are expected and reported.
 *
 * Parked as `.wip`: with the Redis store's write-through cache on (the default) it fails on every run —
 * some keys end with a lower `totalTokens` than the reference (a worker that gets a partition back reads
 * a stale cached state and skips the messages another member applied meanwhile). With
 * `REBALANCE_NO_CACHE=1` (`cacheKeys=0`) it passes. Rename to `.test.ts` once the cache is fixed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadedState } from '../../core/contracts.js';
import type { LoadedModel } from '../../pipeline/model.js';
import { createStateStore } from '../../pipeline/state/stateUri.js';
import {
  assertStatesEqual,
  compareWithReference,
  delay,
  disposeScene,
  faultFixture,
  LoadProducer,
  lostInputs,
  makeFeed,
  makeScene,
  OutputWatcher,
  startSceneWorker,
  type WorkerProcess,
  waitFor,
} from '../fixtures/faults.js';
import { consumeAll, createTopic, withTimeout } from '../harness/index.js';

/** Inputs fed while the group changes. */
const MESSAGES = 6_000;
/** Inputs per second: the feed lasts ~40 s, so every membership change happens under load. */
const RATE = 150;
/** New outputs each phase must see before the next membership change. */
const PHASE_OUTPUTS = 300;

/** Fence and token count on both sides for a few mismatched keys (failure diagnostics). */
async function describeKeys(
  loaded: LoadedModel,
  uriA: string,
  uriB: string,
  keys: readonly string[],
): Promise<Record<string, unknown>> {
  const a = createStateStore(uriA, loaded.schema);
  const b = createStateStore(uriB, loaded.schema);
  try {
    const some = keys.slice(0, 5);
    const [sa, sb] = await Promise.all([a.load(some), b.load(some)]);
    const brief = (x: LoadedState | undefined) =>
      x?.kind === 'ok' ? { fence: x.stored.fence, tokens: x.stored.totalTokens } : x?.kind;
    return Object.fromEntries(some.map((k) => [k, { run: brief(sa.get(k)), reference: brief(sb.get(k)) }]));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** True once the worker logged a group join that gave it at least one partition. */
function hasPartitions(worker: WorkerProcess): boolean {
  return worker.logs.some(
    (l) => l.msg === 'kafka group joined' && Array.isArray(l.assigned) && l.assigned.length > 0,
  );
}

describe('fault: rebalance under load (members join, leave and die)', () => {
  const fx = faultFixture({ cell: 'gru', seed: 12 });

  it('loses no input, and every final state equals an uninterrupted pass', async (t) => {
    const started = Date.now();
    const { loaded } = fx;
    const scene = makeScene(fx.services.kafkaBrokers, fx.services.redisUrl, 'rebalance');
    const workers: WorkerProcess[] = [];
    let watcher: OutputWatcher | undefined;
    let load: LoadProducer | undefined;
    const start = (name: string) => {
      const worker = startSceneWorker(scene, fx.model, {
        // REBALANCE_NO_CACHE=1 turns the store's write-through cache off (to tell a stale cache from
        // other causes when the bookkeeping check fails).
        state: process.env.REBALANCE_NO_CACHE ? `${scene.uris.state}&cacheKeys=0` : scene.uris.state,
        // Small batches: many commit points, so a kill or a revocation lands between two of them.
        args: ['--max-batch-rows', '200', '--max-in-flight', '1000'],
        name: `worker ${name}`,
      });
      workers.push(worker);
      return worker;
    };
    const marks: Record<string, number> = {};
    try {
      await createTopic(scene.brokers, scene.input, 6);
      await createTopic(scene.brokers, scene.output, 6);
      watcher = await OutputWatcher.start(scene.brokers, scene.output, 'read_uncommitted', true);
      const w = watcher;
      const feed = makeFeed({ messages: MESSAGES, keys: 300, seed: 52 });
      /** Waits for `more` new outputs while `alive` all keep running. */
      const progress = async (more: number, alive: WorkerProcess[], phase: string) => {
        const base = w.distinct;
        await Promise.all(
          alive.map((worker) =>
            worker.whileAlive(
              waitFor(
                () => w.distinct >= Math.min(base + more, MESSAGES),
                60_000,
                () => `${phase}: ${w.distinct - base} of ${more} new outputs\n${worker.tail()}`,
              ),
            ),
          ),
        );
        marks[phase] = w.distinct;
      };
      /** Waits until the worker was given partitions (it took part in a rebalance). */
      const assigned = (worker: WorkerProcess) =>
        worker.whileAlive(
          waitFor(
            () => hasPartitions(worker),
            60_000,
            () => `${worker.name} got no partition\n${worker.tail()}`,
          ),
        );

      const a = start('A');
      await a.running();
      load = await LoadProducer.start(scene.brokers, scene.input, feed, RATE);
      await progress(PHASE_OUTPUTS, [a], 'A alone');

      // Two members join: the group spreads 6 partitions over three.
      const b = start('B');
      const c = start('C');
      await Promise.all([b.running(), c.running()]);
      await Promise.all([assigned(b), assigned(c)]);
      await progress(PHASE_OUTPUTS, [a, b, c], 'A+B+C');

      // A member leaves cleanly, and a new one joins.
      b.kill('SIGTERM');
      const exitB = await withTimeout(b.exited, 30_000, 'worker B draining after SIGTERM');
      marks['B left'] = w.distinct;
      const d = start('D');
      await d.running();
      await assigned(d);
      await progress(PHASE_OUTPUTS, [a, c, d], 'A+C+D');

      // A member dies: its partitions come back after the session timeout (6 s).
      c.kill('SIGKILL');
      const exitC = await c.exited;
      marks['C killed'] = w.distinct;

      await waitFor(
        () => load?.finished === true,
        90_000,
        () => `load: ${load?.produced} produced`,
      );
      const produced = await load.stop();
      load = undefined;
      marks.fed = w.distinct;
      await Promise.all([a, d].map((worker) => worker.whileAlive(w.waitForDistinct(produced, 60_000))));
      a.kill('SIGTERM');
      d.kill('SIGTERM');
      const [exitA, exitD] = await withTimeout(
        Promise.all([a.exited, d.exited]),
        30_000,
        'workers A and D draining after SIGTERM',
      );
      // Anything still on its way (a late duplicate) arrives within this.
      await delay(1_500);

      const input = await consumeAll(scene.brokers, scene.input, { count: produced, timeoutMs: 60_000 });
      const { positions, keys, states } = await compareWithReference(loaded, scene, input);
      const lost = lostInputs(w, positions).length;
      const mismatches = await describeKeys(
        loaded,
        scene.uris.state,
        scene.uris.reference,
        states.bookkeeping,
      );
      const figures = {
        inputs: positions.length,
        keys: keys.length,
        marks,
        outputs: w.total,
        lost,
        duplicates: w.duplicates,
        replayedOutputs: w.replayed,
        exits: { A: exitA, B: exitB, C: exitC, D: exitD },
        rebalances: Object.fromEntries(workers.map((x) => [x.name, x.count('kafka group joined')])),
        states,
        mismatches,
        // How the first mismatched key's count grew, output by output: where tokens went missing.
        trace: w.outputs
          .filter((o) => o.key === states.bookkeeping[0])
          .map((o) => `${o.position}${o.replayed ? 'r' : ''}+${o.value.tokens}=${o.value.totalTokens}`)
          .join(' '),
        seconds: (Date.now() - started) / 1000,
      };
      t.diagnostic(`FAULT rebalance: ${JSON.stringify(figures)}`);
      assert.equal(positions.length, MESSAGES);
      assert.ok(marks['C killed'] < MESSAGES, 'the SIGKILL happened mid-stream');
      assert.deepEqual(exitB, { code: 0, signal: null }, `worker B exit\n${b.tail()}`);
      assert.equal(exitC.signal, 'SIGKILL');
      assert.deepEqual(exitA, { code: 0, signal: null }, `worker A exit\n${a.tail()}`);
      assert.deepEqual(exitD, { code: 0, signal: null }, `worker D exit\n${d.tail()}`);
      assert.equal(lost, 0, 'inputs without any output');
      assert.equal(w.total, positions.length + w.duplicates);
      assertStatesEqual(states);
    } finally {
      await disposeScene(scene, { workers, watcher, load });
    }
  });
});
