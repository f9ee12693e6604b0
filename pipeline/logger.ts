/**
 * Structured logging (pino): one root logger, namespaced children, JSON to stderr so stdout stays free
 * for outputs (`--out -`).
 */
import { destination, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

let root: Logger | undefined;

/**
 * Creates (or replaces) the root logger writing JSON lines to stderr.
 * @example const log = createLogger('info').child({ ns: 'run' });
 */
export function createLogger(level: LogLevel = 'info'): Logger {
  root = pino({ level, base: { app: 'rnnstream' } }, destination({ fd: 2, sync: false }));
  return root;
}

/** The root logger (created at `warn` on first use when nobody configured one, e.g. in tests). */
export function rootLogger(): Logger {
  root ??= pino(
    { level: process.env.RNNSTREAM_LOG_LEVEL ?? 'warn', base: { app: 'rnnstream' } },
    destination(2),
  );
  return root;
}

/** A child logger for a namespace, e.g. `logger('kafka')`. */
export function logger(ns: string): Logger {
  return rootLogger().child({ ns });
}
