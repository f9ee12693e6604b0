/**
 * Bad state (issue 5, fault 5): garbage bytes, a truncated record, a wrong checksum, another model's
 * fingerprint, and records holding NaN or Infinity are seeded under keys before a worker starts. Each must
 * be detected before use (never fed to the network), counted, and handled per `--on-bad-state`:
 * `reset` (a warning, a fresh sequence), `dlq` (the key's messages in the DLQ with the reason), `fail`
 * (non-zero exit, nothing committed past the bad key). No NaN or Infinity ever leaves in an output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { OutputMessage } from '../../core/contracts.js';
import { seededRandom } from '../../model/verify.js';
import { rootLogger } from '../../pipeline/logger.js';
import { type LoadedModel, loadPipelineModel } from '../../pipeline/model.js';
import { encodeRecord } from '../../pipeline/state/record.js';
import {
  committedOffsets,
  compareStates,
  type FaultScene,
  type FeedMessage,
  freePort,
  makeScene,
  OutputWatcher,
  referencePass,
  scrapeMetric,
  WorkerProcess,
} from '../fixtures/faults.js';
import { makeTinyModel } from '../fixtures/tinyModel.js';
import {
  consumeAll,
  createTopic,
  deleteKeys,
  deleteTopics,
  getServices,
  produce,
  redisClient,
  type Services,
} from '../harness/index.js';

/** Each kind of unusable record, and the reason the reader must give. */
const BAD = {
  'bad-garbage': 'bad-magic',
  'bad-truncated': 'truncated',
  'bad-checksum': 'bad-checksum',
  'bad-other-model': 'other-model',
  'bad-nan': 'non-finite',
  'bad-inf': 'non-finite',
} as const;
type BadKey = keyof typeof BAD;
const BAD_KEYS = Object.keys(BAD) as BadKey[];
const GOOD_KEYS = Array.from({ length: 8 }, (_, i) => `good-${i}`);
const WORDS = ['good', 'bad', 'movie', 'the', 'food', 'was', 'not', 'great', 'terrible', 'love'];
const RESET_WARNING = 'stored state unusable: starting the sequence over (--on-bad-state reset)';

/**
 * One partition: a first round of good keys (offsets 0–7, the "history" the seeded records are fenced
 * in), then two rounds of every key. The first message of a bad key is at offset 16.
 */
function makeInputs(): FeedMessage[] {
  const random = seededRandom(99);
  const text = () =>
    Array.from(
      { length: 4 + Math.floor(random() * 5) },
      () => WORDS[Math.floor(random() * WORDS.length)],
    ).join(' ');
  const feed: FeedMessage[] = GOOD_KEYS.map((key) => ({ key, value: JSON.stringify({ text: text() }) }));
  for (let round = 0; round < 2; round++) {
    for (const key of [...GOOD_KEYS, ...BAD_KEYS])
      feed.push({ key, value: JSON.stringify({ text: text() }) });
  }
  return feed;
}
const FIRST_BAD_OFFSET = GOOD_KEYS.length * 2;

/** The unusable bytes for each bad key; `fenceOffset` is where their (readable) fence says they stand. */
function badRecords(loaded: LoadedModel, fenceOffset: string): Map<BadKey, Buffer> {
  const { schema } = loaded;
  const per = schema.layers * schema.hidden;
  const fence = { partition: 0, offset: fenceOffset };
  const record = (h: Float32Array, c: Float32Array, fingerprint = schema.fingerprint) =>
    encodeRecord(
      { ...schema, fingerprint },
      { key: 'k', fence, stored: { state: { h, c }, fence, totalTokens: 5, updatedAt: 1_700_000_000_000 } },
    );
  const h = new Float32Array(per).fill(0.25);
  const c = new Float32Array(per).fill(-0.5);
  const valid = record(h, c);
  const random = seededRandom(7);
  const garbage = Buffer.from(Array.from({ length: valid.length }, () => Math.floor(random() * 256)));
  garbage[0] = 0; // never the magic by chance
  const checksum = Buffer.from(valid);
  checksum[60] ^= 0x40; // one bit of a state value
  const nan = new Float32Array(h);
  nan[3] = Number.NaN;
  const inf = new Float32Array(c);
  inf[per - 1] = Number.POSITIVE_INFINITY;
  const otherFingerprint = schema.fingerprint.replace(/^./, (d) => (d === 'f' ? '0' : 'f'));
  return new Map<BadKey, Buffer>([
    ['bad-garbage', garbage],
    ['bad-truncated', valid.subarray(0, valid.length - 9)],
    ['bad-checksum', checksum],
    ['bad-other-model', record(h, c, otherFingerprint)],
    ['bad-nan', record(nan, c)],
    ['bad-inf', record(h, inf)],
  ]);
}

describe('fault: bad stored state (--on-bad-state reset|dlq|fail)', () => {
  let services: Services;
  let model: string;
  let loaded: LoadedModel;
  let redis: Redis;
  const inputs = makeInputs();
  /** Reference outputs by input offset: every key from a fresh state (what `reset` must give). */
  const reference = new Map<string, OutputMessage>();
  let referenceUri: string;
  const scenes: FaultScene[] = [];
  const workers: WorkerProcess[] = [];

  before(async () => {
    services = await getServices();
    redis = await redisClient(services.redisUrl);
    model = await makeTinyModel({ cell: 'lstm', seed: 11 });
    loaded = await loadPipelineModel({ dir: model, backend: 'wasm', log: rootLogger() });
    const records = inputs.map((m, offset) => ({
      key: Buffer.from(m.key),
      value: Buffer.from(m.value),
      source: { topic: 'reference', partition: 0, offset: String(offset) },
    }));
    const refScene = makeScene(services.kafkaBrokers, services.redisUrl, 'badstate-ref');
    scenes.push(refScene);
    referenceUri = refScene.uris.reference;
    const { outputs } = await referencePass(loaded, records, referenceUri);
    for (const out of outputs) reference.set(out.value.source.offset, out.value);
    assert.equal(reference.size, inputs.length);
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.dispose()));
    for (const scene of scenes) {
      await deleteTopics(scene.brokers, [scene.input, scene.output, scene.dlq]).catch(() => undefined);
      await deleteKeys(redis, scene.prefix).catch(() => undefined);
      await deleteKeys(redis, scene.referencePrefix).catch(() => undefined);
    }
    await redis?.quit();
    loaded?.model.engine.dispose();
    await services?.stop();
  });

  /** A fresh scene with the inputs produced and the bad records seeded; returns what was seeded. */
  async function setUp(
    name: string,
    fenceOffset = '3',
  ): Promise<{ scene: FaultScene; seeded: Map<BadKey, Buffer> }> {
    const scene = makeScene(services.kafkaBrokers, services.redisUrl, name);
    scenes.push(scene);
    await createTopic(scene.brokers, scene.input, 1);
    await createTopic(scene.brokers, scene.output, 1);
    await createTopic(scene.brokers, scene.dlq, 1);
    await produce(scene.brokers, scene.input, inputs);
    const seeded = badRecords(loaded, fenceOffset);
    for (const [key, bytes] of seeded) await redis.set(scene.prefix + key, bytes);
    return { scene, seeded };
  }

  function start(scene: FaultScene, policy: 'reset' | 'dlq' | 'fail', metricsPort?: number): WorkerProcess {
    const worker = WorkerProcess.start({
      in: scene.uris.in,
      out: scene.uris.out,
      dlq: scene.uris.dlq,
      state: scene.uris.state,
      model,
      onBadState: policy,
      args: metricsPort === undefined ? [] : ['--metrics-port', String(metricsPort)],
      name: `worker (${policy})`,
    });
    workers.push(worker);
    return worker;
  }

  function assertFiniteOutputs(outputs: readonly { value: OutputMessage }[]): void {
    for (const { value } of outputs) {
      assert.ok(Number.isFinite(value.sentiment?.score), `non-finite score in ${JSON.stringify(value)}`);
    }
  }

  it('reset: warns and counts each bad key once, scores it from a fresh state, and stores a good one', async (t) => {
    const { scene } = await setUp('badstate-reset');
    const port = await freePort();
    const watcher = await OutputWatcher.start(scene.brokers, scene.output, 'read_uncommitted');
    try {
      const worker = start(scene, 'reset', port);
      await worker.running();
      await watcher.waitForDistinct(inputs.length, 60_000);
      const counted = await scrapeMetric(port, 'rnnstream_bad_states_total');
      const deadLetters = await scrapeMetric(port, 'rnnstream_dead_letters_total');
      worker.kill('SIGTERM');
      assert.deepEqual(await worker.exited, { code: 0, signal: null });

      const warned = worker.logs.filter((l) => l.msg === RESET_WARNING).map((l) => [l.key, l.reason]);
      assert.deepEqual(new Map(warned as [string, string][]), new Map(Object.entries(BAD)));
      assert.equal(worker.count(RESET_WARNING), BAD_KEYS.length, 'one warning per bad key');
      assert.equal(counted, BAD_KEYS.length, 'rnnstream_bad_states_total');
      assert.equal(deadLetters, 0);
      assert.equal(watcher.total, inputs.length);
      assertFiniteOutputs(watcher.outputs);
      // Scored as if the key were new: exactly the reference's outputs (which never saw the bad bytes).
      for (const { value } of watcher.outputs) {
        const ref = reference.get(value.source.offset);
        assert.ok(ref, `no reference output for offset ${value.source.offset}`);
        assert.equal(
          value.totalTokens,
          ref.totalTokens,
          `totalTokens of ${value.key}@${value.source.offset}`,
        );
        assert.ok(Math.abs((value.sentiment?.score ?? Number.NaN) - (ref.sentiment?.score ?? 0)) <= 1e-6);
      }
      const states = await compareStates(loaded, scene.uris.state, referenceUri, [...GOOD_KEYS, ...BAD_KEYS]);
      t.diagnostic(`FAULT bad-state reset: ${JSON.stringify({ counted, warned: warned.length, states })}`);
      assert.deepEqual(states.missing, [], 'every bad key holds a usable state again');
      assert.deepEqual(states.bookkeeping, []);
      assert.equal(states.nonFinite, 0);
      assert.ok(states.maxAbsDiff <= 1e-6, `max |state - reference| = ${states.maxAbsDiff}`);
    } finally {
      await watcher.stop();
    }
  });

  it('dlq: every message of a bad key goes to the DLQ with its reason; the bad bytes stay untouched', async (t) => {
    const { scene, seeded } = await setUp('badstate-dlq');
    const watcher = await OutputWatcher.start(scene.brokers, scene.output, 'read_uncommitted');
    try {
      const worker = start(scene, 'dlq');
      await worker.running();
      const badMessages = inputs.filter((m) => m.key.startsWith('bad-')).length;
      const dead = await consumeAll(scene.brokers, scene.dlq, { count: badMessages, timeoutMs: 60_000 });
      await watcher.waitForDistinct(inputs.length - badMessages, 60_000);
      // Nothing more arrives: one dead letter per bad message, one output per good one.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      worker.kill('SIGTERM');
      assert.deepEqual(await worker.exited, { code: 0, signal: null });

      t.diagnostic(
        `FAULT bad-state dlq: ${JSON.stringify({ deadLetters: dead.length, outputs: watcher.total })}`,
      );
      assert.equal(dead.length, badMessages);
      for (const letter of dead) {
        const key = letter.key as BadKey;
        assert.equal(letter.headers['rnnstream-reason'], BAD[key], `reason for ${key}`);
        assert.equal(letter.headers['rnnstream-stage'], 'state');
        const offset = Number(letter.headers['rnnstream-source'].split('/').pop());
        assert.equal(letter.value, inputs[offset].value, 'the original bytes');
        assert.equal(inputs[offset].key, key);
      }
      assert.equal(watcher.total, inputs.length - badMessages, 'outputs of good keys only, once each');
      assert.ok(watcher.outputs.every((o) => o.key?.startsWith('good-')));
      assertFiniteOutputs(watcher.outputs);
      for (const { value } of watcher.outputs) {
        assert.ok(
          Math.abs(
            (value.sentiment?.score ?? 0) - (reference.get(value.source.offset)?.sentiment?.score ?? 1),
          ) <= 1e-6,
        );
      }
      for (const [key, bytes] of seeded) {
        assert.deepEqual(await redis.getBuffer(scene.prefix + key), bytes, `${key} was not overwritten`);
      }
    } finally {
      await watcher.stop();
    }
  });

  it('fail: exits non-zero on the first bad key and commits nothing past it', async (t) => {
    const { scene, seeded } = await setUp('badstate-fail');
    const watcher = await OutputWatcher.start(scene.brokers, scene.output, 'read_uncommitted');
    try {
      const worker = start(scene, 'fail');
      await worker.running();
      const exit = await Promise.race([
        worker.exited,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`worker did not exit\n${worker.tail()}`)), 60_000),
        ),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const committed = await committedOffsets(scene.brokers, scene.group, scene.input);
      t.diagnostic(
        `FAULT bad-state fail: ${JSON.stringify({ exit, committed: [...committed], outputs: watcher.total })}`,
      );
      assert.notEqual(exit.code, 0, 'non-zero exit');
      assert.equal(exit.signal, null);
      const errors = worker.logs.filter((l) => l.level >= 50).map((l) => JSON.stringify(l));
      assert.ok(
        errors.some((line) => line.includes('unusable')) ||
          worker.rawErrors.some((line) => line.includes('unusable')),
        `the error names the unusable state\n${worker.tail()}`,
      );
      const offset = Number(committed.get(0) ?? '-1');
      assert.ok(offset <= FIRST_BAD_OFFSET, `committed ${offset}, first bad key at ${FIRST_BAD_OFFSET}`);
      assert.ok(
        watcher.outputs.every((o) => Number(o.value.source.offset) < FIRST_BAD_OFFSET),
        'no output past the bad key',
      );
      assertFiniteOutputs(watcher.outputs);
      for (const [key, bytes] of seeded) {
        assert.deepEqual(await redis.getBuffer(scene.prefix + key), bytes, `${key} was not overwritten`);
      }
    } finally {
      await watcher.stop();
    }
  });

  // A model switch that replays the topic into the same namespace: the old model's records carry fences
  // past the offsets being replayed; they hold no fence over the new model (pipeline/state/fenceScript.ts).
  it('reset: a record of another model fenced past the new offsets is replaced, not kept', async () => {
    const { scene } = await setUp('badstate-fenced', '1000000');
    const watcher = await OutputWatcher.start(scene.brokers, scene.output, 'read_uncommitted', false);
    try {
      const worker = start(scene, 'reset');
      await worker.running();
      await watcher.waitForDistinct(inputs.length, 60_000);
      worker.kill('SIGTERM');
      assert.deepEqual(await worker.exited, { code: 0, signal: null });
      const states = await compareStates(loaded, scene.uris.state, referenceUri, ['bad-other-model']);
      assert.deepEqual(states.missing, [], 'the new model state replaced the other model record');
      assert.ok(states.maxAbsDiff <= 1e-6);
      // One reset, not one per message: once replaced, the key's state is used again.
      assert.equal(
        worker.logs.filter((l) => l.msg === RESET_WARNING && l.key === 'bad-other-model').length,
        1,
      );
    } finally {
      await watcher.stop();
    }
  });
});
