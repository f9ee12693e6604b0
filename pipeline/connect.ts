/**
 * Builds sources, sinks and state stores from URIs. Kafka and Redis modules are imported lazily, so the
 * embedded mode (files, memory state) loads neither.
 */
import { ConfigError } from '../core/errors.js';
import type { DeadLetterSink, Sink, Source, StateStore } from './connectors.js';
import { FileDeadLetterSink, FileSink } from './file/fileSinks.js';
import { FileSource, maxLineBytesFor } from './file/fileSource.js';
import type { Logger } from './logger.js';
import type { StateSchema } from './state/record.js';

/** `file:PATH` or `-` → a path (`-` = stdin/stdout); anything else → undefined. */
export function filePath(uri: string): string | undefined {
  if (uri === '-') return '-';
  if (uri.startsWith('file:')) {
    const path = uri.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new ConfigError(`"${uri}": file: needs a path, e.g. file:feed.jsonl`);
    return path;
  }
  return undefined;
}

function isKafka(uri: string): boolean {
  return uri.startsWith('kafka://') || uri.startsWith('kafkas://');
}

/** Options shared by the connectors a run builds. */
export interface ConnectOptions {
  inputFormat: 'json' | 'text';
  maxInFlight: number;
  maxValueBytes: number;
  exactlyOnce: boolean;
  log: Logger;
}

/** The source for `--in`. */
export async function openSource(
  uri: string,
  options: ConnectOptions,
  hooks: {
    onRevoke?: (partitions: { topic: string; partition: number }[]) => void;
    onAssign?: (partitions: { topic: string; partition: number }[]) => void | Promise<void>;
  } = {},
): Promise<Source & { start?(): Promise<void> }> {
  const path = filePath(uri);
  if (path !== undefined) {
    return new FileSource({
      paths: [path],
      format: options.inputFormat,
      maxInFlight: options.maxInFlight,
      maxLineBytes: maxLineBytesFor(options.maxValueBytes),
    });
  }
  if (isKafka(uri)) {
    const { openKafkaSource } = await import('./kafka/connect.js');
    return openKafkaSource(uri, { ...options, ...hooks });
  }
  throw new ConfigError(
    `--in "${uri}": unsupported URI (use file:PATH, - or kafka://HOST:PORT/TOPIC?group=G)`,
  );
}

/** The consumer group named by a `kafka://…?group=G` input, if any (the exactly-once sink commits its offsets). */
export async function inputGroup(uri: string): Promise<string | undefined> {
  if (!isKafka(uri)) return undefined;
  const { parseKafkaUri } = await import('./kafka/uri.js');
  return parseKafkaUri(uri).group;
}

/** The sink for `--out`. */
export async function openSink(uri: string, options: ConnectOptions & { groupId?: string }): Promise<Sink> {
  const path = filePath(uri);
  if (path !== undefined) {
    if (options.exactlyOnce) throw new ConfigError('--exactly-once needs a Kafka output (--out kafka://…)');
    return new FileSink(path);
  }
  if (isKafka(uri)) {
    const { openKafkaSink } = await import('./kafka/connect.js');
    return openKafkaSink(uri, options);
  }
  throw new ConfigError(`--out "${uri}": unsupported URI (use file:PATH, - or kafka://HOST:PORT/TOPIC)`);
}

/** The dead-letter sink for `--dlq` (default: JSON lines on stderr). */
export async function openDeadLetterSink(
  uri: string | undefined,
  options: ConnectOptions,
): Promise<DeadLetterSink> {
  if (uri === undefined) return new FileDeadLetterSink('stderr');
  const path = filePath(uri);
  if (path !== undefined) return new FileDeadLetterSink(path);
  if (isKafka(uri)) {
    const { openKafkaDeadLetterSink } = await import('./kafka/connect.js');
    return openKafkaDeadLetterSink(uri, options);
  }
  throw new ConfigError(`--dlq "${uri}": unsupported URI (use file:PATH or kafka://HOST:PORT/TOPIC)`);
}

/** The state store for `--state`. */
export async function openStateStore(uri: string, schema: StateSchema): Promise<StateStore> {
  const { createStateStore } = await import('./state/stateUri.js');
  return createStateStore(uri, schema);
}
