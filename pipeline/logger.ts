/**
 * Structured logging (pino): one root logger, namespaced children, JSON to stderr so stdout stays free
 * for outputs (`--out -`). An rnnstream error about one record puts its context (topic, partition, offset,
 * key) on the log line as fields, kafkajs style, beside the error.
 */
import {
  type DestinationStream,
  destination,
  type Logger,
  type LoggerOptions,
  pino,
  stdSerializers,
} from 'pino';
import type { DeadLetter } from '../core/contracts.js';
import { type ErrorContext, RnnstreamError, recordContext } from '../core/errors.js';

export type { Logger } from 'pino';

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

let root: Logger | undefined;

/** The context of the line's `err` as top-level fields; fields the call gives itself win. */
function errorContextFields(object: Record<string, unknown>): Record<string, unknown> {
  const { err } = object;
  if (!(err instanceof RnnstreamError) || !err.context) return object;
  return { ...err.context, ...object };
}

/** pino's error serializer, less the context that {@link errorContextFields} already put on the line. */
function serializeError(err: Error): ReturnType<typeof stdSerializers.err> {
  const serialized = stdSerializers.err(err);
  if (err instanceof RnnstreamError) delete (serialized as { context?: ErrorContext }).context;
  return serialized;
}

function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { app: 'rnnstream' },
    formatters: { log: errorContextFields },
    serializers: { err: serializeError },
  };
}

/**
 * Creates (or replaces) the root logger writing JSON lines to `stream` (stderr).
 * @example const log = createLogger('info').child({ ns: 'run' });
 */
export function createLogger(
  level: LogLevel = 'info',
  stream: DestinationStream = destination({ fd: 2, sync: false }),
): Logger {
  root = pino(loggerOptions(level), stream);
  return root;
}

/** The root logger (created at `warn` on first use when nobody configured one, e.g. in tests). */
export function rootLogger(): Logger {
  root ??= pino(loggerOptions(process.env.RNNSTREAM_LOG_LEVEL ?? 'warn'), destination(2));
  return root;
}

/** A child logger for a namespace, e.g. `logger('kafka')`. */
export function logger(ns: string): Logger {
  return rootLogger().child({ ns });
}

/**
 * The fields of a dead letter's log line: why, at which stage, and the record's topic, partition,
 * offset and key.
 * @example log.warn(deadLetterFields(dead), 'dead letter');
 */
export function deadLetterFields(dead: DeadLetter): Record<string, unknown> {
  return { reason: dead.reason, stage: dead.stage, ...recordContext(dead.record), detail: dead.detail };
}

/**
 * An error as one line for a terminal: its message, then the record it is about, if any.
 * @example errorLine(error) // "stored state is unusable (truncated); … (topic in, partition 0, offset 7, key \"a\")"
 */
export function errorLine(error: Error): string {
  const context = error instanceof RnnstreamError ? error.context : undefined;
  if (!context) return error.message;
  const { topic, partition, offset, key } = context;
  const parts = [
    topic !== undefined && `topic ${topic}`,
    partition !== undefined && `partition ${partition}`,
    offset !== undefined && `offset ${offset}`,
    key !== undefined && `key ${JSON.stringify(key)}`,
  ].filter((part): part is string => typeof part === 'string');
  return `${error.message} (${parts.join(', ')})`;
}
