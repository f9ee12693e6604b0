/**
 * A quick look at a Kafka endpoint for start-up checks and `rnnstream doctor`: can the brokers be reached,
 * does the topic exist and with how many partitions, where has the group committed. Fails fast (one retry,
 * short timeouts) and logs nothing: the caller words the finding.
 */
import { createKafkaClient } from './client.js';
import type { KafkaUri } from './uri.js';

/** What {@link probeKafka} found. */
export type KafkaProbe =
  | { reachable: false; reason: string }
  | {
      reachable: true;
      brokers: number;
      /** Partitions of the topic; `undefined` when it does not exist. */
      partitions?: number;
      /** Partitions with a committed offset of the group (when a group was asked about and the topic exists). */
      committed?: number;
    };

/** Options of {@link probeKafka}. */
export interface KafkaProbeOptions {
  /** Also count the partitions this consumer group has committed offsets on. */
  group?: string;
  /** Connection and request timeout. @default 3000 */
  timeoutMs?: number;
}

/**
 * Connects an admin client to the URI's brokers and describes its topic.
 *
 * @example
 * const probe = await probeKafka(parseKafkaUri('kafka://127.0.0.1:9092/texts?group=g'), { group: 'g' });
 * if (probe.reachable && probe.partitions === undefined) console.log('no such topic');
 */
export async function probeKafka(uri: KafkaUri, options: KafkaProbeOptions = {}): Promise<KafkaProbe> {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const kafka = createKafkaClient(
    { ...uri.connection, clientId: `${uri.connection.clientId}-probe` },
    {
      logLevel: 'nothing',
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 },
    },
  );
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    // listTopics first: a metadata request for a missing topic could create it (auto.create.topics.enable).
    const topics = await admin.listTopics();
    if (!topics.includes(uri.topic)) return { reachable: true, brokers: cluster.brokers.length };
    const metadata = await admin.fetchTopicMetadata({ topics: [uri.topic] });
    const partitions = metadata.topics[0]?.partitions.length ?? 0;
    if (!options.group) return { reachable: true, brokers: cluster.brokers.length, partitions };
    const [offsets] = await admin.fetchOffsets({ groupId: options.group, topics: [uri.topic] });
    const committed = (offsets?.partitions ?? []).filter((p) => BigInt(p.offset) >= 0n).length;
    return { reachable: true, brokers: cluster.brokers.length, partitions, committed };
  } catch (error) {
    return { reachable: false, reason: plainReason(error) };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The innermost kafkajs message (its retry wrappers add nothing a user can act on). */
function plainReason(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 5; depth++) {
    const inner = (e as { originalError?: unknown; cause?: unknown } | undefined)?.originalError;
    if (!(inner instanceof Error)) break;
    e = inner;
  }
  return e instanceof Error ? e.message.replace(/^Connection error: /, '') : String(e);
}
