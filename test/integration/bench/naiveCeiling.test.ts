/**
 * The end-to-end benchmark's two companions against the real broker and Redis (issue 6): the naive
 * baseline scores exactly like the pipeline (one output per input, same scores, states in Redis), and the
 * Kafka ceiling produces and reads back exactly the messages it reports. No timing is asserted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { measureKafkaCeiling } from '../../../bench/kafkaCeiling.js';
import { BENCH_WORDS } from '../../../bench/memorySource.js';
import { runNaive } from '../../../bench/naive.js';
import { seededRandom } from '../../../bench/random.js';
import type { SourceRecord } from '../../../core/contracts.js';
import { ConfigError } from '../../../core/errors.js';
import { rootLogger } from '../../../pipeline/logger.js';
import { type LoadedModel, loadPipelineModel } from '../../../pipeline/model.js';
import { runPipeline } from '../../../pipeline/run.js';
import { MemoryStateStore } from '../../../pipeline/state/memoryStore.js';
import { ArrayDeadLetterSink, ArraySink, ArraySource } from '../../fixtures/memoryConnectors.js';
import {
  type ConsumedMessage,
  consumeAll,
  createTopic,
  deleteKeys,
  deleteTopics,
  getServices,
  produce,
  redisClient,
  type Services,
  testKafka,
  uniqueName,
} from '../../harness/index.js';

const KEYS = 5;
const MESSAGES = 60;

/** `MESSAGES` texts of 3 to 12 common words, keys round robin. */
function inputs(): { key: string; value: string }[] {
  const next = seededRandom(6);
  return Array.from({ length: MESSAGES }, (_, i) => {
    const words = Array.from(
      { length: 3 + Math.floor(next() * 10) },
      () => BENCH_WORDS[Math.floor(next() * BENCH_WORDS.length)],
    );
    return { key: `session-${i % KEYS}`, value: JSON.stringify({ text: words.join(' '), id: String(i) }) };
  });
}

interface NaiveOutput {
  key: string;
  id?: string;
  sentiment: { label: string; score: number };
  tokens: number;
  source: { partition: number; offset: string };
}

describe('bench: naive baseline and Kafka ceiling', { timeout: 60_000 }, () => {
  let services: Services;
  let redis: Redis;
  let loaded: LoadedModel;
  const topics: string[] = [];
  const prefix = `${uniqueName('naive-state')}:`;

  before(async () => {
    services = await getServices();
    redis = await redisClient(services.redisUrl);
    loaded = await loadPipelineModel({ backend: 'wasm', log: rootLogger() });
  });

  after(async () => {
    if (services) await deleteTopics(services.kafkaBrokers, topics);
    if (redis) {
      await deleteKeys(redis, prefix);
      await redis.quit();
    }
    loaded?.model.engine.dispose();
    await services?.stop();
  });

  it('naive: one output per input, scored as the pipeline scores them, states left in Redis', async () => {
    const brokers = services.kafkaBrokers;
    const input = uniqueName('naive-in');
    const output = uniqueName('naive-out');
    topics.push(input, output);
    await createTopic(brokers, input, 3);
    await produce(brokers, input, inputs());
    const consumed: ConsumedMessage[] = await consumeAll(brokers, input, { count: MESSAGES });

    const result = await runNaive({
      brokers,
      input,
      output,
      count: MESSAGES,
      redis: services.redisUrl,
      prefix,
      group: uniqueName('naive-group'),
      backend: 'wasm',
    });
    assert.equal(result.bench, 'naive');
    assert.equal(result.messages, MESSAGES);
    assert.ok(result.tokens >= 3 * MESSAGES, `tokens ${result.tokens}`);
    assert.equal(result.backend, 'wasm');

    // The same records (same keys, texts and positions) through the real, micro-batched pipeline.
    const records: SourceRecord[] = consumed.map((m) => ({
      key: Buffer.from(m.key ?? ''),
      value: m.rawValue,
      source: { topic: m.topic, partition: m.partition, offset: m.offset },
    }));
    const sink = new ArraySink();
    const deadLetters = new ArrayDeadLetterSink();
    const store = new MemoryStateStore(loaded.schema);
    await runPipeline({
      source: new ArraySource(records),
      sink,
      deadLetters,
      store,
      model: loaded.model,
      log: rootLogger().child({ ns: 'naive-test' }),
    }).done;
    assert.equal(deadLetters.dead.length, 0);
    const expected = new Map(
      sink.records.map((r) => [`${r.value.source.partition}:${r.value.source.offset}`, r.value]),
    );
    assert.equal(expected.size, MESSAGES);

    const outputs = (await consumeAll(brokers, output, { count: MESSAGES, settleMs: 500 })).map(
      (m) => JSON.parse(m.value ?? '') as NaiveOutput,
    );
    assert.equal(outputs.length, MESSAGES, 'one output per input, nothing more');
    const seen = new Set<string>();
    for (const out of outputs) {
      const at = `${out.source.partition}:${out.source.offset}`;
      assert.ok(!seen.has(at), `two outputs for input ${at}`);
      seen.add(at);
      const want = expected.get(at);
      assert.ok(want, `output for ${at}, which is not an input`);
      assert.equal(out.key, want.key);
      assert.equal(out.id, want.id);
      assert.equal(out.tokens, want.tokens);
      assert.equal(out.sentiment.label, want.sentiment?.label, `label of ${at}`);
      assert.ok(
        Math.abs(out.sentiment.score - (want.sentiment?.score ?? Number.NaN)) < 1e-5,
        `score of ${at}: naive ${out.sentiment.score}, pipeline ${want.sentiment?.score}`,
      );
    }

    // Each key's final state in Redis: raw float32 h, equal to the pipeline's.
    const keys = Array.from({ length: KEYS }, (_, k) => `session-${k}`);
    const finals = await store.load(keys);
    for (const key of keys) {
      const bytes = await redis.getBuffer(`${prefix}${key}`);
      assert.ok(bytes, `state of ${key} in Redis`);
      const h = new Float32Array(new Uint8Array(bytes).buffer);
      const final = finals.get(key);
      assert.ok(final?.kind === 'ok', `pipeline state of ${key}`);
      assert.equal(h.length, final.stored.state.h.length);
      for (let i = 0; i < h.length; i++)
        assert.ok(Math.abs(h[i] - final.stored.state.h[i]) < 1e-5, `h[${i}] of ${key}`);
    }
    await store.close();
  });

  it('ceiling: produces and reads back exactly the messages it reports', async () => {
    const brokers = services.kafkaBrokers;
    const topic = uniqueName('ceiling');
    topics.push(topic);
    const result = await measureKafkaCeiling({ brokers, topic, messages: 2000, keys: 100, partitions: 2 });
    assert.equal(result.bench, 'kafka-ceiling');
    assert.equal(result.messages, 2000);
    assert.equal(result.partitions, 2);
    assert.ok(Math.abs(result.value_bytes - 160) <= 2, `value_bytes ${result.value_bytes}`);
    for (const rate of [result.produce_messages_per_s, result.consume_messages_per_s]) {
      assert.ok(Number.isFinite(rate) && rate > 0, `rate ${rate}`);
    }

    const admin = testKafka(brokers).admin();
    try {
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic);
      assert.equal(
        offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0),
        2000,
      );
    } finally {
      await admin.disconnect();
    }
    // A topic that already holds messages would be counted twice by the read pass: refused.
    await assert.rejects(measureKafkaCeiling({ brokers, topic, messages: 10 }), ConfigError);
  });
});
