/**
 * Bounded exponential backoff with jitter for transient faults (STYLE.md 5): only errors that say they
 * are `retriable` are retried; programmer errors and poison input fail at once.
 */
import { RnnstreamError } from '../core/errors.js';

export interface RetryOptions {
  /** First delay. @default 100 */
  initialDelayMs?: number;
  /** Largest delay between tries. @default 5000 */
  maxDelayMs?: number;
  /** Tries in all before giving up; `Infinity` retries until `signal` aborts (a Redis outage must not crash the worker). @default Infinity */
  maxAttempts?: number;
  /** Stops retrying (shutdown). */
  signal?: AbortSignal;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RETRY: Required<Omit<RetryOptions, 'signal' | 'onRetry' | 'sleep' | 'random'>> = {
  initialDelayMs: 100,
  maxDelayMs: 5000,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/** Whether an error is worth retrying: rnnstream's `retriable` flag, or a driver error that says so (kafkajs). */
export function isRetriable(error: unknown): boolean {
  if (error instanceof RnnstreamError) return error.retriable;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return false;
  return typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn`, retrying retriable failures with exponential backoff and "equal jitter" (AWS, "Exponential
 * Backoff And Jitter"): the n-th wait is `cap/2 + random(0, cap/2)` with `cap = min(maxDelayMs,
 * initialDelayMs·2^(n-1))`, so retries spread out but never come back sooner than half the backoff.
 * @example await withRetry(() => store.write(writes), { onRetry: (e) => log.warn({ err: e }, 'retrying') });
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { initialDelayMs, maxDelayMs, maxAttempts } = { ...DEFAULT_RETRY, ...options };
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetriable(error) || attempt >= maxAttempts || options.signal?.aborted) throw error;
      const cap = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt - 1, 30));
      const delay = Math.round(cap / 2 + (random() * cap) / 2);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
