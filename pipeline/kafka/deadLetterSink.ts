/**
 * Refused messages to a Kafka dead-letter topic: the original key, value and headers, plus
 * `rnnstream-*` headers saying why, at which stage, and where the message came from.
 */
import {
  CompressionTypes,
  type IHeaders,
  type Kafka,
  type Message,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { DeadLetter } from '../../core/contracts.js';
import type { DeadLetterSink } from '../connectors.js';
import { toKafkaError } from './client.js';

/** Header names added to every dead letter. */
export const DEAD_LETTER_HEADERS = {
  reason: 'rnnstream-reason',
  stage: 'rnnstream-stage',
  /** `topic/partition/offset` of the original message. */
  source: 'rnnstream-source',
  detail: 'rnnstream-detail',
} as const;

/** Options of {@link KafkaDeadLetterSink}. */
export interface KafkaDeadLetterSinkOptions {
  kafka: Kafka;
  /** The dead-letter topic. */
  topic: string;
  /** @default CompressionTypes.None */
  compression?: CompressionTypes;
}

/**
 * A dead letter as a Kafka message: original key and bytes (an empty value when there were none, not
 * a tombstone), original headers, and the `rnnstream-*` headers.
 *
 * @example
 * encodeDeadLetter({ record, reason: 'invalid-json', stage: 'decode' }).headers?.['rnnstream-reason']; // 'invalid-json'
 */
export function encodeDeadLetter(dead: DeadLetter): Message {
  const { record } = dead;
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    if (value !== undefined) headers[name] = value;
  }
  headers[DEAD_LETTER_HEADERS.reason] = dead.reason;
  headers[DEAD_LETTER_HEADERS.stage] = dead.stage;
  headers[DEAD_LETTER_HEADERS.source] =
    `${record.source.topic}/${record.source.partition}/${record.source.offset}`;
  if (dead.detail !== undefined) headers[DEAD_LETTER_HEADERS.detail] = dead.detail;
  return { key: record.key, value: record.value ?? Buffer.alloc(0), headers };
}

/**
 * Writes dead letters with an idempotent producer (acks = all), one request per call. At-least-once:
 * it is written before the source is acked, so a crash in between writes it again on replay.
 *
 * @example
 * const dlq = new KafkaDeadLetterSink({ kafka, topic: 'texts.dlq' });
 * await dlq.write([{ record, reason: 'too-large', stage: 'decode' }]);
 */
export class KafkaDeadLetterSink implements DeadLetterSink {
  readonly topic: string;
  readonly #options: KafkaDeadLetterSinkOptions;
  readonly #producer: Producer;
  #connected: Promise<void> | undefined;
  #closed = false;

  constructor(options: KafkaDeadLetterSinkOptions) {
    if (!options.topic) throw new RangeError('topic is required');
    this.#options = options;
    this.topic = options.topic;
    this.#producer = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  /** Connects the producer (also done by the first write). */
  connect(): Promise<void> {
    this.#connected ??= this.#producer.connect().catch((error: unknown) => {
      this.#connected = undefined;
      throw toKafkaError(error, `kafka dead-letter sink ${this.topic}: connect`);
    });
    return this.#connected;
  }

  /** Sends the dead letters and resolves when all replicas acknowledged them. */
  async write(dead: readonly DeadLetter[]): Promise<void> {
    if (this.#closed) throw new RangeError(`kafka dead-letter sink ${this.topic} is closed`);
    if (dead.length === 0) return;
    await this.connect();
    try {
      await this.#producer.send({
        topic: this.topic,
        messages: dead.map(encodeDeadLetter),
        acks: -1,
        compression: this.#options.compression ?? CompressionTypes.None,
      });
    } catch (error) {
      throw toKafkaError(error, `kafka dead-letter sink ${this.topic}: send ${dead.length} records`);
    }
  }

  /** Disconnects the producer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#producer.disconnect();
  }
}
