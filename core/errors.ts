/**
 * The one error hierarchy of rnnstream (after kafkajs `errors.js`): every error says whether retrying
 * can help, and keeps its cause. Programmer errors (TypeError, RangeError…) are never wrapped or retried.
 * An error about one record carries where it came from as fields (`context`, as kafkajs errors carry
 * `topic` and `partition`), so logs print them as fields and messages stay free of coordinates.
 */
import type { SourceRecord } from './contracts.js';

/** Where in the input an error happened: the record's coordinates and sequence key, when known. */
export interface ErrorContext {
  topic?: string;
  partition?: number;
  /** Kafka offsets are int64: a decimal string, as in `SourcePosition`. */
  offset?: string;
  /** The sequence key. */
  key?: string;
}

/** Options every rnnstream error takes. */
export interface RnnstreamErrorOptions {
  cause?: unknown;
  /** The record the error is about (see {@link recordContext}). */
  context?: ErrorContext;
}

/** Base of every rnnstream error. */
export class RnnstreamError extends Error {
  /** Whether retrying the same operation later can succeed. */
  readonly retriable: boolean;
  /** The record the error is about, when it is about one (`declare`: absent, not undefined, without one). */
  declare readonly context?: ErrorContext;

  constructor(message: string, options: RnnstreamErrorOptions & { retriable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
    if (options.context) this.context = options.context;
  }
}

/** Longest key put in an error context or a log line (a refused key can be far longer). */
export const CONTEXT_KEY_CHARS = 256;

/**
 * The context of an error about `record`: its source coordinates and its key (`key` when the decoded key
 * is known, else the raw key bytes read as UTF-8), the key cut to {@link CONTEXT_KEY_CHARS} characters.
 * @example throw new RnnstreamError('stored state is unusable', { context: recordContext(message.record, message.key) });
 */
export function recordContext(record: SourceRecord, key?: string): ErrorContext {
  const { topic, partition, offset } = record.source;
  const context: ErrorContext = { topic, partition, offset };
  const text = key ?? record.key?.toString('utf8');
  if (text !== undefined) {
    context.key = text.length > CONTEXT_KEY_CHARS ? `${text.slice(0, CONTEXT_KEY_CHARS)}…` : text;
  }
  return context;
}

/** Bad input: the message goes to the dead-letter sink with `reason`, the run goes on. */
export class PoisonInputError extends RnnstreamError {
  /** Short machine-readable reason, e.g. `invalid-json`, `empty-text`. */
  readonly reason: string;

  constructor(reason: string, message: string, options: RnnstreamErrorOptions = {}) {
    super(message, { ...options, retriable: false });
    this.reason = reason;
  }
}

/** A transient infrastructure fault (Redis or Kafka unreachable…): retried with bounded backoff. */
export class TransientError extends RnnstreamError {
  constructor(message: string, options: RnnstreamErrorOptions = {}) {
    super(message, { ...options, retriable: true });
  }
}

/** A bad command line, config or model package: stop with a one-line message naming what to change (exit 2). */
export class ConfigError extends RnnstreamError {
  constructor(message: string, options: RnnstreamErrorOptions = {}) {
    super(message, { ...options, retriable: false });
  }
}

/** A model or weights file that does not match what the code expects (names, shapes, format). */
export class ModelFormatError extends ConfigError {}

/**
 * Runs a script's `main` (the `scripts/model.sh` entry points): a {@link ConfigError}, a mistake in the
 * command line or the data cache, is one line on stderr and exit code 2, not a stack trace; anything else
 * propagates.
 * @example if (import.meta.url === `file://${process.argv[1]}`) await runScript(main, 'model: ');
 */
export async function runScript(main: () => Promise<void>, prefix = ''): Promise<void> {
  await main().catch((error: unknown) => {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${prefix}${error.message}`);
    process.exitCode = 2;
  });
}
