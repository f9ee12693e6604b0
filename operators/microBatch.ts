import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { ConfigError } from '../pipeline/errors.js';
import type { Batch, BatchRow, TokenizedMessage } from '../pipeline/types.js';

/** Options of {@link microBatch}. */
export interface MicroBatchOptions {
  /** A batch is emitted once it holds this many rows (keys). @default 1024 */
  maxRows?: number;
  /**
   * A batch is emitted once it holds this many tokens; a message that would push a non-empty batch over
   * the limit goes to the next one (so only a single oversized message can exceed it). @default 16384
   */
  maxTokens?: number;
  /** A batch is emitted this long after its first message, full or not. @default 5 */
  maxDelayMs?: number;
  /** Scheduler of the `maxDelayMs` timer (virtual time in tests). @default asyncScheduler */
  scheduler?: SchedulerLike;
  /**
   * Signals that an emitted batch is done (its state is stored): its keys may enter a batch again.
   * Only `seq` is read. Subscribed before the source.
   */
  completed$: Observable<Pick<Batch, 'seq'>>;
}

/** Defaults of {@link MicroBatchOptions}. */
export const DEFAULT_MICRO_BATCH_OPTIONS: Required<Omit<MicroBatchOptions, 'completed$' | 'scheduler'>> = {
  maxRows: 1024,
  maxTokens: 16384,
  maxDelayMs: 5,
};

/**
 * Collects tokenized messages into micro-batches, one row per key (its messages coalesced in arrival
 * order), emitted on `maxRows`, `maxTokens` or `maxDelayMs` after the batch's first message.
 *
 * Key gate: a key is never in two in-flight batches. A message whose key is in an emitted batch not yet
 * signalled on `completed$` is held back (in order) and joins the first batch collected after that
 * signal, so a state is never loaded before the previous write of the same key.
 *
 * On source completion the pending batch is flushed at once; the output completes when nothing is
 * pending or held back (held-back messages are flushed as soon as their key is released). Errors of the
 * source or of `completed$` propagate; `completed$` completing while messages are held back is an error,
 * as they could never be released.
 *
 * Memory: pending and held-back messages are not bounded here. They are bounded by the source's
 * in-flight budget (the source pauses while that many records are un-acked), so size that budget.
 *
 * @example
 * const completed$ = new Subject<Batch>();
 * tokenized$.pipe(microBatch({ maxRows: 256, completed$ }), ..., tap((b) => completed$.next(b)))
 */
export function microBatch(options: MicroBatchOptions): OperatorFunction<TokenizedMessage, Batch> {
  const config = { ...DEFAULT_MICRO_BATCH_OPTIONS, ...options };
  const scheduler = options.scheduler ?? asyncScheduler;
  if (!Number.isInteger(config.maxRows) || config.maxRows < 1) {
    throw new ConfigError(`maxRows must be a positive integer (got ${config.maxRows})`);
  }
  if (!Number.isInteger(config.maxTokens) || config.maxTokens < 1) {
    throw new ConfigError(`maxTokens must be a positive integer (got ${config.maxTokens})`);
  }
  if (!Number.isFinite(config.maxDelayMs) || config.maxDelayMs < 0) {
    throw new ConfigError(`maxDelayMs must be a non-negative number (got ${config.maxDelayMs})`);
  }
  const { maxRows, maxTokens, maxDelayMs, completed$ } = config;

  return (source) =>
    new Observable<Batch>((subscriber) => {
      let seq = 0;
      /** The batch being collected: rows by key, in first-arrival order. */
      let pending = new Map<string, BatchRow>();
      let pendingTokens = 0;
      let timer: Subscription | undefined;
      /** Key → seq of the in-flight batch holding it. */
      const inFlightKey = new Map<string, number>();
      /** Seq → keys of each in-flight batch. */
      const inFlightBatch = new Map<number, string[]>();
      /** Messages waiting for their key's batch to complete, in arrival order per key. */
      const heldBack = new Map<string, TokenizedMessage[]>();
      let sourceDone = false;
      let completionsDone = false;

      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (pending.size === 0) return;
        const rows = [...pending.values()];
        pending = new Map();
        pendingTokens = 0;
        const batch: Batch = { seq: seq++, rows };
        const keys = rows.map((row) => row.key);
        inFlightBatch.set(batch.seq, keys);
        for (const key of keys) inFlightKey.set(key, batch.seq);
        // State is consistent before `next`: downstream may signal completion synchronously (re-entrantly).
        subscriber.next(batch);
      };

      const admit = (message: TokenizedMessage): void => {
        if (inFlightKey.has(message.key)) {
          if (completionsDone) {
            subscriber.error(new Error(`microBatch: completed$ ended while key ${message.key} is in flight`));
            return;
          }
          const queue = heldBack.get(message.key);
          if (queue) queue.push(message);
          else heldBack.set(message.key, [message]);
          return;
        }
        const tokens = message.tokens.length;
        if (pending.size > 0 && pendingTokens + tokens > maxTokens) {
          flush();
          // The flush may have put this message's key in flight: then it waits like any other.
          if (inFlightKey.has(message.key)) {
            admit(message);
            return;
          }
        }
        const row = pending.get(message.key);
        if (row) row.messages.push(message);
        else pending.set(message.key, { key: message.key, messages: [message] });
        pendingTokens += tokens;
        if (pending.size >= maxRows || pendingTokens >= maxTokens) flush();
        else if (timer === undefined) timer = scheduler.schedule(flush, maxDelayMs);
      };

      const maybeComplete = (): void => {
        if (sourceDone && heldBack.size === 0 && pending.size === 0) subscriber.complete();
      };

      const release = (done: number): void => {
        const keys = inFlightBatch.get(done);
        if (keys === undefined) return; // Unknown or already signalled: signals are idempotent.
        inFlightBatch.delete(done);
        for (const key of keys) {
          if (inFlightKey.get(key) === done) inFlightKey.delete(key);
        }
        for (const key of keys) {
          const queue = heldBack.get(key);
          if (queue === undefined || inFlightKey.has(key)) continue;
          heldBack.delete(key);
          for (const message of queue) admit(message);
        }
        if (sourceDone) {
          flush();
          maybeComplete();
        }
      };

      const completions = completed$.subscribe({
        next: (batch) => release(batch.seq),
        error: (error) => subscriber.error(error),
        complete: () => {
          completionsDone = true;
          if (heldBack.size > 0) {
            subscriber.error(new Error(`microBatch: completed$ ended with ${heldBack.size} keys held back`));
          }
        },
      });
      const input = source.subscribe({
        next: (message) => admit(message),
        error: (error) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          flush();
          maybeComplete();
        },
      });

      return () => {
        timer?.unsubscribe();
        input.unsubscribe();
        completions.unsubscribe();
      };
    });
}
