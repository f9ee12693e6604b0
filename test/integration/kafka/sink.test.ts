/**
 * KafkaSink and KafkaDeadLetterSink against a real broker: keyed JSON outputs, transactions that commit
 * outputs and offsets together (or nothing), and dead-letter headers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { OutputMessage, SinkRecord, SourcePosition } from '../../../core/contracts.js';
import { RnnstreamError } from '../../../core/errors.js';
import { createKafkaClient } from '../../../pipeline/kafka/client.js';
import { KafkaDeadLetterSink } from '../../../pipeline/kafka/deadLetterSink.js';
import { KafkaSink } from '../../../pipeline/kafka/sink.js';
import {
  consumeAll,
  createTopic,
  deleteTopics,
  getServices,
  type Services,
  testKafka,
  uniqueName,
} from '../../harness/index.js';

let services: Services;
let kafka: Kafka;
const topics: string[] = [];
const closers: (() => Promise<void>)[] = [];

before(async () => {
  services = await getServices();
  kafka = createKafkaClient({ brokers: services.kafkaBrokers, clientId: 'rnnstream-it-sink' });
});

after(async () => {
  await Promise.allSettled(closers.map((close) => close()));
  await deleteTopics(services.kafkaBrokers, topics).catch(() => undefined);
  await services?.stop();
});

async function newTopic(prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  topics.push(topic);
  await createTopic(services.kafkaBrokers, topic, partitions);
  return topic;
}

function output(
  key: string,
  offset: number,
  extra: Partial<OutputMessage> = {},
  from: { topic: string; partition: number } = { topic: 'in', partition: 0 },
): SinkRecord {
  return {
    key,
    value: {
      key,
      source: { ...from, offset: String(offset) },
      tokens: 3,
      totalTokens: 3 + offset,
      sentiment: { label: 'positive', score: 0.9 },
      model: 'tiny@abc',
      ...extra,
    },
  };
}

async function committedOffsets(groupId: string, topic: string): Promise<Record<number, string>> {
  const admin = testKafka(services.kafkaBrokers).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries(entry.partitions.map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

describe('KafkaSink (broker)', () => {
  it('writes keyed JSON outputs that a consumer reads back, per-key order kept', async () => {
    const topic = await newTopic('sink-plain', 3);
    const sink = new KafkaSink({ kafka, topic });
    closers.push(() => sink.close());
    assert.equal(sink.commitsOffsets, false);
    const records = [output('a', 0), output('b', 1), output('a', 2, { embedding: [0.5, -1] })];
    await sink.write(records, []);
    await sink.write([output('c', 3)], []);
    const got = await consumeAll(services.kafkaBrokers, topic, { count: 4, settleMs: 200 });
    assert.equal(got.length, 4);
    const a = got.filter((m) => m.key === 'a').map((m) => JSON.parse(m.value ?? ''));
    assert.deepEqual(a, [records[0].value, records[2].value]);
    const b = got.find((m) => m.key === 'b');
    assert.deepEqual(JSON.parse(b?.value ?? ''), records[1].value);
  });

  it('exactly-once: outputs and next offsets commit in one transaction, seen once by read_committed', async () => {
    const topic = await newTopic('sink-tx', 2);
    const input = await newTopic('sink-tx-in', 2);
    const groupId = uniqueName('g-tx');
    const sink = new KafkaSink({ kafka, topic, exactlyOnce: { groupId } });
    closers.push(() => sink.close());
    assert.equal(sink.commitsOffsets, true);
    const consumed: SourcePosition[] = [
      { topic: input, partition: 0, offset: '4' },
      { topic: input, partition: 0, offset: '7' },
      { topic: input, partition: 1, offset: '2' },
    ];
    const p0 = { topic: input, partition: 0 };
    await sink.write([output('a', 4, {}, p0), output('b', 7, {}, p0)], consumed);
    await sink.write([output('c', 8, {}, p0)], [{ topic: input, partition: 0, offset: '8' }]);
    assert.deepEqual(
      sink.transactionalIds().sort(),
      [`${groupId}.rnnstream.${input}.0`, `${groupId}.rnnstream.${input}.1`],
      'one transactional producer per input partition',
    );
    const got = await consumeAll(services.kafkaBrokers, topic, {
      count: 3,
      isolationLevel: 'read_committed',
      settleMs: 300,
    });
    assert.deepEqual(got.map((m) => m.key).sort(), ['a', 'b', 'c']);
    assert.deepEqual(await committedOffsets(groupId, input), { 0: '9', 1: '3' }, 'next offsets, committed');
  });

  it('exactly-once: a failed transaction is aborted, invisible to read_committed, and its offsets not committed', async () => {
    const topic = await newTopic('sink-abort', 2);
    const input = await newTopic('sink-abort-in', 1);
    const groupId = uniqueName('g-abort');
    const sink = new KafkaSink({ kafka, topic, exactlyOnce: { groupId } });
    closers.push(() => sink.close());
    // One output over the broker's 1 MiB message limit: the other one is written inside the transaction,
    // then the request fails, and the whole transaction must be aborted.
    const p0 = { topic: input, partition: 0 };
    const huge = output('huge', 1, { embedding: 'x'.repeat(2 * 1024 * 1024) }, p0);
    await assert.rejects(
      sink.write([output('small', 0, {}, p0), huge], [{ topic: input, partition: 0, offset: '1' }]),
      (e: unknown) => e instanceof RnnstreamError && /transaction/.test(e.message),
    );
    assert.deepEqual(await committedOffsets(groupId, input), { 0: '-1' }, 'no offset of the aborted one');
    // The sink recovers: the next transaction commits.
    await sink.write([output('after', 2, {}, p0)], [{ topic: input, partition: 0, offset: '2' }]);
    const committed = await consumeAll(services.kafkaBrokers, topic, {
      count: 1,
      isolationLevel: 'read_committed',
      settleMs: 500,
    });
    assert.deepEqual(
      committed.map((m) => m.key),
      ['after'],
      'read_committed sees only the committed transaction',
    );
    assert.deepEqual(await committedOffsets(groupId, input), { 0: '3' });
    // The aborted output did reach the log (read_uncommitted sees it): it is the abort that hides it.
    const everything = await consumeAll(services.kafkaBrokers, topic, { count: 2, settleMs: 300 });
    assert.deepEqual(everything.map((m) => m.key).sort(), ['after', 'small']);
  });
});

describe('KafkaSink exactly-once across owners (broker)', () => {
  it("a partition's new owner fences its previous owner: the zombie's writes are dropped, not committed", async () => {
    const topic = await newTopic('sink-fence', 2);
    const input = await newTopic('sink-fence-in', 2);
    const groupId = uniqueName('g-fence');
    const [p0, p1] = [0, 1].map((partition) => ({ topic: input, partition }));
    const zombie = new KafkaSink({ kafka, topic, exactlyOnce: { groupId } });
    const owner = new KafkaSink({ kafka, topic, exactlyOnce: { groupId } });
    closers.push(
      () => zombie.close(),
      () => owner.close(),
    );
    await zombie.assign([p0, p1]);
    await zombie.write([output('z0', 0, {}, p0)], [{ ...p0, offset: '0' }]);
    // p0 moves to the other worker (the zombie, paused, never saw the revocation).
    await owner.assign([p0]);
    await zombie.write(
      [output('z1', 1, {}, p0), output('z-p1', 0, {}, p1)],
      [
        { ...p0, offset: '1' },
        { ...p1, offset: '0' },
      ],
    );
    await owner.write([output('o1', 1, {}, p0)], [{ ...p0, offset: '1' }]);
    // Revoked (the zombie caught up with the rebalance): its later writes of p1 are dropped too.
    zombie.revoke([p1]);
    await zombie.write([output('z-p1-late', 1, {}, p1)], [{ ...p1, offset: '1' }]);
    const got = await consumeAll(services.kafkaBrokers, topic, {
      count: 3,
      isolationLevel: 'read_committed',
      settleMs: 500,
    });
    assert.deepEqual(got.map((m) => m.key).sort(), ['o1', 'z-p1', 'z0']);
    assert.deepEqual(await committedOffsets(groupId, input), { 0: '2', 1: '1' });
  });

  it('a closed sink opens no producer: an assignment landing while the worker stops creates none', async () => {
    const topic = await newTopic('sink-closed', 1);
    const input = await newTopic('sink-closed-in', 2);
    const groupId = uniqueName('g-closed');
    const [p0, p1] = [0, 1].map((partition) => ({ topic: input, partition }));
    const sink = new KafkaSink({ kafka, topic, exactlyOnce: { groupId } });
    closers.push(() => sink.close());
    await sink.assign([p0]);
    assert.equal(sink.transactionalIds().length, 1);
    await sink.close();
    assert.deepEqual(sink.transactionalIds(), [], 'closed: every producer disconnected');
    // A group join while stopping (kafkajs rejoins until the consumer leaves) calls assign after close.
    await sink.assign([p0, p1]);
    assert.deepEqual(sink.transactionalIds(), [], 'no producer (and no connection) after close');
  });

  it('a retried write does not commit again the partitions that committed', async () => {
    const topic = await newTopic('sink-retry', 1);
    const input = await newTopic('sink-retry-in', 2);
    const groupId = uniqueName('g-retry');
    const [p0, p1] = [0, 1].map((partition) => ({ topic: input, partition }));
    const sink = new KafkaSink({ kafka, topic, exactlyOnce: { groupId } });
    closers.push(() => sink.close());
    const huge = output('huge', 0, { embedding: 'x'.repeat(2 * 1024 * 1024) }, p1);
    const records = [output('ok', 0, {}, p0), huge];
    const consumed = [
      { ...p0, offset: '0' },
      { ...p1, offset: '0' },
    ];
    // p0's transaction commits, p1's fails (too large): the pipeline retries the whole write.
    await assert.rejects(sink.write(records, consumed), RnnstreamError);
    await assert.rejects(sink.write(records, consumed), RnnstreamError);
    const got = await consumeAll(services.kafkaBrokers, topic, {
      count: 1,
      isolationLevel: 'read_committed',
      settleMs: 500,
    });
    assert.deepEqual(
      got.map((m) => m.key),
      ['ok'],
      "p0's output once, p1's never",
    );
    assert.deepEqual(await committedOffsets(groupId, input), { 0: '1', 1: '-1' });
  });
});

describe('KafkaDeadLetterSink (broker)', () => {
  it('writes the original bytes, key and headers plus rnnstream-* headers', async () => {
    const topic = await newTopic('dlq', 1);
    const dlq = new KafkaDeadLetterSink({ kafka, topic });
    closers.push(() => dlq.close());
    const raw = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    await dlq.write([
      {
        record: {
          key: Buffer.from('user-1'),
          value: raw,
          headers: { trace: 'abc' },
          source: { topic: 'texts', partition: 3, offset: '42' },
        },
        reason: 'invalid-utf8',
        stage: 'decode',
        detail: 'byte 0 is not UTF-8',
      },
      {
        record: { key: null, value: null, source: { topic: 'texts', partition: 0, offset: '7' } },
        reason: 'empty',
        stage: 'decode',
      },
    ]);
    const got = await consumeAll(services.kafkaBrokers, topic, { count: 2, settleMs: 200 });
    assert.equal(got.length, 2);
    const [first, second] = got;
    assert.equal(first.key, 'user-1');
    assert.deepEqual(first.rawValue, raw);
    assert.deepEqual(first.headers, {
      trace: 'abc',
      'rnnstream-reason': 'invalid-utf8',
      'rnnstream-stage': 'decode',
      'rnnstream-source': 'texts/3/42',
      'rnnstream-detail': 'byte 0 is not UTF-8',
    });
    assert.equal(second.key, null);
    assert.equal(second.rawValue?.length, 0, 'an empty value, not a tombstone');
    assert.equal(second.headers['rnnstream-source'], 'texts/0/7');
    assert.equal(second.headers['rnnstream-detail'], undefined);
  });
});
