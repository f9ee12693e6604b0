/**
 * The Kafka connectors behind `--in`, `--out` and `--dlq` URIs (loaded lazily by `pipeline/connect.ts`,
 * so the embedded mode never loads kafkajs).
 */
import type { Kafka } from 'kafkajs';
import { ConfigError } from '../../core/errors.js';
import type { ConnectOptions } from '../connect.js';
import { createKafkaClient, type KafkaLogger, kafkaLogger, toKafkaError } from './client.js';
import { KafkaDeadLetterSink } from './deadLetterSink.js';
import { KafkaSink } from './sink.js';
import { KafkaSource, type TopicPartition } from './source.js';
import { describeConnection, type KafkaUri, parseKafkaUri } from './uri.js';

/** Extra wiring a run gives the Kafka source. */
export interface KafkaSourceWiring {
  /** Partitions that left this worker (rebalance): drop their cached state. */
  onRevoke?: (partitions: TopicPartition[]) => void;
  /**
   * Partitions (re)assigned to this worker: their cached states may be stale (another worker ran them); a
   * returned promise (the exactly-once sink fencing their previous owners) holds back reading them.
   */
  onAssign?: (partitions: TopicPartition[]) => void | Promise<void>;
}

function client(parsed: KafkaUri, options: ConnectOptions): { kafka: Kafka; log: KafkaLogger } {
  const log = kafkaLogger(options.log);
  log.debug({ connection: describeConnection(parsed.connection), topic: parsed.topic }, 'kafka client');
  return { kafka: createKafkaClient(parsed.connection, { logger: log }), log };
}

/**
 * Creates the topic with `partitions` partitions when it does not exist (the URI's `partitions=N`);
 * an existing topic is left as it is.
 */
export async function ensureTopic(kafka: Kafka, topic: string, partitions = -1): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    }
  } catch (error) {
    throw toKafkaError(error, `creating topic ${topic}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * A {@link KafkaSource} for `--in kafka://…?group=G`. With `exactlyOnce` the sink commits the offsets.
 *
 * @example
 * const source = await openKafkaSource('kafka://127.0.0.1:9092/texts?group=rnnstream', options);
 */
export async function openKafkaSource(
  uri: string,
  options: ConnectOptions & KafkaSourceWiring,
): Promise<KafkaSource> {
  const parsed = parseKafkaUri(uri);
  if (!parsed.group) {
    throw new ConfigError(`--in "${uri}": a Kafka input needs a consumer group: add ?group=NAME`);
  }
  const { kafka, log } = client(parsed, options);
  if (parsed.partitions !== undefined) await ensureTopic(kafka, parsed.topic, parsed.partitions);
  return new KafkaSource({
    kafka,
    topic: parsed.topic,
    groupId: parsed.group,
    offsetReset: parsed.offsetReset,
    partitionsConsumedConcurrently: parsed.concurrency,
    sessionTimeout: parsed.sessionTimeout,
    heartbeatInterval: parsed.sessionTimeout ? Math.floor(parsed.sessionTimeout / 10) : undefined,
    maxInFlightMessages: options.maxInFlight,
    commitViaSink: options.exactlyOnce,
    onRevoke: options.onRevoke,
    onAssign: options.onAssign,
    logger: log,
  });
}

/**
 * A {@link KafkaSink} for `--out kafka://…`. With `exactlyOnce`, the transactions commit the offsets of
 * `groupId` (the input's group, or the output URI's `group=`); input and output must then be on the
 * same cluster, since a transaction commits offsets on the cluster it writes to.
 */
export async function openKafkaSink(
  uri: string,
  options: ConnectOptions & { groupId?: string },
): Promise<KafkaSink> {
  const parsed = parseKafkaUri(uri);
  const { kafka, log } = client(parsed, options);
  const groupId = options.groupId ?? parsed.group;
  if (options.exactlyOnce && !groupId) {
    throw new ConfigError(
      '--exactly-once needs a Kafka input with a consumer group (--in kafka://…?group=NAME)',
    );
  }
  // Outputs are ours to create: a first run must not stall on "unknown topic" (-1 = broker default partitions).
  await ensureTopic(kafka, parsed.topic, parsed.partitions);
  const sink = new KafkaSink({
    kafka,
    topic: parsed.topic,
    exactlyOnce:
      options.exactlyOnce && groupId
        ? { groupId, transactionalIdPrefix: parsed.transactionalIdPrefix }
        : undefined,
    logger: log,
  });
  await sink.connect();
  return sink;
}

/** A {@link KafkaDeadLetterSink} for `--dlq kafka://…`. */
export async function openKafkaDeadLetterSink(
  uri: string,
  options: ConnectOptions,
): Promise<KafkaDeadLetterSink> {
  const parsed = parseKafkaUri(uri);
  const { kafka } = client(parsed, options);
  await ensureTopic(kafka, parsed.topic, parsed.partitions);
  const sink = new KafkaDeadLetterSink({ kafka, topic: parsed.topic });
  await sink.connect();
  return sink;
}

/** Whether a source is a Kafka source (for lag metrics). */
export function isKafkaSource(source: unknown): source is KafkaSource {
  return source instanceof KafkaSource;
}
