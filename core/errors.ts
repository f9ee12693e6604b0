/**
 * The one error hierarchy of rnnstream (after kafkajs `errors.js`): every error says whether retrying
 * can help, and keeps its cause. Programmer errors (TypeError, RangeError…) are never wrapped or retried.
 */

/** Base of every rnnstream error. */
export class RnnstreamError extends Error {
  /** Whether retrying the same operation later can succeed. */
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** Bad input: the message goes to the dead-letter sink with `reason`, the run goes on. */
export class PoisonInputError extends RnnstreamError {
  /** Short machine-readable reason, e.g. `invalid-json`, `empty-text`. */
  readonly reason: string;

  constructor(reason: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: false, cause: options.cause });
    this.reason = reason;
  }
}

/** A transient infrastructure fault (Redis or Kafka unreachable…): retried with bounded backoff. */
export class TransientError extends RnnstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, cause: options.cause });
  }
}

/** A bad command line, config or model package: stop with a one-line message naming what to change (exit 2). */
export class ConfigError extends RnnstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: false, cause: options.cause });
  }
}

/** A model or weights file that does not match what the code expects (names, shapes, format). */
export class ModelFormatError extends ConfigError {}
