/**
 * Kafka's own rate on the broker the end-to-end benchmark uses (issue 6): the I/O ceiling a pipeline
 * through that broker cannot beat. Produces N keyed JSON messages the way `rnnstream feed` does
 * (idempotent producer, acks=all, one batch of ~1000 messages in flight), then reads them back with a
 * fresh consumer group whose `eachBatch` only counts, with the fetch settings of rnnstream's Kafka source.
 *
 * `node --import tsx bench/kafkaCeiling.ts --brokers H:P --topic T --messages N [--keys 10000]
 * [--value-bytes 160] [--partitions P] [--batch-size 1000] [--timeout-ms MS] [--json]`
 */

import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { Partitioners } from 'kafkajs';
import { ConfigError } from '../core/errors.js';
import { createKafkaClient, kafkaLogger } from '../pipeline/kafka/client.js';
import { ensureTopic } from '../pipeline/kafka/connect.js';
import { DEFAULT_KAFKA_SOURCE_OPTIONS } from '../pipeline/kafka/source.js';
import { parseKafkaUri } from '../pipeline/kafka/uri.js';
import { type Logger, rootLogger } from '../pipeline/logger.js';
import { type Flags, numberFlag, parseFlags, printResult, runMain } from './flags.js';
import { BENCH_WORDS } from './memorySource.js';
import { seededRandom } from './random.js';

/** Options of {@link measureKafkaCeiling}. */
export interface KafkaCeilingOptions {
  /** `host:port` seeds of the Kafka cluster. */
  brokers: string[];
  /** Topic to fill: created when missing, and it must hold no messages yet. */
  topic: string;
  /** Messages to produce and consume. */
  messages: number;
  /** Keys `session-0…`, round robin, as `rnnstream feed --keys`. @default 10000 */
  keys?: number;
  /** Approximate size of each JSON value `{"text", "id"}`, in bytes. @default 160 */
  valueBytes?: number;
  /** Partitions when the topic has to be created (-1 = the broker's default). @default -1 */
  partitions?: number;
  /** Messages per `send` (feed sends what is due every 100 ms: ~1000 at its usual rates). @default 1000 */
  batchSize?: number;
  /** Deadline for the consume pass, in ms. @default 600000 */
  timeoutMs?: number;
  /** @default the root logger, namespace `kafka-ceiling` */
  log?: Logger;
}

/** Defaults of {@link KafkaCeilingOptions}. */
export const DEFAULT_KAFKA_CEILING_OPTIONS = {
  keys: 10_000,
  valueBytes: 160,
  partitions: -1,
  batchSize: 1000,
  timeoutMs: 600_000,
};

/** What {@link measureKafkaCeiling} measured. */
export interface CeilingResult {
  bench: 'kafka-ceiling';
  messages: number;
  /** Mean size of the values sent. */
  value_bytes: number;
  /** Partitions of the topic. */
  partitions: number;
  produce_seconds: number;
  produce_messages_per_s: number;
  /** From joining the group (its first fetch included) to the last batch received. */
  consume_seconds: number;
  consume_messages_per_s: number;
}

/** Texts of word salad, each cut so that `{"text":…,"id":"<n>"}` is `valueBytes` long for n of `idDigits` digits. */
function makeTexts(valueBytes: number, idDigits: number, count = 100): string[] {
  const overhead = JSON.stringify({ text: '', id: '0'.repeat(idDigits) }).length;
  const next = seededRandom(1);
  return Array.from({ length: count }, () => {
    let text = '';
    while (text.length < valueBytes - overhead)
      text += `${BENCH_WORDS[Math.floor(next() * BENCH_WORDS.length)]} `;
    return text.slice(0, valueBytes - overhead);
  });
}

function check(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min)
    throw new ConfigError(`--${name} must be an integer ≥ ${min}, got ${value}`);
}

/**
 * Produces `messages` keyed messages as fast as one idempotent producer allows, then consumes them with a
 * counting-only consumer, and reports both rates.
 * @example const { consume_messages_per_s } = await measureKafkaCeiling({ brokers: ['127.0.0.1:9092'], topic: 'ceiling', messages: 200000 });
 */
export async function measureKafkaCeiling(options: KafkaCeilingOptions): Promise<CeilingResult> {
  const o = { ...DEFAULT_KAFKA_CEILING_OPTIONS, ...options };
  check('messages', o.messages, 1);
  check('keys', o.keys, 1);
  check('value-bytes', o.valueBytes, 32);
  check('batch-size', o.batchSize, 1);
  if (o.partitions !== -1) check('partitions', o.partitions, 1);
  if (o.brokers.length === 0) throw new ConfigError('--brokers must name at least one host:port');
  const log = o.log ?? rootLogger().child({ ns: 'kafka-ceiling' });
  const { connection } = parseKafkaUri(`kafka://${o.brokers.join(',')}/${o.topic}`);
  const kafka = createKafkaClient(connection, { logger: kafkaLogger(log) });

  await ensureTopic(kafka, o.topic, o.partitions);
  const admin = kafka.admin();
  let partitions: number;
  try {
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(o.topic);
    const held = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    // The consume pass reads from the beginning and counts: older messages would be counted too.
    if (held > 0) throw new ConfigError(`topic ${o.topic} already holds ${held} messages: give a new topic`);
    partitions = offsets.length;
  } finally {
    await admin.disconnect().catch(() => {});
  }

  // Values are built before the clock starts: the producer is measured, not the generator.
  const texts = makeTexts(o.valueBytes, String(o.messages - 1).length);
  let bytes = 0;
  const messages = Array.from({ length: o.messages }, (_, i) => {
    const value = JSON.stringify({ text: texts[i % texts.length], id: String(i) });
    bytes += value.length;
    return { key: `session-${i % o.keys}`, value };
  });

  // As `rnnstream feed`: idempotent, so one request in flight per broker (kafkajs tracks sequences serially).
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  let produceSeconds: number;
  try {
    await producer.connect();
    const started = performance.now();
    for (let i = 0; i < messages.length; i += o.batchSize) {
      await producer.send({ topic: o.topic, acks: -1, messages: messages.slice(i, i + o.batchSize) });
    }
    produceSeconds = (performance.now() - started) / 1000;
  } finally {
    await producer.disconnect().catch(() => {});
  }

  // The fetch settings of rnnstream's Kafka source: this is the read rate the pipeline could reach.
  const source = DEFAULT_KAFKA_SOURCE_OPTIONS;
  const consumer = kafka.consumer({
    groupId: `rnnstream-ceiling-${randomBytes(6).toString('hex')}`,
    maxBytesPerPartition: source.maxBytesPerPartition,
    maxWaitTimeInMs: source.maxWaitTimeInMs,
    allowAutoTopicCreation: false,
  });
  let seen = 0;
  let first = 0;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    let finish: () => void = () => {};
    let fail: (error: unknown) => void = () => {};
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    // The clock starts when the group is joined: the first fetch response can hold every message (up to
    // maxBytesPerPartition per partition), so timing from the first batch would leave that fetch out.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      first = performance.now();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) fail(payload.error);
    });
    timer = setTimeout(
      () => fail(new Error(`kafka ceiling: read ${seen} of ${o.messages} messages within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    timer.unref();
    await consumer.connect();
    await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: source.partitionsConsumedConcurrently,
      eachBatch: async ({ batch, resolveOffset }) => {
        if (batch.messages.length === 0) return;
        seen += batch.messages.length;
        resolveOffset(batch.lastOffset());
        last = performance.now();
        if (seen >= o.messages) finish();
      },
    });
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
  const consumeSeconds = (last - first) / 1000;
  return {
    bench: 'kafka-ceiling',
    messages: o.messages,
    value_bytes: Math.round(bytes / o.messages),
    partitions,
    produce_seconds: produceSeconds,
    produce_messages_per_s: o.messages / produceSeconds,
    consume_seconds: consumeSeconds,
    consume_messages_per_s: o.messages / consumeSeconds,
  };
}

/** CLI entry: measures with flags as in the file's header; resolves to the exit code. */
export async function kafkaCeilingCommand(flags: Flags): Promise<number> {
  const required = (name: string): string => {
    const value = flags[name];
    if (typeof value !== 'string')
      throw new ConfigError(`--${name} is required (kafkaCeiling --brokers H:P --topic T --messages N)`);
    return value;
  };
  const d = DEFAULT_KAFKA_CEILING_OPTIONS;
  const result = await measureKafkaCeiling({
    brokers: required('brokers').split(','),
    topic: required('topic'),
    messages: numberFlag(flags, 'messages', 0, { min: 0 }),
    keys: numberFlag(flags, 'keys', d.keys),
    valueBytes: numberFlag(flags, 'valueBytes', d.valueBytes),
    partitions: numberFlag(flags, 'partitions', d.partitions, { min: -1 }),
    batchSize: numberFlag(flags, 'batchSize', d.batchSize),
    timeoutMs: numberFlag(flags, 'timeoutMs', d.timeoutMs),
  });
  printResult(result, flags.json === true);
  return 0;
}

/** The script's flags (as in the file's header). */
export function kafkaCeilingFlags(): Command {
  const d = DEFAULT_KAFKA_CEILING_OPTIONS;
  return new Command('bench/kafkaCeiling.ts')
    .description("Kafka's own produce and consume rate on a broker")
    .option('--brokers <list>', 'host:port seeds (required)')
    .option('--topic <name>', 'topic to fill and read (required)')
    .option('--messages <n>', 'messages (required)')
    .option('--keys <n>', `distinct keys (default ${d.keys})`)
    .option('--value-bytes <n>', `bytes per value (default ${d.valueBytes})`)
    .option('--partitions <n>', "partitions of a created topic (default: the broker's)")
    .option('--batch-size <n>', `messages per produce batch (default ${d.batchSize})`)
    .option('--timeout-ms <ms>', `give up after this long (default ${d.timeoutMs})`)
    .option('--json', 'last line is a JSON object');
}

if (import.meta.url === `file://${process.argv[1]}`)
  runMain(() => kafkaCeilingCommand(parseFlags(kafkaCeilingFlags(), process.argv.slice(2))));
