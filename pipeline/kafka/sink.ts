/**
 * Outputs to a Kafka topic as a {@link Sink}: an idempotent producer (acks = all), one request per
 * write; or, with `exactlyOnce`, one transaction per write holding the outputs and the consumed offsets.
 *
 * Zombie fencing (exactly-once): the transactional id must be stable per worker and unique among live
 * workers. When a worker restarts with the same id, `InitProducerId` bumps the producer epoch and the
 * broker aborts and fences its predecessor's open transaction, so a half-dead old process can no longer
 * commit outputs. kafkajs 2.2.4 sends offsets without the consumer-group generation (no KIP-447), so
 * when a partition moves to *another* worker the old owner could still commit one in-flight
 * transaction for it: its outputs may then appear twice. The state is safe regardless (the Redis fence).
 * Two live workers sharing an id fence each other in turn: a fatal `ProducerFenced` error.
 */
import { hostname } from 'node:os';
import { CompressionTypes, type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';
import type { Sink, SinkRecord, SourcePosition } from '../types.js';
import { type KafkaLogger, SILENT_KAFKA_LOGGER, toKafkaError } from './client.js';
import { nextOffsets } from './offsetTracker.js';

/** Exactly-once settings of a {@link KafkaSink}. */
export interface KafkaExactlyOnceOptions {
  /** The source's consumer group: the offsets committed inside each transaction are this group's. */
  groupId: string;
  /** The producer's transactional id. @default `${groupId}.rnnstream.${workerId}` */
  transactionalId?: string;
  /** A stable id of this worker (pod name in a StatefulSet). @default env RNNSTREAM_WORKER_ID, else the host name */
  workerId?: string;
  /** Broker-side limit of one transaction, ms. @default 60000 */
  transactionTimeout?: number;
}

/** Options of {@link KafkaSink}. */
export interface KafkaSinkOptions {
  kafka: Kafka;
  topic: string;
  /** Kafka transactions: outputs and source offsets commit together. @default undefined (idempotent producer, at-least-once) */
  exactlyOnce?: KafkaExactlyOnceOptions;
  /** @default CompressionTypes.None */
  compression?: CompressionTypes;
  logger?: KafkaLogger;
}

/** Defaults of {@link KafkaExactlyOnceOptions}. */
export const DEFAULT_KAFKA_EXACTLY_ONCE = { transactionTimeout: 60_000 };

/**
 * The default transactional id of a worker: `${groupId}.rnnstream.${workerId}`.
 *
 * @example
 * defaultTransactionalId('rnnstream', 'worker-0'); // 'rnnstream.rnnstream.worker-0'
 */
export function defaultTransactionalId(groupId: string, workerId?: string): string {
  const id = workerId ?? process.env.RNNSTREAM_WORKER_ID ?? hostname();
  return `${groupId}.rnnstream.${id}`;
}

/**
 * Writes output messages (key = sequence key, value = JSON of the output) to one topic.
 *
 * @example
 * const sink = new KafkaSink({ kafka, topic: 'scores', exactlyOnce: { groupId: 'rnnstream' } });
 * await sink.write(records, consumedPositions); // outputs + offsets in one transaction
 */
export class KafkaSink implements Sink {
  readonly topic: string;
  readonly commitsOffsets: boolean;
  /** The transactional id (exactly-once only). */
  readonly transactionalId: string | undefined;
  readonly #options: KafkaSinkOptions;
  readonly #log: KafkaLogger;
  readonly #producer: Producer;
  #connected: Promise<void> | undefined;
  /** Writes run one at a time: a producer holds one transaction at a time, and order matters. */
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: KafkaSinkOptions) {
    if (!options.topic) throw new RangeError('topic is required');
    const eos = options.exactlyOnce;
    if (eos && !eos.groupId) throw new RangeError('exactlyOnce.groupId is required');
    this.#options = options;
    this.topic = options.topic;
    this.#log = options.logger ?? SILENT_KAFKA_LOGGER;
    this.commitsOffsets = eos !== undefined;
    this.transactionalId = eos
      ? (eos.transactionalId ?? defaultTransactionalId(eos.groupId, eos.workerId))
      : undefined;
    this.#producer = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      transactionalId: this.transactionalId,
      transactionTimeout: eos
        ? (eos.transactionTimeout ?? DEFAULT_KAFKA_EXACTLY_ONCE.transactionTimeout)
        : undefined,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  /** Connects the producer (also done by the first write). */
  connect(): Promise<void> {
    this.#connected ??= this.#producer.connect().catch((error: unknown) => {
      this.#connected = undefined;
      throw toKafkaError(error, `kafka sink ${this.topic}: connect`);
    });
    return this.#connected;
  }

  /**
   * Sends `records` in one request and resolves when all replicas acknowledged them. With
   * `exactlyOnce`, the records and the next offsets of `consumed` commit in one transaction; on failure
   * the transaction is aborted and a {@link TransientError} (retriable) or fatal error is thrown.
   */
  write(records: readonly SinkRecord[], consumed: readonly SourcePosition[]): Promise<void> {
    if (this.#closed) return Promise.reject(new RangeError(`kafka sink ${this.topic} is closed`));
    const run = this.#chain.then(() => this.#write(records, consumed));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #write(records: readonly SinkRecord[], consumed: readonly SourcePosition[]): Promise<void> {
    const eos = this.#options.exactlyOnce;
    if (records.length === 0 && (!eos || consumed.length === 0)) return;
    await this.connect();
    const messages: Message[] = records.map((r) => ({ key: r.key, value: JSON.stringify(r.value) }));
    const compression = this.#options.compression ?? CompressionTypes.None;
    // One request per chunk: a whole batch of outputs (embeddings, or outputs held back until their
    // offsets commit) can exceed the broker's message.max.bytes (1 MiB by default) in one record batch.
    const chunks = chunkBySize(messages, MAX_REQUEST_BYTES);
    if (!eos) {
      try {
        for (const chunk of chunks) {
          await this.#producer.send({ topic: this.topic, messages: chunk, acks: -1, compression });
        }
      } catch (error) {
        throw toKafkaError(error, `kafka sink ${this.topic}: send ${messages.length} records`);
      }
      return;
    }
    const transaction = await this.#producer.transaction().catch((error: unknown) => {
      throw toKafkaError(error, `kafka sink ${this.topic}: begin transaction`);
    });
    try {
      for (const chunk of chunks) {
        await transaction.send({ topic: this.topic, messages: chunk, acks: -1, compression });
      }
      if (consumed.length > 0) {
        await transaction.sendOffsets({
          consumerGroupId: eos.groupId,
          topics: groupByTopic(nextOffsets(consumed)),
        });
      }
      await transaction.commit();
    } catch (error) {
      if (transaction.isActive()) {
        await transaction.abort().catch((abortError: unknown) => {
          this.#log.warn(
            { topic: this.topic, transactionalId: this.transactionalId, err: (abortError as Error).message },
            'transaction abort failed',
          );
        });
      }
      throw toKafkaError(error, `kafka sink ${this.topic}: transaction of ${messages.length} records`);
    }
  }

  /** Waits for pending writes and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#chain;
    await this.#producer.disconnect();
  }
}

/** Most bytes (keys + values) of outputs per produce request: half the broker's default `message.max.bytes`. */
const MAX_REQUEST_BYTES = 512 * 1024;

/** Splits messages, in order, into runs of at most `maxBytes` of keys and values (at least one message each). */
function chunkBySize(messages: Message[], maxBytes: number): Message[][] {
  const chunks: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = byteLength(message.key) + byteLength(message.value) + 64;
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function byteLength(value: Message['key'] | Message['value']): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** Offsets per topic, the shape of kafkajs `sendOffsets` and `commitOffsets` payloads. */
export function groupByTopic(
  offsets: readonly { topic: string; partition: number; offset: string }[],
): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const { topic, partition, offset } of offsets) {
    const list = byTopic.get(topic) ?? [];
    list.push({ partition, offset });
    byTopic.set(topic, list);
  }
  return [...byTopic.entries()].map(([topic, partitions]) => ({ topic, partitions }));
}
