/**
 * One transactional producer per input partition (Kafka Streams' first exactly-once design, "EOS alpha"):
 * the transactional id is derived from the group, the input topic and the partition, so whichever worker
 * owns a partition fences its previous owner's producer. kafkajs 2.2.4 has no KIP-447 (transaction offsets
 * carry no consumer-group generation), so this is what stops a zombie — a worker that lost its partitions
 * while it was paused — from committing a transaction for a partition another worker now runs.
 *
 * Lifecycle: a producer is created and fenced (InitProducerId, which aborts the predecessor's open
 * transaction) when its partition is assigned, before the source reads it; it is closed on revocation,
 * after its in-flight transaction. A partition revoked (or whose producer was fenced) and not assigned again
 * gets no producer: its late outputs are dropped (the new owner redoes them). A partition never assigned
 * explicitly gets one on first use (a single worker wired without the rebalance hooks, e.g. a test).
 */
import { CompressionTypes, type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';
import { partitionKey } from '../../core/contracts.js';
import { type KafkaLogger, SILENT_KAFKA_LOGGER, toKafkaError } from './client.js';

/** A topic partition of the input. */
export interface InputPartition {
  topic: string;
  partition: number;
}

/** Options of {@link PartitionProducers}. */
export interface PartitionProducersOptions {
  kafka: Kafka;
  /** The consumer group whose offsets each transaction commits. */
  groupId: string;
  /** Transactional ids are `${idPrefix}.${topic}.${partition}`. */
  idPrefix: string;
  /** Broker-side limit of one transaction, ms. */
  transactionTimeout: number;
  /** @default SILENT_KAFKA_LOGGER */
  logger?: KafkaLogger;
  /** Called when a partition's producer was fenced: another worker owns the partition now. */
  onFenced?: (partition: InputPartition) => void;
}

/** What became of one partition's transaction. */
export type TransactionOutcome = 'committed' | 'already-committed' | 'dropped';

/**
 * The transactional id of an input partition's producer.
 *
 * @example
 * partitionTransactionalId('rnnstream.rnnstream', 'texts', 3); // 'rnnstream.rnnstream.texts.3'
 */
export function partitionTransactionalId(idPrefix: string, topic: string, partition: number): string {
  return `${idPrefix}.${topic}.${partition}`;
}

/** Whether kafkajs says another producer with our transactional id (a newer epoch) took over. */
export function isFencedError(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 6 && e instanceof Error; depth++) {
    const type = (e as { type?: string }).type;
    if (type === 'INVALID_PRODUCER_EPOCH' || type === 'PRODUCER_FENCED') return true;
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}

interface Entry {
  tp: InputPartition;
  transactionalId: string;
  producer: Producer;
  /** Connected and fenced: resolves once InitProducerId returned. */
  ready: Promise<void>;
  /** The transaction in flight (or the last one), for an orderly close. */
  busy: Promise<unknown>;
  /** Next offset committed by this producer: a retried write never commits a partition twice. */
  committed?: bigint;
  fenced: boolean;
  closing?: Promise<void>;
}

/**
 * The per-partition transactional producers of an exactly-once sink.
 *
 * @example
 * const producers = new PartitionProducers({ kafka, groupId: 'g', idPrefix: 'g.rnnstream', transactionTimeout: 60_000 });
 * await producers.assign([{ topic: 'texts', partition: 0 }]);  // fences the previous owner
 * await producers.transact({ topic: 'texts', partition: 0 }, 'scores', messages, 42n);
 */
export class PartitionProducers {
  readonly #options: PartitionProducersOptions;
  readonly #log: KafkaLogger;
  readonly #entries = new Map<string, Entry>();
  /** Partitions revoked and not assigned again: their writes are dropped. */
  readonly #revoked = new Set<string>();
  /** Producers being closed, by partition: a new producer of the same id starts after. */
  readonly #closing = new Map<string, Promise<void>>();
  /**
   * Set by {@link close}: no producer is created after it. A group join can still land while the worker
   * stops (the consumer rejoins until it leaves), and a producer created then was never disconnected: its
   * connection kept the process alive after the run ended.
   */
  #closed = false;

  constructor(options: PartitionProducersOptions) {
    this.#options = options;
    this.#log = options.logger ?? SILENT_KAFKA_LOGGER;
  }

  /** Transactional ids of the producers held now (for logs and tests). */
  transactionalIds(): string[] {
    return [...this.#entries.values()].map((e) => e.transactionalId);
  }

  /** Creates and fences the producers of newly assigned partitions; resolves when all are ready. */
  async assign(partitions: readonly InputPartition[]): Promise<void> {
    if (this.#closed) return;
    const ready: Promise<void>[] = [];
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      this.#revoked.delete(key);
      ready.push((this.#entries.get(key) ?? this.#create(tp)).ready);
    }
    await Promise.all(ready);
  }

  /** Closes the producers of revoked partitions (after their in-flight transaction); later writes are dropped. */
  revoke(partitions: readonly InputPartition[]): void {
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      this.#revoked.add(key);
      const entry = this.#entries.get(key);
      if (entry) this.#close(key, entry);
    }
  }

  /**
   * Writes `messages` to `topic` and commits `nextOffset` of the input partition, in one transaction of
   * that partition's producer. Resolves `dropped` when the partition is not this worker's any more (revoked,
   * or its producer fenced by the new owner): nothing of it became visible.
   */
  async transact(
    tp: InputPartition,
    topic: string,
    chunks: readonly Message[][],
    nextOffset: bigint | undefined,
    compression: CompressionTypes = CompressionTypes.None,
  ): Promise<TransactionOutcome> {
    const key = partitionKey(tp.topic, tp.partition);
    if (this.#revoked.has(key) || this.#closed) return 'dropped';
    const entry = this.#entries.get(key) ?? this.#create(tp);
    await entry.ready.catch((error: unknown) => {
      throw toKafkaError(error, `kafka sink ${topic}: producer of ${tp.topic}/${tp.partition}`);
    });
    if (entry.fenced || entry.closing) return 'dropped';
    if (nextOffset !== undefined && entry.committed !== undefined && nextOffset <= entry.committed) {
      return 'already-committed';
    }
    const run = this.#transact(entry, topic, chunks, nextOffset, compression);
    entry.busy = run.catch(() => undefined);
    return run;
  }

  async #transact(
    entry: Entry,
    topic: string,
    chunks: readonly Message[][],
    nextOffset: bigint | undefined,
    compression: CompressionTypes,
  ): Promise<TransactionOutcome> {
    const { tp, transactionalId } = entry;
    const count = chunks.reduce((n, c) => n + c.length, 0);
    let transaction: Awaited<ReturnType<Producer['transaction']>> | undefined;
    try {
      transaction = await entry.producer.transaction();
      for (const chunk of chunks) await transaction.send({ topic, messages: chunk, acks: -1, compression });
      if (nextOffset !== undefined) {
        await transaction.sendOffsets({
          consumerGroupId: this.#options.groupId,
          topics: [
            { topic: tp.topic, partitions: [{ partition: tp.partition, offset: nextOffset.toString() }] },
          ],
        });
      }
      await transaction.commit();
      if (nextOffset !== undefined) entry.committed = nextOffset;
      return 'committed';
    } catch (error) {
      if (isFencedError(error)) {
        entry.fenced = true;
        // The partition is another worker's now: never start a producer for it again on a late write
        // (that would fence the new owner), only on a new assignment.
        this.#revoked.add(partitionKey(tp.topic, tp.partition));
        this.#log.warn(
          { topic: tp.topic, partition: tp.partition, transactionalId, outputs: count },
          'partition fenced: its outputs are dropped (another worker owns it now)',
        );
        this.#close(partitionKey(tp.topic, tp.partition), entry);
        this.#options.onFenced?.(tp);
        return 'dropped';
      }
      if (transaction?.isActive()) {
        await transaction.abort().catch((abortError: unknown) => {
          this.#log.warn(
            { topic: tp.topic, partition: tp.partition, transactionalId, err: (abortError as Error).message },
            'transaction abort failed',
          );
        });
      }
      throw toKafkaError(
        error,
        `kafka sink ${topic}: transaction of ${count} records for ${tp.topic}/${tp.partition}`,
      );
    }
  }

  #create(tp: InputPartition): Entry {
    const key = partitionKey(tp.topic, tp.partition);
    const transactionalId = partitionTransactionalId(this.#options.idPrefix, tp.topic, tp.partition);
    const producer = this.#options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      transactionalId,
      transactionTimeout: this.#options.transactionTimeout,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const previous = this.#closing.get(key) ?? Promise.resolve();
    const entry: Entry = {
      tp,
      transactionalId,
      producer,
      fenced: false,
      busy: Promise.resolve(),
      // connect() alone does not fence (kafkajs gets a transactional producer id with the first
      // transaction): an empty transaction does, and ends without a request (no partitions in it).
      ready: previous.then(async () => {
        await producer.connect();
        const transaction = await producer.transaction();
        await transaction.abort();
        this.#log.debug(
          { topic: tp.topic, partition: tp.partition, transactionalId },
          'partition producer ready',
        );
      }),
    };
    entry.ready.catch(() => {
      // A failed start: the next use or assignment starts over.
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
      producer.disconnect().catch(() => undefined);
    });
    this.#entries.set(key, entry);
    return entry;
  }

  #close(key: string, entry: Entry): void {
    if (entry.closing) return;
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    entry.closing = entry.ready
      .catch(() => undefined)
      .then(() => entry.busy)
      .then(() => entry.producer.disconnect())
      .catch((error: unknown) =>
        this.#log.debug({ key, err: (error as Error).message }, 'partition producer disconnect failed'),
      )
      .finally(() => {
        if (this.#closing.get(key) === closing) this.#closing.delete(key);
      });
    const closing = entry.closing;
    this.#closing.set(key, closing);
  }

  /** Closes every producer (after its in-flight transaction); none is created after this. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [key, entry] of [...this.#entries]) this.#close(key, entry);
    await Promise.all([...this.#closing.values()]);
  }
}
