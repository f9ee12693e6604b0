/**
 * Builds kafkajs clients from a {@link KafkaConnection}, routes kafkajs' own logs to the pipeline's
 * logger, and turns kafkajs errors into rnnstream's error hierarchy.
 */
import { Kafka, type LogEntry, logLevel, type RetryOptions, type SASLOptions } from 'kafkajs';
import { RnnstreamError, TransientError } from '../../core/errors.js';
import { connectionSecrets, type KafkaConnection, redact } from './uri.js';

/** The logger the Kafka connectors write to: pino's call shape `(obj, msg)`. */
export interface KafkaLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Levels of kafkajs' logs that reach the logger. */
export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** A logger that drops everything (the default when none is given). */
export const SILENT_KAFKA_LOGGER: KafkaLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * The Kafka connectors' logger: each line of `log` tagged `component: 'kafka'` as a field of the line,
 * not as a child binding — pino appends a child's bindings to its parent's, so a `child({ ns: 'kafka' })`
 * of the command's `ns: 'run'` logger wrote `"ns"` twice in every line. kafkajs' own lines (through
 * {@link kafkaLogCreator}) keep their `component: 'kafkajs.<Namespace>'`.
 *
 * @example const log = kafkaLogger(rootLogger().child({ ns: 'run' })); // {"ns":"run","component":"kafka",…}
 */
export function kafkaLogger(log: KafkaLogger): KafkaLogger {
  const at =
    (level: keyof KafkaLogger) =>
    (obj: object, msg: string): void =>
      log[level]({ component: 'kafka', ...obj }, msg);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Options of {@link createKafkaClient}. */
export interface KafkaClientOptions {
  /** Where kafkajs logs go. @default SILENT_KAFKA_LOGGER */
  logger?: KafkaLogger;
  /** The lowest kafkajs level passed on: kafkajs is chatty at info. @default 'warn' */
  logLevel?: KafkaLogLevel;
  /** @default 10000 */
  connectionTimeout?: number;
  /** @default 30000 */
  requestTimeout?: number;
  /** kafkajs' retry policy of every request. @default kafkajs' own (5 retries from 300 ms) */
  retry?: RetryOptions;
}

/** Defaults of {@link KafkaClientOptions}. */
export const DEFAULT_KAFKA_CLIENT_OPTIONS = {
  logLevel: 'warn' as KafkaLogLevel,
  connectionTimeout: 10_000,
  requestTimeout: 30_000,
};

const LEVELS: Record<KafkaLogLevel, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/**
 * A kafkajs `logCreator` writing to `logger`, namespaced `kafkajs.<Namespace>`, with every secret
 * (the SASL password) replaced by `***` in the message and the fields.
 */
export function kafkaLogCreator(
  logger: KafkaLogger,
  secrets: readonly string[] = [],
): () => (entry: LogEntry) => void {
  const scrub = (text: string): string => redact(text, secrets);
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const fields: Record<string, unknown> = { component: `kafkajs${namespace ? `.${namespace}` : ''}` };
      for (const [k, v] of Object.entries(extra)) fields[k] = typeof v === 'string' ? scrub(v) : v;
      const text = scrub(String(message));
      if (level === logLevel.ERROR) logger.error(fields, text);
      else if (level === logLevel.WARN) logger.warn(fields, text);
      else if (level === logLevel.INFO) logger.info(fields, text);
      else logger.debug(fields, text);
    };
}

/**
 * A kafkajs client for `connection`, quiet below WARN unless asked.
 *
 * @example
 * const kafka = createKafkaClient(parseKafkaUri(uri).connection, { logger });
 */
export function createKafkaClient(connection: KafkaConnection, options: KafkaClientOptions = {}): Kafka {
  const { logger = SILENT_KAFKA_LOGGER, retry, ...rest } = options;
  const { logLevel: level, connectionTimeout, requestTimeout } = { ...DEFAULT_KAFKA_CLIENT_OPTIONS, ...rest };
  return new Kafka({
    brokers: connection.brokers,
    clientId: connection.clientId,
    ssl: connection.ssl,
    // KafkaSasl's mechanism union is each of kafkajs' username/password variants.
    sasl: connection.sasl as SASLOptions | undefined,
    connectionTimeout,
    requestTimeout,
    retry,
    logLevel: LEVELS[level],
    logCreator: kafkaLogCreator(logger, connectionSecrets(connection)),
  });
}

/** Whether kafkajs marked an error retriable (its `retriable` flag, or a cause that is). */
export function isRetriableKafkaError(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    if ((e as { retriable?: boolean }).retriable === true) return true;
    e =
      (e as { cause?: unknown; originalError?: unknown }).cause ??
      (e as { originalError?: unknown }).originalError;
  }
  return false;
}

/**
 * Wraps a kafkajs error: {@link TransientError} when kafkajs says retrying can help, otherwise a
 * non-retriable {@link RnnstreamError}. Programmer errors pass through unwrapped.
 */
export function toKafkaError(error: unknown, what: string): Error {
  if (error instanceof RnnstreamError) return error;
  if (error instanceof TypeError || error instanceof RangeError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (isRetriableKafkaError(error)) return new TransientError(`${what}: ${detail}`, { cause: error });
  return new RnnstreamError(`${what}: ${detail}`, { retriable: false, cause: error });
}
