/**
 * The integration-test harness against the real broker and Redis (`make services`, or Docker): if these
 * fail, every other integration test's failures are about the harness, not the code under test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { ConfigError, TransientError } from '../../core/errors.js';
import {
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
} from '../harness/index.js';

describe('getServices without services', () => {
  it('says to run `make services` when nothing is configured and no Docker engine answers', async () => {
    await assert.rejects(
      getServices({ env: {}, isDockerAvailable: async () => false }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /make services/.test(error.message) &&
        /KAFKA_BROKERS/.test(error.message),
    );
  });

  it('names the variable whose address does not answer', async () => {
    await assert.rejects(
      // Port 1 on loopback: nothing listens there.
      getServices({
        env: { KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' },
        isDockerAvailable: async () => false,
      }),
      (error: unknown) =>
        error instanceof ConfigError && /KAFKA_BROKERS points at 127\.0\.0\.1:1/.test(error.message),
    );
  });
});

describe('harness against real Kafka and Redis', () => {
  let services: Services;
  let redis: Redis | undefined;
  const topics: string[] = [];

  before(async () => {
    services = await getServices();
    redis = await redisClient(services.redisUrl);
  });

  after(async () => {
    if (services) await deleteTopics(services.kafkaBrokers, topics);
    await redis?.quit();
    await services?.stop();
  });

  it('reads back 100 keyed messages in per-partition order, then deletes the topic', async () => {
    const topic = uniqueName('harness-order');
    topics.push(topic);
    await createTopic(services.kafkaBrokers, topic, 4);
    const sent = Array.from({ length: 100 }, (_, i) => ({
      key: `key-${i % 7}`,
      value: String(i),
      headers: { seq: String(i) },
    }));
    const metadata = await produce(services.kafkaBrokers, topic, sent);
    assert.ok(metadata.length > 0);

    const got = await consumeAll(services.kafkaBrokers, topic, { count: 100, settleMs: 300 });

    assert.equal(got.length, 100, 'exactly the 100 messages sent, no duplicates');
    assert.deepEqual(
      got.map((message) => Number(message.value)).sort((a, b) => a - b),
      sent.map((_, i) => i),
    );
    const partitionOfKey = new Map<string, number>();
    const lastOffset = new Map<number, bigint>();
    const lastValueOfKey = new Map<string, number>();
    for (const message of got) {
      assert.equal(message.topic, topic);
      assert.equal(message.headers.seq, message.value);
      const key = message.key ?? '';
      // One key, one partition: that is what makes per-key order hold.
      assert.equal(
        partitionOfKey.get(key) ?? message.partition,
        message.partition,
        `key ${key} in one partition`,
      );
      partitionOfKey.set(key, message.partition);
      const offset = BigInt(message.offset);
      assert.ok(
        offset > (lastOffset.get(message.partition) ?? -1n),
        `offsets ascend in partition ${message.partition}`,
      );
      lastOffset.set(message.partition, offset);
      const value = Number(message.value);
      assert.ok(
        value > (lastValueOfKey.get(key) ?? -1),
        `key ${key}: ${value} after ${lastValueOfKey.get(key)}`,
      );
      lastValueOfKey.set(key, value);
    }
    assert.ok(
      new Set(partitionOfKey.values()).size > 1,
      'seven keys spread over more than one of four partitions',
    );

    await deleteTopics(services.kafkaBrokers, [topic]);
    const admin = testKafka(services.kafkaBrokers).admin();
    try {
      await admin.connect();
      assert.ok(!(await admin.listTopics()).includes(topic), 'topic deleted');
    } finally {
      await admin.disconnect();
    }
  });

  it('hides aborted transactions from read_committed and shows them to read_uncommitted', async () => {
    const topic = uniqueName('harness-txn');
    topics.push(topic);
    await createTopic(services.kafkaBrokers, topic, 1);
    const producer = testKafka(services.kafkaBrokers).producer({
      transactionalId: uniqueName('harness-txn-id'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    try {
      await producer.connect();
      const aborted = await producer.transaction();
      await aborted.send({
        topic,
        messages: [
          { key: 'k', value: 'aborted-1' },
          { key: 'k', value: 'aborted-2' },
        ],
      });
      await aborted.abort();
      const committed = await producer.transaction();
      await committed.send({ topic, messages: [{ key: 'k', value: 'committed-1' }] });
      await committed.commit();
    } finally {
      await producer.disconnect();
    }

    const visible = await consumeAll(services.kafkaBrokers, topic, {
      count: 1,
      isolationLevel: 'read_committed',
      settleMs: 500,
    });
    assert.deepEqual(
      visible.map((message) => message.value),
      ['committed-1'],
    );
    const everything = await consumeAll(services.kafkaBrokers, topic, {
      count: 3,
      isolationLevel: 'read_uncommitted',
    });
    assert.deepEqual(
      everything.map((message) => message.value),
      ['aborted-1', 'aborted-2', 'committed-1'],
    );
  });

  it('fails with the count it got when fewer messages arrive than asked', async () => {
    const topic = uniqueName('harness-short');
    topics.push(topic);
    await createTopic(services.kafkaBrokers, topic, 1);
    await produce(services.kafkaBrokers, topic, [{ key: 'a', value: 'only one' }]);
    await assert.rejects(
      consumeAll(services.kafkaBrokers, topic, { count: 2, timeoutMs: 4_000 }),
      (error: unknown) => error instanceof TransientError && /got 1 of 2 messages/.test(error.message),
    );
  });

  it('SETs and GETs under a unique prefix, and deletes only that prefix', async () => {
    assert.ok(redis);
    const prefix = `${uniqueName('harness')}:`;
    const other = `${uniqueName('harness-other')}:`;
    try {
      await redis.set(`${prefix}a`, 'alpha');
      await redis.set(`${prefix}b`, Buffer.from([0, 1, 2, 255]));
      await redis.set(`${prefix}c*`, 'glob characters are literal');
      await redis.set(`${other}a`, 'must survive');

      assert.equal(await redis.get(`${prefix}a`), 'alpha');
      assert.deepEqual(await redis.getBuffer(`${prefix}b`), Buffer.from([0, 1, 2, 255]));

      assert.equal(await deleteKeys(redis, prefix), 3);
      assert.equal(await redis.exists(`${prefix}a`, `${prefix}b`, `${prefix}c*`), 0);
      assert.equal(await redis.get(`${other}a`), 'must survive');
    } finally {
      await deleteKeys(redis, prefix);
      await deleteKeys(redis, other);
    }
    assert.equal(await redis.exists(`${other}a`), 0);
  });
});
