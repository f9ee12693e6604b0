/**
 * Zombie and rebalance under `--exactly-once` (issue 13): three workers share a group; one is frozen (SIGSTOP)
 * longer than the session timeout, so its partitions move to the others, and then thawed — a zombie that
 * still holds batches it read before the freeze. Another member is SIGKILLed in the middle of the rebalance
 * the zombie's return starts. Outputs are read `read_committed`: every input must have exactly one
 * output, and every key's final state must equal an uninterrupted pass.
 *
 * The guard is one transactional producer per input partition (its transactional id derived from group,
 * topic and partition): whoever owns a partition fences its previous owner's producer, so the zombie's
 * in-flight transactions can no longer commit.
 *
 * The survivors must also exit cleanly on SIGTERM. They once did not (2 of 6 runs, issue 13): a group join
 * that landed while a worker stopped still ran `onAssign`, which created transactional producers after the
 * sink had closed its own; their broker connection kept the process alive after its run was done. A join
 * while stopping now readies nothing, a closed sink creates no producer, and the drain's bound
 * (`--shutdown-timeout-ms`) covers closing the connectors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
  positionsOf,
  startSceneWorker,
  type WorkerProcess,
  waitFor,
} from '../fixtures/faults.js';
import { consumeAll, createTopic } from '../harness/index.js';

/**
 * Inputs are fed at RATE while the group changes, and the feed stops once the last fault is behind (it
 * holds more than that takes, so every fault happens under load).
 */
const MAX_MESSAGES = 30_000;
const RATE = 300;
const PARTITIONS = 4;
/** How long the zombie stays frozen: twice the scene's 6 s session timeout. */
const FREEZE_MS = 12_000;
const FENCED = 'partition fenced: its outputs are dropped (another worker owns it now)';

/** The partitions of the worker's latest group join (empty before its first). */
function lastAssignment(worker: WorkerProcess): number[] {
  const joins = worker.logs.filter((l) => l.msg === 'kafka group joined');
  const last = joins[joins.length - 1];
  return Array.isArray(last?.assigned) ? (last.assigned as number[]) : [];
}

/** Waits until `condition` holds, failing at once if one of `workers` exits meanwhile. */
function whileAllAlive(
  workers: readonly WorkerProcess[],
  condition: () => boolean,
  what: (worker: WorkerProcess) => string,
  everyMs = 50,
): Promise<unknown> {
  return Promise.all(
    workers.map((worker) => worker.whileAlive(waitFor(condition, 90_000, () => what(worker), everyMs))),
  );
}

describe('fault: a frozen worker thawed after its partitions moved, and a SIGKILL in the rebalance it starts (--exactly-once)', () => {
  const fx = faultFixture({ cell: 'gru', seed: 13 });

  it('commits exactly one output per input, and every final state equals an uninterrupted pass', async (t) => {
    const started = Date.now();
    const scene = makeScene(fx.services.kafkaBrokers, fx.services.redisUrl, 'zombie');
    const workers: WorkerProcess[] = [];
    let watcher: OutputWatcher | undefined;
    let load: LoadProducer | undefined;
    const start = (name: string) => {
      const worker = startSceneWorker(scene, fx.model, {
        exactlyOnce: true,
        // Small batches and a short read-ahead: many transactions, some always open when the freeze lands.
        args: ['--max-batch-rows', '100', '--max-in-flight', '1000'],
        name: `worker ${name}`,
      });
      workers.push(worker);
      return worker;
    };
    const marks: Record<string, number> = {};
    try {
      await createTopic(scene.brokers, scene.input, PARTITIONS);
      await createTopic(scene.brokers, scene.output, PARTITIONS);
      watcher = await OutputWatcher.start(scene.brokers, scene.output, 'read_committed', false);
      const w = watcher;
      const feed = makeFeed({ messages: MAX_MESSAGES, keys: 400, seed: 1313 });

      const [a, b, c] = [start('A'), start('B'), start('C')];
      await Promise.all([a, b, c].map((worker) => worker.running()));
      for (const worker of [a, b, c]) {
        await whileAllAlive(
          [worker],
          () => lastAssignment(worker).length > 0,
          (x) => `${x.name} got no partition\n${x.tail()}`,
        );
      }
      load = await LoadProducer.start(scene.brokers, scene.input, feed, RATE, 50);
      await whileAllAlive(
        [a, b, c],
        () => w.distinct >= 1_500,
        (x) => `${w.distinct} outputs\n${x.tail()}`,
      );

      // The zombie: A freezes with batches in flight; past the session timeout its partitions go to B and C.
      a.kill('SIGSTOP');
      const frozenAt = Date.now();
      marks.frozen = w.distinct;
      await whileAllAlive(
        [b, c],
        () => lastAssignment(b).length + lastAssignment(c).length === PARTITIONS,
        (x) => `A's partitions did not move to B and C\n${x.tail()}`,
      );
      const base = w.distinct;
      await whileAllAlive(
        [b, c],
        () => w.distinct > base + 300,
        (x) => `no progress on the moved partitions\n${x.tail()}`,
      );
      await delay(Math.max(0, FREEZE_MS - (Date.now() - frozenAt)));
      const joinsBefore = a.count('kafka group joined');
      const rebalancingBefore = b.count('rebalancing');
      a.kill('SIGCONT');
      marks.thawed = w.distinct;

      // The zombie finds out it left the group and rejoins: B is SIGKILLed in the middle of that rebalance.
      await whileAllAlive(
        [b],
        () => b.count('rebalancing') > rebalancingBefore,
        () => `B saw no rebalance after A was thawed\n${b.tail()}`,
        5,
      );
      b.kill('SIGKILL');
      const exitB = await b.exited;
      marks['B killed'] = w.distinct;
      await whileAllAlive(
        [a],
        () => a.count('kafka group joined') > joinsBefore && lastAssignment(a).length > 0,
        () => `worker A did not rejoin after the thaw\n${a.tail()}`,
      );
      marks.rejoined = w.distinct;

      // The survivors take B's partitions (after its session times out) and go on under load; then the feed stops.
      const afterKill = w.distinct;
      await whileAllAlive(
        [a, c],
        () => w.distinct > afterKill + 600,
        (x) => `no progress after B was killed\n${x.tail()}`,
      );
      marks.fedUntil = load.produced;
      const produced = await load.stop();
      load = undefined;
      const input = await consumeAll(scene.brokers, scene.input, { count: produced, timeoutMs: 60_000 });
      /** Inputs still without an output, per partition (failure diagnostics). */
      const missing = () => {
        const byPartition = new Map<string, string[]>();
        for (const p of lostInputs(w, positionsOf(input))) {
          const [partition, offset] = p.split(':');
          byPartition.set(partition, [...(byPartition.get(partition) ?? []), offset]);
        }
        return JSON.stringify(
          Object.fromEntries(
            [...byPartition].map(([p, o]) => [p, `${o.length}: ${o.slice(0, 3)}…${o.at(-1)}`]),
          ),
        );
      };
      await whileAllAlive(
        [a, c],
        () => w.distinct >= produced,
        () =>
          `${w.distinct} of ${produced} inputs have an output; missing ${missing()}\n${a.tail(30)}\n${c.tail(30)}`,
        100,
      );
      a.kill('SIGTERM');
      c.kill('SIGTERM');
      await waitFor(
        () => a.exit !== undefined && c.exit !== undefined,
        30_000,
        () => `workers A and C draining after SIGTERM\n${a.tail(40)}\n${c.tail(40)}`,
        100,
      );
      const [exitA, exitC] = await Promise.all([a.exited, c.exited]);
      // Anything still on its way (a late duplicate) arrives within this.
      await delay(1_500);

      const { positions, keys, states } = await compareWithReference(fx.loaded, scene, input);
      const lost = lostInputs(w, positions).length;
      const figures = {
        inputs: positions.length,
        keys: keys.length,
        marks,
        outputs: w.total,
        lost,
        duplicates: w.duplicates,
        replayedOutputs: w.replayed,
        fenced: Object.fromEntries(workers.map((x) => [x.name, x.count(FENCED)])),
        exits: { A: exitA, B: exitB, C: exitC },
        rebalances: Object.fromEntries(workers.map((x) => [x.name, x.count('kafka group joined')])),
        states: { ...states, missing: states.missing.length, bookkeeping: states.bookkeeping.length },
        seconds: (Date.now() - started) / 1000,
      };
      t.diagnostic(`FAULT zombie: ${JSON.stringify(figures)}`);
      assert.equal(positions.length, produced);
      assert.ok(produced < MAX_MESSAGES, 'every fault happened while inputs were being fed');
      assert.ok(marks['B killed'] < produced, 'the SIGKILL happened mid-stream');
      assert.equal(exitB.signal, 'SIGKILL');
      assert.deepEqual(exitA, { code: 0, signal: null }, `worker A exit\n${a.tail()}`);
      assert.deepEqual(exitC, { code: 0, signal: null }, `worker C exit\n${c.tail()}`);
      assert.equal(lost, 0, 'inputs without a committed output');
      assert.equal(w.duplicates, 0, 'inputs with more than one committed output');
      assert.equal(w.total, positions.length);
      assertStatesEqual(states);
    } finally {
      await disposeScene(scene, { workers, watcher, load });
    }
  });
});
