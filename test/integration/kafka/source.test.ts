/**
 * KafkaSource against a real broker: per-partition order, commits that never pass an un-acked record,
 * re-delivery after a restart, and the in-flight budget.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { SourceRecord } from '../../../core/contracts.js';
import { createKafkaClient } from '../../../pipeline/kafka/client.js';
import { KafkaSink } from '../../../pipeline/kafka/sink.js';
import { KafkaSource, type KafkaSourceOptions, type TopicPartition } from '../../../pipeline/kafka/source.js';
import {
  createTopic,
  deleteTopics,
  getServices,
  produce,
  type Services,
  uniqueName,
} from '../../harness/index.js';

let services: Services;
let kafka: Kafka;
const topics: string[] = [];
const sources: KafkaSource[] = [];

before(async () => {
  services = await getServices();
  kafka = createKafkaClient({ brokers: services.kafkaBrokers, clientId: 'rnnstream-it-source' });
});

after(async () => {
  await Promise.allSettled(sources.map((s) => s.close()));
  await deleteTopics(services.kafkaBrokers, topics).catch(() => undefined);
  await services?.stop();
});

async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function open(options: Omit<KafkaSourceOptions, 'kafka'>): { source: KafkaSource; records: SourceRecord[] } {
  const source = new KafkaSource({
    kafka,
    maxWaitTimeInMs: 100,
    drainTimeoutMs: 500,
    offsetReset: 'earliest',
    ...options,
  });
  sources.push(source);
  const records: SourceRecord[] = [];
  source.records$.subscribe({ next: (r) => records.push(r), error: (e) => assert.fail(e) });
  return { source, records };
}

async function newTopic(prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  topics.push(topic);
  await createTopic(services.kafkaBrokers, topic, partitions);
  return topic;
}

describe('KafkaSource (broker)', () => {
  it('reads in per-partition order, commits only acked offsets, re-delivers the rest after a restart', async () => {
    const topic = await newTopic('src-order', 3);
    const groupId = uniqueName('g-order');
    const perPartition = 20;
    const messages = [];
    for (let i = 0; i < perPartition; i++) {
      for (let p = 0; p < 3; p++)
        messages.push({ partition: p, key: `k${p}`, value: `${p}:${i}`, headers: { n: String(i) } });
    }
    await produce(services.kafkaBrokers, topic, messages);

    const first = open({ topic, groupId });
    await waitFor('all records', () => first.records.length === 3 * perPartition);
    assert.deepEqual(
      first.source
        .assignments()
        .map((a) => a.partition)
        .sort(),
      [0, 1, 2],
    );
    for (let p = 0; p < 3; p++) {
      const mine = first.records.filter((r) => r.source.partition === p);
      assert.deepEqual(
        mine.map((r) => r.value?.toString()),
        Array.from({ length: perPartition }, (_, i) => `${p}:${i}`),
        `partition ${p} in produced order`,
      );
      assert.deepEqual(
        mine.map((r) => r.source.offset),
        Array.from({ length: perPartition }, (_, i) => String(i)),
      );
      assert.equal(mine[3].key?.toString(), `k${p}`);
      assert.equal(mine[3].headers?.n?.toString(), '3');
      assert.ok(typeof mine[3].timestamp === 'number' && mine[3].timestamp > 0);
    }
    // Ack the first half of each partition, with a hole: offset 12 of partition 0 acked, 11 not.
    const half = first.records.filter((r) => Number(r.source.offset) < perPartition / 2);
    await first.source.ack(half.map((r) => r.source));
    await first.source.ack([{ topic, partition: 0, offset: '12' }]);
    const lag = await first.source.lag();
    assert.deepEqual(
      lag.map((l) => [l.partition, l.committed, l.lag]),
      [
        [0, '10', 10],
        [1, '10', 10],
        [2, '10', 10],
      ],
    );
    assert.equal(first.source.inFlight().messages, (3 * perPartition) / 2 - 1);
    await first.source.close();

    const second = open({ topic, groupId });
    await waitFor('re-delivered records', () => second.records.length >= (3 * perPartition) / 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const again = second.records.map((r) => `${r.source.partition}/${r.source.offset}`).sort();
    const expected = [];
    for (let p = 0; p < 3; p++)
      for (let i = perPartition / 2; i < perPartition; i++) expected.push(`${p}/${i}`);
    assert.deepEqual(
      again,
      expected.sort(),
      'exactly the un-acked records come back (12 too: it was past a hole)',
    );
    await second.source.close();
  });

  it('never has more un-acked records in flight than its budget', async () => {
    const topic = await newTopic('src-budget', 2);
    const total = 200;
    await produce(
      services.kafkaBrokers,
      topic,
      Array.from({ length: total }, (_, i) => ({ partition: i % 2, key: `k${i}`, value: `v${i}` })),
    );
    const budget = 10;
    const { source, records } = open({ topic, groupId: uniqueName('g-budget'), maxInFlightMessages: budget });
    await waitFor('the budget to fill', () => records.length === budget);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(records.length, budget, 'no record beyond the budget while nothing is acked');
    assert.equal(source.inFlight().messages, budget);

    let acked = 0;
    let maxUnacked = 0;
    while (acked < total) {
      await waitFor('more records', () => records.length > acked);
      maxUnacked = Math.max(maxUnacked, records.length - acked);
      // Ack a few at a time, as a pipeline finishing small batches would.
      const batch = records.slice(acked, acked + 3);
      acked += batch.length;
      await source.ack(batch.map((r) => r.source));
    }
    assert.ok(maxUnacked <= budget, `at most ${budget} un-acked, saw ${maxUnacked}`);
    assert.equal(records.length, total);
    const lag = await source.lag();
    assert.equal(
      lag.reduce((sum, l) => sum + l.lag, 0),
      0,
      'everything committed',
    );
    await source.close();
  });

  it('exactly-once wiring: offsets committed by the sink transaction are where the group resumes', async () => {
    const input = await newTopic('src-eos-in', 2);
    const output = await newTopic('src-eos-out', 2);
    const groupId = uniqueName('g-eos');
    await produce(
      services.kafkaBrokers,
      input,
      Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, key: `k${i}`, value: `v${i}` })),
    );
    const sink = new KafkaSink({ kafka, topic: output, exactlyOnce: { groupId } });
    const first = open({ topic: input, groupId, commitViaSink: true });
    await waitFor('records', () => first.records.length === 10);
    const done = first.records.slice(0, 6);
    await sink.write(
      done.map((r) => ({
        key: r.key?.toString() ?? '',
        value: { key: r.key?.toString() ?? '', source: r.source, tokens: 1, totalTokens: 1, model: 'm@0' },
      })),
      done.map((r) => r.source),
    );
    await first.source.ack(done.map((r) => r.source));
    const lag = await first.source.lag();
    assert.equal(
      lag.reduce((sum, l) => sum + l.lag, 0),
      4,
      'the transaction committed the group offsets',
    );
    await first.source.close();
    await sink.close();

    const second = open({ topic: input, groupId, commitViaSink: true });
    await waitFor('the rest', () => second.records.length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      second.records.map((r) => `${r.source.partition}/${r.source.offset}`).sort(),
      first.records
        .slice(6)
        .map((r) => `${r.source.partition}/${r.source.offset}`)
        .sort(),
    );
    await second.source.close();
  });

  it('rebalance: a second worker takes partitions, the first is told, every record is delivered', async () => {
    const topic = await newTopic('src-rebalance', 4);
    const groupId = uniqueName('g-rebalance');
    const revoked: TopicPartition[] = [];
    const fast = { heartbeatInterval: 300, sessionTimeout: 6_000 };
    const a = open({ topic, groupId, ...fast, onRevoke: (p) => revoked.push(...p) });
    // Ack everything as it arrives, like a pipeline would.
    const acks: Promise<void>[] = [];
    a.source.records$.subscribe((r) => acks.push(a.source.ack([r.source])));
    await produce(
      services.kafkaBrokers,
      topic,
      Array.from({ length: 40 }, (_, i) => ({ partition: i % 4, key: `k${i}`, value: `v${i}` })),
    );
    await waitFor('first wave', () => a.records.length === 40);
    // Committed before the rebalance: what was acked is never read again.
    await Promise.all(acks);
    const b = open({ topic, groupId, ...fast });
    b.source.records$.subscribe((r) => void b.source.ack([r.source]));
    await waitFor(
      'both assigned',
      () => a.source.assignments().length === 2 && b.source.assignments().length === 2,
    );
    assert.deepEqual(
      revoked.map((p) => p.partition).sort(),
      b.source
        .assignments()
        .map((p) => p.partition)
        .sort(),
      'onRevoke named the partitions that moved',
    );
    await produce(
      services.kafkaBrokers,
      topic,
      Array.from({ length: 40 }, (_, i) => ({ partition: i % 4, key: `k${i}`, value: `w${i}` })),
    );
    await waitFor('second wave', () => a.records.length + b.records.length >= 80);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const seen = [...a.records, ...b.records].map((r) => `${r.source.partition}/${r.source.offset}`);
    assert.equal(new Set(seen).size, 80, 'every record once: acked ones are not re-delivered');
    assert.equal(seen.length, 80);
    await Promise.all([a.source.close(), b.source.close()]);
  });
});
