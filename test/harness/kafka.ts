/**
 * Kafka helpers for integration tests: make and drop topics, write messages, read them back. Each helper
 * opens its own kafkajs client, fails with a message naming the broker after a deadline, and always
 * disconnects, so a failed test leaves no open sockets that keep the process alive.
 */
import { randomBytes } from 'node:crypto';
import {
  type Admin,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Message,
  Partitioners,
  type RecordMetadata,
} from 'kafkajs';
import { TransientError } from '../../core/errors.js';
import { withTimeout } from './timeout.js';

/** Settings shared by every harness helper that talks to Kafka. */
export interface KafkaHelperOptions {
  /**
   * Deadline for the whole operation (connect, request, disconnect excluded), in ms.
   * @default 30000
   */
  timeoutMs?: number;
}

/** Defaults of {@link KafkaHelperOptions}. */
export const DEFAULT_KAFKA_HELPER_OPTIONS: Required<KafkaHelperOptions> = { timeoutMs: 30_000 };

/** Options of {@link consumeAll}. */
export interface ConsumeAllOptions extends KafkaHelperOptions {
  /** How many messages to wait for; fewer within `timeoutMs` is an error. */
  count: number;
  /**
   * `read_committed` hides records of open and aborted transactions (kafkajs' own default);
   * `read_uncommitted` sees every record written (Kafka's Java client default).
   * @default 'read_uncommitted'
   */
  isolationLevel?: 'read_committed' | 'read_uncommitted';
  /**
   * After `count` messages arrived, keep reading this long and return any extra ones too, so a test can
   * assert that nothing more (a duplicate, say) was written.
   * @default 0
   */
  settleMs?: number;
  /**
   * Consumer group id.
   * @default a fresh unique id, so the topic is always read from the beginning
   */
  groupId?: string;
}

/** Defaults of {@link ConsumeAllOptions} (`count` has none). */
export const DEFAULT_CONSUME_ALL_OPTIONS = {
  timeoutMs: 30_000,
  isolationLevel: 'read_uncommitted',
  settleMs: 0,
} as const satisfies Omit<ConsumeAllOptions, 'count' | 'groupId'>;

/** A message read back by {@link consumeAll}, with key and value decoded as UTF-8 for easy asserts. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  /** int64 offset as a decimal string, as kafkajs gives it. */
  offset: string;
  key: string | null;
  value: string | null;
  /** The raw value bytes, for binary payloads. */
  rawValue: Buffer | null;
  /** Header values decoded as UTF-8 (the last one when a header repeats). */
  headers: Record<string, string>;
  /** Broker or producer timestamp, ms since epoch. */
  timestamp: number;
}

/** A message for {@link produce}: kafkajs' own shape (key, value, partition, headers). */
export type ProduceMessage = Message;

/**
 * A kafkajs client tuned for tests: short connection timeout and few retries, so an absent broker fails
 * within seconds instead of retrying for minutes. Silent, because kafkajs logs retried, harmless broker
 * answers (a coordinator still loading) as errors and failures reach the test as rejections anyway; set
 * `KAFKAJS_LOG_LEVEL=debug` (read by kafkajs itself) to see them.
 */
export function testKafka(
  brokers: string[],
  clientId = 'rnnstream-test',
  overrides: Partial<KafkaConfig> = {},
): Kafka {
  if (brokers.length === 0) throw new TypeError('testKafka: brokers must not be empty');
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 15_000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
    ...overrides,
  });
}

async function withAdmin<T>(
  brokers: string[],
  timeoutMs: number,
  what: string,
  use: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = testKafka(brokers, 'rnnstream-test-admin').admin();
  try {
    return await withTimeout(
      (async () => {
        await admin.connect();
        return use(admin);
      })(),
      timeoutMs,
      `${what} (Kafka at ${brokers.join(',')})`,
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Creates `topic` with `partitions` partitions and one replica, and waits until every partition has a
 * leader. A topic that already exists is an error: test topics come from {@link uniqueName}.
 *
 * @example
 * const topic = uniqueName('in');
 * await createTopic(services.kafkaBrokers, topic, 4);
 */
export async function createTopic(
  brokers: string[],
  topic: string,
  partitions: number,
  options: KafkaHelperOptions = {},
): Promise<void> {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  const { timeoutMs } = { ...DEFAULT_KAFKA_HELPER_OPTIONS, ...options };
  await withAdmin(brokers, timeoutMs, `creating topic ${topic}`, async (admin) => {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: timeoutMs,
    });
    if (!created) throw new TransientError(`createTopic: topic ${topic} already exists`);
  });
}

/**
 * Deletes `topics`; topics that do not exist are ignored, so it is safe in `after` hooks.
 *
 * @example
 * after(() => deleteTopics(services.kafkaBrokers, [input, output]));
 */
export async function deleteTopics(
  brokers: string[],
  topics: string[],
  options: KafkaHelperOptions = {},
): Promise<void> {
  if (topics.length === 0) return;
  const { timeoutMs } = { ...DEFAULT_KAFKA_HELPER_OPTIONS, ...options };
  await withAdmin(brokers, timeoutMs, `deleting topics ${topics.join(',')}`, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: timeoutMs });
  });
}

/**
 * Writes `messages` to `topic` in one request (acks=all), so per-key order is the array's order. Keys go
 * through kafkajs' DefaultPartitioner, which places keys like the Java client.
 *
 * @example
 * await produce(brokers, topic, [{ key: 'user-1', value: JSON.stringify({ text: 'hi' }) }]);
 */
export async function produce(
  brokers: string[],
  topic: string,
  messages: ProduceMessage[],
  options: KafkaHelperOptions = {},
): Promise<RecordMetadata[]> {
  const { timeoutMs } = { ...DEFAULT_KAFKA_HELPER_OPTIONS, ...options };
  const producer = testKafka(brokers, 'rnnstream-test-producer').producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    // One request in flight: retries cannot reorder messages.
    maxInFlightRequests: 1,
  });
  try {
    return await withTimeout(
      (async () => {
        await producer.connect();
        return producer.send({ topic, messages, acks: -1 });
      })(),
      timeoutMs,
      `producing ${messages.length} messages to ${topic} (Kafka at ${brokers.join(',')})`,
    );
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) decoded[name] = last.toString();
  }
  return decoded;
}

/**
 * Reads `topic` from the beginning until `count` messages arrived (plus `settleMs` more of reading), and
 * returns them in arrival order: offset order within each partition. Fewer than `count` within
 * `timeoutMs` rejects with how many arrived.
 *
 * @example
 * const got = await consumeAll(brokers, output, { count: 100, isolationLevel: 'read_committed' });
 */
export async function consumeAll(
  brokers: string[],
  topic: string,
  options: ConsumeAllOptions,
): Promise<ConsumedMessage[]> {
  const { count, timeoutMs, isolationLevel, settleMs, groupId } = {
    ...DEFAULT_CONSUME_ALL_OPTIONS,
    groupId: `rnnstream-test-${randomBytes(6).toString('hex')}`,
    ...options,
  };
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const consumer = testKafka(brokers, 'rnnstream-test-consumer').consumer({
    groupId,
    readUncommitted: isolationLevel === 'read_uncommitted',
    // Short fetch waits: the default 5 s would add up to 5 s to every read that ends a test.
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
  });
  const received: ConsumedMessage[] = [];
  let enough: () => void = () => undefined;
  let crashed: (error: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    enough = resolve;
    crashed = reject;
  });
  // kafkajs restarts the consumer itself after a retriable crash; only a final one ends the read.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) crashed(payload.error);
  });
  try {
    await withTimeout(
      (async () => {
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ topic: from, partition, message }) => {
            received.push({
              topic: from,
              partition,
              offset: message.offset,
              key: message.key === null ? null : message.key.toString(),
              value: message.value === null ? null : message.value.toString(),
              rawValue: message.value,
              headers: decodeHeaders(message.headers),
              timestamp: Number(message.timestamp),
            });
            if (received.length >= count) enough();
          },
        });
        if (count === 0) enough();
        await done;
      })(),
      timeoutMs,
      () =>
        `consumeAll: got ${received.length} of ${count} messages from ${topic} (Kafka at ${brokers.join(',')})`,
    );
    if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
    return [...received];
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
