/**
 * Broker restart (issue 5, fault 4): a second KRaft broker of this test's own (deploy/services.sh on
 * ports 19092/19093, never the shared one) is stopped for about 8 s while the worker is mid-stream, then
 * started again on the same data (`RNNSTREAM_KAFKA_KEEP_DATA=1`). The worker must ride over the outage
 * and resume; at the end every input has an output and every key's final state equals an uninterrupted
 * pass. Duplicated outputs are allowed (at-least-once) and reported.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  assertStatesEqual,
  consumeAll,
  delay,
  makeFeed,
  positionsOf,
  produceMany,
  REPO_ROOT,
  topicEnds,
  useFixture,
  waitFor,
} from '../harness/index.js';

const BROKER = '127.0.0.1:19092';
/** services.sh settings of this test's own broker: its ports, its folder, no kcat install. */
const BROKER_ENV = {
  RNNSTREAM_KAFKA_PORT: '19092',
  RNNSTREAM_KAFKA_CONTROLLER_PORT: '19093',
  RNNSTREAM_RUN_DIR: '/tmp/rnnstream-fault-kafka',
  RNNSTREAM_SKIP_TOOLS: '1',
};
/** How long the broker stays away (from the start of its shutdown to the start of its restart). */
const OUTAGE_MS = 8_000;
const MESSAGES_BEFORE = 3_000;
const MESSAGES_AFTER = 2_000;
const KEYS = 300;

/** Runs `deploy/services.sh <command>` for this test's broker; rejects with its stderr on failure. */
function services(command: 'up' | 'down', keepData = false): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['deploy/services.sh', command],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...BROKER_ENV, RNNSTREAM_KAFKA_KEEP_DATA: keepData ? '1' : '0' },
        timeout: 120_000,
      },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`services.sh ${command} failed: ${error.message}\n${stderr}`)) : resolve(),
    );
  });
}

describe('fault: the Kafka broker restarts under load', () => {
  const fx = useFixture({ model: { cell: 'lstm', seed: 13 }, loadModel: true });
  before(async () => {
    // A fresh broker: stop a leftover of an interrupted run, then format new data.
    await services('down');
    await services('up');
  });
  after(() => services('down'));

  it('rides over the outage, loses no input, and every final state equals an uninterrupted pass', async (t) => {
    const started = Date.now();
    const scene = await fx.scene('broker-restart', { brokers: [BROKER] }).createTopics(4);
    const feed = makeFeed({ messages: MESSAGES_BEFORE + MESSAGES_AFTER, keys: KEYS, seed: 77 });
    await produceMany(scene.brokers, scene.input, feed.slice(0, MESSAGES_BEFORE));

    const w = await scene.watch({ keep: false });
    const live = scene.startWorker({
      // Small batches and a short read-ahead, so the outage finds work in flight.
      args: ['--max-batch-rows', '200', '--max-in-flight', '1000'],
    });
    await live.running();
    await live.whileAlive(
      waitFor(
        () => w.distinct >= 500,
        60_000,
        () => `${w.distinct} outputs before the outage\n${live.tail()}`,
        5,
      ),
    );

    const atStop = w.distinct;
    const stoppedAt = Date.now();
    await services('down');
    const atDown = w.distinct;
    await delay(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
    assert.equal(live.exit, undefined, `the worker survived the outage\n${live.tail()}`);
    const restartAt = Date.now();
    await services('up', true);
    const upAt = Date.now();
    const atUp = w.distinct;
    assert.equal(live.exit, undefined, `the worker survived the restart\n${live.tail()}`);
    // Timed in the background: the first output after the restart may come while we produce below.
    const resumed = live.whileAlive(
      waitFor(
        () => w.distinct > atUp,
        90_000,
        () => `outputs after the restart\n${live.tail()}`,
      ).then(() => Date.now() - upAt),
    );

    // New inputs after the restart: the worker must read them from the restarted broker.
    await produceMany(scene.brokers, scene.input, feed.slice(MESSAGES_BEFORE));
    const inputs = await consumeAll(scene.brokers, scene.input, { count: feed.length, timeoutMs: 60_000 });
    assert.equal(inputs.length, feed.length, 'the restarted broker kept every input');
    const positions = positionsOf(inputs);
    const resumeMs = await resumed;
    await live.whileAlive(
      waitFor(
        () => w.distinct >= positions.length,
        60_000,
        () => `outputs of ${scene.output}: ${w.distinct} of ${positions.length}\n${live.tail()}`,
        100,
      ),
    );
    live.kill('SIGTERM');
    const exit = await live.exited;
    await delay(1_000);

    const { keys, states, lost } = await scene.compareWithReference(fx.loaded, w, feed.length);
    const outputs = (await topicEnds(scene.brokers, scene.output)).records;
    const warnings = live.logs.filter((l) => l.level >= 40);
    const figures = {
      inputs: positions.length,
      keys: keys.length,
      outputsAtStop: atStop,
      outputsWhenDown: atDown,
      outputsAtRestart: atUp,
      outageMs: upAt - stoppedAt,
      restartMs: upAt - restartAt,
      resumeMs,
      outputs,
      duplicates: outputs - positions.length,
      lost,
      exit,
      warnings: warnings.length,
      warningMessages: [...new Set(warnings.map((l) => l.msg))].slice(0, 10),
      consumerCrashes: live.count('kafka consumer crashed'),
      states,
      seconds: (Date.now() - started) / 1000,
    };
    t.diagnostic(`FAULT broker restart: ${JSON.stringify(figures)}`);
    // When each complaint came, in ms after the broker was back (negative: during the outage).
    const timeline = warnings.map((l) => `${Number(l.time) - upAt} ${l.msg}`.slice(0, 120));
    t.diagnostic(`worker warnings: ${JSON.stringify(timeline.slice(-25))}`);
    assert.ok(atDown < positions.length, `the outage came mid-stream (${atDown} of ${positions.length})`);
    assert.equal(lost, 0, 'inputs without any output');
    assert.ok(outputs >= positions.length);
    assert.deepEqual(exit, { code: 0, signal: null });
    assertStatesEqual(states);
  });
});
