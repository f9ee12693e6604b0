/**
 * Outputs to a Kafka topic as a {@link Sink}: an idempotent producer (acks = all), one request per
 * write; or, with `exactlyOnce`, per input partition one transaction holding that partition's outputs and
 * its consumed offset.
 *
 * Zombie fencing (exactly-once): each input partition has its own transactional producer
 * ({@link PartitionProducers}), its id derived from group, input topic and partition — Kafka Streams'
 * first design, since kafkajs 2.2.4 sends transaction offsets without the consumer-group generation
 * (no KIP-447). Whoever is assigned a partition fences its previous owner's producer before reading it,
 * so a worker that lost the partition while it was paused (or a killed one) can no longer commit outputs
 * for it; its late writes are dropped. The state is safe regardless (the Redis fence).
 */
import { CompressionTypes, type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';
import { type Observable, Subject } from 'rxjs';
import type { SinkRecord, SourcePosition } from '../../core/contracts.js';
import { partitionKey } from '../../core/contracts.js';
import type { Sink } from '../connectors.js';
import { type KafkaLogger, SILENT_KAFKA_LOGGER, toKafkaError } from './client.js';
import { type InputPartition, PartitionProducers } from './partitionProducers.js';

/** Exactly-once settings of a {@link KafkaSink}. */
export interface KafkaExactlyOnceOptions {
  /** The source's consumer group: the offsets committed inside each transaction are this group's. */
  groupId: string;
  /**
   * Prefix of the per-partition transactional ids (`${prefix}.${inputTopic}.${partition}`); one prefix per
   * application (group). @default `${groupId}.rnnstream`
   */
  transactionalIdPrefix?: string;
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
 * The default prefix of the per-partition transactional ids: `${groupId}.rnnstream`.
 *
 * @example
 * defaultTransactionalIdPrefix('rnnstream'); // 'rnnstream.rnnstream' → ids 'rnnstream.rnnstream.texts.0', …
 */
export function defaultTransactionalIdPrefix(groupId: string): string {
  return `${groupId}.rnnstream`;
}

/**
 * Writes output messages (key = sequence key, value = JSON of the output) to one topic.
 *
 * @example
 * const sink = new KafkaSink({ kafka, topic: 'scores', exactlyOnce: { groupId: 'rnnstream' } });
 * await sink.assign([{ topic: 'texts', partition: 0 }]); // on assignment: fences the previous owner
 * await sink.write(records, consumedPositions); // per input partition: outputs + offset in one transaction
 */
export class KafkaSink implements Sink {
  readonly topic: string;
  readonly commitsOffsets: boolean;
  /** The prefix of the per-partition transactional ids (exactly-once only). */
  readonly transactionalIdPrefix: string | undefined;
  readonly #options: KafkaSinkOptions;
  readonly #log: KafkaLogger;
  /** The idempotent producer (at-least-once). */
  readonly #producer: Producer | undefined;
  /** One transactional producer per input partition (exactly-once). */
  readonly #partitions: PartitionProducers | undefined;
  readonly #fenced = new Subject<InputPartition[]>();
  /** Input partitions whose producer another worker fenced (exactly-once): the source must give them up. */
  readonly fenced$: Observable<InputPartition[]> = this.#fenced.asObservable();
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
    this.transactionalIdPrefix = eos
      ? (eos.transactionalIdPrefix ?? defaultTransactionalIdPrefix(eos.groupId))
      : undefined;
    if (eos && this.transactionalIdPrefix) {
      this.#partitions = new PartitionProducers({
        kafka: options.kafka,
        groupId: eos.groupId,
        idPrefix: this.transactionalIdPrefix,
        transactionTimeout: eos.transactionTimeout ?? DEFAULT_KAFKA_EXACTLY_ONCE.transactionTimeout,
        logger: this.#log,
        onFenced: (tp) => this.#fenced.next([tp]),
      });
    } else {
      this.#producer = options.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
    }
  }

  /** Transactional ids of the per-partition producers held now (exactly-once; for logs and tests). */
  transactionalIds(): string[] {
    return this.#partitions?.transactionalIds() ?? [];
  }

  /**
   * Input partitions assigned to this worker: with `exactlyOnce`, creates their producers and fences the
   * previous owners' (resolves when they are ready; the source reads the partitions only then).
   */
  assign(partitions: readonly InputPartition[]): Promise<void> {
    return this.#partitions?.assign(partitions) ?? Promise.resolve();
  }

  /** Input partitions revoked from this worker: with `exactlyOnce`, their late outputs are dropped. */
  revoke(partitions: readonly InputPartition[]): void {
    this.#partitions?.revoke(partitions);
  }

  /** Connects the producer (also done by the first write; exactly-once producers connect on assignment). */
  connect(): Promise<void> {
    const producer = this.#producer;
    if (!producer) return Promise.resolve();
    this.#connected ??= producer.connect().catch((error: unknown) => {
      this.#connected = undefined;
      throw toKafkaError(error, `kafka sink ${this.topic}: connect`);
    });
    return this.#connected;
  }

  /**
   * Sends `records` and resolves when all replicas acknowledged them. With `exactlyOnce`, per input
   * partition (of `consumed` and of each record's `source`) the records and the next offset commit in one
   * transaction of that partition's producer, the partitions' transactions side by side; a failed one is
   * aborted and a {@link TransientError} (retriable) or fatal error is thrown, and a retried write does not
   * commit again the partitions that did commit. Outputs of a partition this worker lost are dropped.
   */
  write(records: readonly SinkRecord[], consumed: readonly SourcePosition[]): Promise<void> {
    if (this.#closed) return Promise.reject(new RangeError(`kafka sink ${this.topic} is closed`));
    const run = this.#chain.then(() => this.#write(records, consumed));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #write(records: readonly SinkRecord[], consumed: readonly SourcePosition[]): Promise<void> {
    if (records.length === 0 && (!this.#partitions || consumed.length === 0)) return;
    const compression = this.#options.compression ?? CompressionTypes.None;
    if (this.#partitions) {
      await this.#writeTransactions(this.#partitions, records, consumed, compression);
      return;
    }
    await this.connect();
    const messages = records.map(toMessage);
    try {
      // One request per chunk: a whole batch of outputs (embeddings) can exceed the broker's
      // message.max.bytes (1 MiB by default) in one record batch.
      for (const chunk of chunkBySize(messages, MAX_REQUEST_BYTES)) {
        await this.#producer?.send({ topic: this.topic, messages: chunk, acks: -1, compression });
      }
    } catch (error) {
      throw toKafkaError(error, `kafka sink ${this.topic}: send ${messages.length} records`);
    }
  }

  async #writeTransactions(
    producers: PartitionProducers,
    records: readonly SinkRecord[],
    consumed: readonly SourcePosition[],
    compression: CompressionTypes,
  ): Promise<void> {
    const groups = new Map<string, { tp: InputPartition; messages: Message[]; next?: bigint }>();
    const groupOf = (p: InputPartition) => {
      const key = partitionKey(p.topic, p.partition);
      let group = groups.get(key);
      if (!group) {
        group = { tp: { topic: p.topic, partition: p.partition }, messages: [] };
        groups.set(key, group);
      }
      return group;
    };
    for (const position of consumed) {
      const group = groupOf(position);
      const next = BigInt(position.offset) + 1n;
      if (group.next === undefined || next > group.next) group.next = next;
    }
    for (const record of records) groupOf(record.value.source).messages.push(toMessage(record));
    const outcomes = await Promise.allSettled(
      [...groups.values()].map(async (g) => {
        const outcome = await producers.transact(
          g.tp,
          this.topic,
          chunkBySize(g.messages, MAX_REQUEST_BYTES),
          g.next,
          compression,
        );
        if (outcome === 'dropped' && g.messages.length > 0) {
          this.#log.debug(
            { ...g.tp, outputs: g.messages.length },
            'outputs of a partition this worker no longer owns: dropped',
          );
        }
      }),
    );
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Waits for pending writes and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#chain;
    await this.#producer?.disconnect();
    await this.#partitions?.close();
    this.#fenced.complete();
  }
}

function toMessage(record: SinkRecord): Message {
  return { key: record.key, value: JSON.stringify(record.value) };
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
