/**
 * What a replay reads: files (paths and globs, `--in file:…` and `--files`) or a Kafka topic range
 * (`--from-…`, `--to-end`), resolved from the command line and then opened as a source, with the counts
 * its progress bar needs and what a fresh replay's checkpoint records about it.
 */

import { ConfigError } from '../../core/errors.js';
import type { RunConfig } from '../config.js';
import { filePath } from '../connect.js';
import type { Source } from '../connectors.js';
import { fileFormat } from '../file/fileRecords.js';
import { FileSource, maxLineBytesFor, splitFileOffset } from '../file/fileSource.js';
import type { KafkaSource } from '../kafka/source.js';
import type { Logger } from '../logger.js';
import type { CheckpointData, ReplayInputSpec } from './checkpoint.js';
import { countRecords, expandInputs } from './fileInput.js';
import { describeStart, type KafkaStart, parseFromOffsets, parseFromTime, parseStart } from './kafkaRange.js';

/** A source a replay reads (a file source starts when the pipeline subscribed). */
export type ReplaySource = Source & { start?(): Promise<void> };

/** Where the replay reads from, resolved. */
export type ReplayInput =
  | { kind: 'files'; paths: string[] }
  | { kind: 'kafka'; uri: string; start: KafkaStart | undefined };

/** The input flags of `replay`. */
export interface ReplayInputFlags {
  files?: string[];
  fromBeginning?: boolean;
  fromOffset?: string;
  fromTime?: string;
}

/** Resolves `--in`, `--files` and the `--from-…` flags into one input; a mix that cannot be is a ConfigError. */
export async function resolveInput(config: RunConfig, request: ReplayInputFlags): Promise<ReplayInput> {
  const kafka = config.in.startsWith('kafka://') || config.in.startsWith('kafkas://');
  const starts = [request.fromBeginning, request.fromOffset, request.fromTime].filter(
    (v) => v !== undefined && v !== false,
  );
  if (starts.length > 1) throw new ConfigError('give one of --from-beginning, --from-offset, --from-time');
  if (kafka) {
    if (request.files?.length)
      throw new ConfigError('--files and a Kafka --in cannot be combined: replay one input');
    let start: KafkaStart | undefined;
    if (request.fromOffset !== undefined)
      start = { kind: 'offsets', offsets: parseFromOffsets(request.fromOffset) };
    else if (request.fromTime !== undefined)
      start = { kind: 'time', timestamp: parseFromTime(request.fromTime) };
    else if (request.fromBeginning) start = { kind: 'beginning' };
    return { kind: 'kafka', uri: config.in, start };
  }
  if (starts.length > 0)
    throw new ConfigError('--from-beginning, --from-offset and --from-time apply to a Kafka --in');
  const patterns = [...(request.files ?? [])];
  const path = config.in === '-' ? undefined : filePath(config.in);
  if (config.in !== '-' && path === undefined) {
    throw new ConfigError(
      `--in "${config.in}": replay reads file:PATH (globs allowed), --files GLOB… or kafka://…`,
    );
  }
  if (path !== undefined) patterns.unshift(path);
  if (patterns.length === 0) {
    throw new ConfigError(
      'replay needs an input: --in file:PATH, --files GLOB… or --in kafka://HOST:PORT/TOPIC',
    );
  }
  return { kind: 'files', paths: await expandInputs(patterns) };
}

/** The input as its checkpoint records it (a resumed replay must read the same). */
export async function inputSpec(input: ReplayInput, format: 'json' | 'text'): Promise<ReplayInputSpec> {
  if (input.kind === 'files') return { kind: 'files', paths: input.paths, format };
  const { parseKafkaUri } = await import('../kafka/uri.js');
  return { kind: 'kafka', topic: parseKafkaUri(input.uri).topic };
}

/** An input opened for reading. */
export interface OpenedInput {
  source: ReplaySource;
  /** Records to read in all, when known (the progress bar's total). */
  total?: number;
  /** Of which an interrupted run already did. */
  initial: number;
  /** A Kafka input: whether the replay completed is whether it reached its end offsets. */
  kafka?: KafkaSource;
  /** The Kafka input's consumer group (an exactly-once sink commits its offsets). */
  groupId?: string;
  /** What a fresh replay's checkpoint records about the input, besides its spec. */
  begin: Pick<CheckpointData, 'start' | 'stopAt'>;
}

/** What opening an input needs. */
export interface OpenInputOptions {
  config: RunConfig;
  log: Logger;
  /** The replay's name (its Kafka consumer group is named after it). */
  name: string;
  /** The namespace base (`memory` for in-process state). */
  base: string;
  /** The checkpoint of an interrupted run, if any. */
  prior: CheckpointData | undefined;
  /** Kafka: stop at the end offsets taken at start. */
  toEnd: boolean;
}

/** Opens the input: files from where the checkpoint left them, or the Kafka range. */
export async function openInput(input: ReplayInput, options: OpenInputOptions): Promise<OpenedInput> {
  return input.kind === 'files' ? openFiles(input.paths, options) : openKafka(input, options);
}

async function openFiles(paths: string[], { config, prior }: OpenInputOptions): Promise<OpenedInput> {
  const resumeAfter = prior?.files ?? new Map<number, bigint>();
  const counts = await Promise.all(paths.map((p) => countRecords(p, fileFormat(p, config.inputFormat))));
  const initial = counts.reduce((sum, n, i) => {
    const last = resumeAfter.get(i);
    return last === undefined ? sum : sum + Math.min(n, Number(splitFileOffset(last).line + 1n));
  }, 0);
  const source = new FileSource({
    paths,
    format: config.inputFormat,
    maxInFlight: config.maxInFlight,
    maxLineBytes: maxLineBytesFor(config.maxValueBytes),
    resumeAfter,
  });
  return { source, total: counts.reduce((a, b) => a + b, 0), initial, begin: {} };
}

async function openKafka(
  input: Extract<ReplayInput, { kind: 'kafka' }>,
  options: OpenInputOptions,
): Promise<OpenedInput> {
  const { prior, log, name } = options;
  const start = prior?.start ? parseStart(prior.start) : (input.start ?? { kind: 'beginning' });
  const opened = await openKafkaRange(input.uri, start, options);
  if (prior?.start && input.start && describeStart(input.start) !== prior.start) {
    log.warn(
      { name, start: prior.start },
      'resuming: the start of the first run applies, not the one given now',
    );
  }
  return {
    source: opened.source,
    kafka: opened.source,
    groupId: opened.groupId,
    total: opened.remaining,
    initial: 0,
    begin: { start: describeStart(start), stopAt: opened.stopAt },
  };
}

async function openKafkaRange(
  uri: string,
  start: KafkaStart,
  options: OpenInputOptions,
): Promise<{ source: KafkaSource; groupId: string; stopAt?: Map<number, string>; remaining?: number }> {
  const { parseKafkaUri } = await import('../kafka/uri.js');
  const { createKafkaClient, kafkaLogger } = await import('../kafka/client.js');
  const { KafkaSource } = await import('../kafka/source.js');
  const { planKafkaRange } = await import('./kafkaRange.js');
  const parsed = parseKafkaUri(uri);
  const log = kafkaLogger(options.log);
  const kafka = createKafkaClient(parsed.connection, { logger: log });
  // A private group per replay: its committed offsets are the replay's progress.
  const groupId = `rnnstream-replay.${options.base}.${options.name}`;
  const plan = await planKafkaRange({
    kafka,
    topic: parsed.topic,
    groupId,
    start,
    resume: options.prior !== undefined,
    stopAt: options.prior?.stopAt ?? (options.toEnd ? true : undefined),
  });
  options.log.info(
    {
      topic: parsed.topic,
      groupId,
      starts: Object.fromEntries(plan.starts),
      stopAt: plan.stopAt ? Object.fromEntries(plan.stopAt) : 'follow',
      remaining: plan.remaining,
      resumedPartitions: plan.resumed,
    },
    'replay range',
  );
  const source = new KafkaSource({
    kafka,
    topic: parsed.topic,
    groupId,
    offsetReset: 'earliest',
    stopAt: plan.stopAt,
    partitionsConsumedConcurrently: parsed.concurrency,
    maxInFlightMessages: options.config.maxInFlight,
    commitViaSink: options.config.exactlyOnce,
    logger: log,
  });
  return { source, groupId, stopAt: plan.stopAt, remaining: plan.remaining };
}
