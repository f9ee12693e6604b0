import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { Batch, BatchRow, TokenizedMessage } from '../core/contracts.js';
import { ConfigError } from '../core/errors.js';
import { type LatencyGoal, LatencyPlan } from './latencyGoal.js';

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
  /**
   * Most emitted batches not yet signalled on `completed$`. A batch that is due (full, or its delay over)
   * while that many are in flight waits, and keeps filling up to `maxRows`/`maxTokens`: under load the
   * batches grow to what the engine can take instead of queueing small ones behind it (a dynamic batcher,
   * as Triton's). Messages that arrive while a full batch waits queue behind it, in order.
   * @default Infinity (emit as soon as due)
   */
  maxInFlight?: number;
  /**
   * A latency goal: each batch is cut (emitted, or closed while it waits for room) as soon as taking one
   * more message, or waiting longer, would make the learned costs predict its oldest message's output
   * durable later than `targetMs` after that message arrived here. `maxRows`, `maxTokens` and
   * `maxDelayMs` stay caps. A batch that misses the goal however it is cut is reported to `onOverload`
   * and grows to its limits (the most throughput) instead.
   * @default undefined (batches are cut by the limits only)
   */
  latencyGoal?: LatencyGoal;
  /** Called when a held-back message (key gate, or no room) enters a batch, with how long it was held, ms. */
  onUnparked?: (message: TokenizedMessage, heldMs: number) => void;
  /** Scheduler of the `maxDelayMs` timer and of arrival times (virtual time in tests). @default asyncScheduler */
  scheduler?: SchedulerLike;
  /**
   * Signals that an emitted batch is done (its state is stored): its keys may enter a batch again.
   * Only `seq` is read. Subscribed before the source.
   */
  completed$: Observable<Pick<Batch, 'seq'>>;
  /**
   * Signals that an emitted batch's outputs are written (after `completed$`). When given, `maxInFlight`
   * counts batches until this signal rather than `completed$`: the room then covers the output write too,
   * so while outputs are being written (a Kafka transaction each) the next batch grows instead of queueing
   * small batches, and so small transactions, in front of the sink. Only `seq` is read.
   * @default undefined (room is given back on `completed$`)
   */
  written$?: Observable<Pick<Batch, 'seq'>>;
}

/** Defaults of {@link MicroBatchOptions}. */
export const DEFAULT_MICRO_BATCH_OPTIONS: Required<
  Omit<MicroBatchOptions, 'completed$' | 'written$' | 'scheduler' | 'latencyGoal' | 'onUnparked'>
> = {
  maxRows: 1024,
  maxTokens: 16384,
  maxDelayMs: 5,
  maxInFlight: Number.POSITIVE_INFINITY,
};

/**
 * Collects tokenized messages into micro-batches, one row per key (its messages coalesced in arrival
 * order), emitted on `maxRows`, `maxTokens` or `maxDelayMs` after the batch's first message.
 *
 * Key gate: a key is never in two in-flight batches. A message whose key is in an emitted batch not yet
 * signalled on `completed$` is held back (in order) and joins the first batch collected after that
 * signal, so a state is never loaded before the previous write of the same key.
 *
 * Room (`maxInFlight`): with that many batches emitted and not signalled (on `written$` when given), a due
 * batch waits and keeps
 * taking messages up to its limits; a message it cannot take is held back like a gated one. Held-back
 * messages live in one queue per key, so a key's messages always enter batches in arrival order.
 *
 * Latency goal (`latencyGoal`): a batch is cut when one more message or a longer wait would make the
 * learned costs (load, step, store, sink, and the batches in flight ahead of it) predict its oldest
 * message's output later than the goal; a message that would break it goes to the next batch.
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
  const config = {
    ...DEFAULT_MICRO_BATCH_OPTIONS,
    ...options,
    // An option given as `undefined` means its default (callers pass optional settings straight through).
    maxInFlight: options.maxInFlight ?? DEFAULT_MICRO_BATCH_OPTIONS.maxInFlight,
  };
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
  if (
    !(config.maxInFlight >= 1) ||
    (Number.isFinite(config.maxInFlight) && !Number.isInteger(config.maxInFlight))
  ) {
    throw new ConfigError(`maxInFlight must be a positive integer (got ${config.maxInFlight})`);
  }
  const {
    maxRows,
    maxTokens,
    maxDelayMs,
    maxInFlight,
    completed$,
    written$,
    latencyGoal: goal,
    onUnparked,
  } = config;
  if (goal && !(Number.isFinite(goal.targetMs) && goal.targetMs > 0)) {
    throw new ConfigError(`latencyGoal.targetMs must be a positive number of ms (got ${goal.targetMs})`);
  }

  return (source) =>
    new Observable<Batch>((subscriber) => {
      let seq = 0;
      /** The batch being collected: rows by key, in first-arrival order. */
      let pending = new Map<string, BatchRow>();
      let pendingTokens = 0;
      /** Arrival (scheduler time) of the pending batch's oldest message, and when its first one was placed. */
      let pendingOldest = Number.POSITIVE_INFINITY;
      let pendingSince = 0;
      let timer: Subscription | undefined;
      /** When `timer` fires (scheduler time). */
      let timerAt = Number.POSITIVE_INFINITY;
      const plan = goal
        ? new LatencyPlan(goal.cost, maxInFlight, written$ ? 'written' : 'stored')
        : undefined;
      /** Arrival time of each message not yet emitted (only kept when a goal or `onUnparked` reads it). */
      const arrivals = new WeakMap<TokenizedMessage, number>();
      const arrivalOf = (message: TokenizedMessage) => arrivals.get(message) ?? scheduler.now();
      /** Key → seq of the in-flight batch holding it. */
      const inFlightKey = new Map<string, number>();
      /** Seq → keys of each in-flight batch. */
      const inFlightBatch = new Map<number, string[]>();
      /** Seqs of the emitted batches that hold room (`maxInFlight`): until `written$`, or `completed$` without it. */
      const holdingRoom = new Set<number>();
      /**
       * Messages not in the pending batch yet, per key in arrival order: their key is in flight (the key
       * gate), or the pending batch is full and waits for room (`maxInFlight`). Map order: first parked.
       * A key with parked messages parks its later ones too, so per-key order holds.
       */
      const parked = new Map<string, TokenizedMessage[]>();
      /** The pending batch is due (full or its delay over) but `maxInFlight` batches are in flight. */
      let due = false;
      let sourceDone = false;
      let completionsDone = false;
      /**
       * Completions are applied one at a time, never inside another step of this operator: a completion
       * signalled synchronously from `next` (re-entrantly) waits here until the current step is over.
       */
      const releases: { seq: number; written: boolean }[] = [];
      let busy = false;

      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        if (pending.size === 0) return;
        if (holdingRoom.size >= maxInFlight) {
          due = true;
          return;
        }
        due = false;
        const rows = [...pending.values()];
        const batch: Batch = { seq: seq++, rows };
        if (goal && plan) {
          const now = scheduler.now();
          const doneAt = plan.emitted(batch.seq, now, rows.length, pendingTokens);
          if (doneAt > pendingOldest + goal.targetMs) {
            goal.onOverload?.({
              seq: batch.seq,
              rows: rows.length,
              tokens: pendingTokens,
              predictedMs: doneAt - pendingOldest,
              targetMs: goal.targetMs,
            });
          }
        }
        pending = new Map();
        pendingTokens = 0;
        pendingOldest = Number.POSITIVE_INFINITY;
        const keys = rows.map((row) => row.key);
        inFlightBatch.set(batch.seq, keys);
        holdingRoom.add(batch.seq);
        for (const key of keys) inFlightKey.set(key, batch.seq);
        subscriber.next(batch);
      };

      /**
       * The goal's cutting rule: taking `message` would make the batch miss its goal while, as it is, it
       * still meets it. (When it misses either way the worker is overloaded: growing gives the most
       * throughput, and the emission reports the overload.)
       */
      const breaksGoal = (message: TokenizedMessage, tokens: number): boolean => {
        if (!goal || !plan) return false;
        const now = scheduler.now();
        const rows = pending.size + (pending.has(message.key) ? 0 : 1);
        const oldest = Math.min(pendingOldest, arrivalOf(message));
        if (plan.doneAt(now, rows, pendingTokens + tokens) <= oldest + goal.targetMs) return false;
        return plan.doneAt(now, pending.size, pendingTokens) <= pendingOldest + goal.targetMs;
      };

      /**
       * Arms the timer of the pending batch: `maxDelayMs` after its first message, or earlier when the goal
       * says that waiting past then would miss it.
       */
      const arm = (): void => {
        const now = scheduler.now();
        let at = pendingSince + maxDelayMs;
        if (goal && plan) {
          const slack = pendingOldest + goal.targetMs - plan.doneAt(now, pending.size, pendingTokens);
          if (slack >= 0) at = Math.min(at, now + slack);
        }
        if (timer !== undefined && at >= timerAt) return;
        timer?.unsubscribe();
        timerAt = at;
        timer = scheduler.schedule(() => step(flush), Math.max(0, at - now));
      };

      /** Puts a message in the pending batch when it may go there now; false when it must stay parked. */
      const place = (message: TokenizedMessage): boolean => {
        if (inFlightKey.has(message.key)) return false;
        const tokens = message.tokens.length;
        const fits =
          pending.size === 0 ||
          ((pending.size < maxRows || pending.has(message.key)) &&
            pendingTokens + tokens <= maxTokens &&
            !breaksGoal(message, tokens));
        if (!fits) {
          flush();
          // Still full: the batch waits for room. Or the flush put this message's key in flight.
          if (due || inFlightKey.has(message.key)) return false;
        }
        if (pending.size === 0) pendingSince = scheduler.now();
        const row = pending.get(message.key);
        if (row) row.messages.push(message);
        else pending.set(message.key, { key: message.key, messages: [message] });
        pendingTokens += tokens;
        if (goal) pendingOldest = Math.min(pendingOldest, arrivalOf(message));
        if (pending.size >= maxRows || pendingTokens >= maxTokens) flush();
        else if (!due) arm();
        return true;
      };

      const admit = (message: TokenizedMessage): void => {
        if (completionsDone && inFlightKey.has(message.key)) {
          subscriber.error(new Error(`microBatch: completed$ ended while key ${message.key} is in flight`));
          return;
        }
        if (goal || onUnparked) arrivals.set(message, scheduler.now());
        const queue = parked.get(message.key);
        if (queue) queue.push(message);
        else if (!place(message)) parked.set(message.key, [message]);
      };

      /** Moves a key's parked messages into the pending batch, in order, as far as they may go. */
      const unpark = (key: string): void => {
        const queue = parked.get(key);
        if (queue === undefined) return;
        while (queue.length > 0 && place(queue[0])) {
          const placed = queue.shift() as TokenizedMessage;
          onUnparked?.(placed, scheduler.now() - arrivalOf(placed));
        }
        if (queue.length === 0) parked.delete(key);
      };

      const maybeComplete = (): void => {
        if (sourceDone && parked.size === 0 && pending.size === 0) subscriber.complete();
      };

      /** A batch's keys are released (`completed$`): their held-back messages may go, and maybe room. */
      const release = (done: number): void => {
        const keys = inFlightBatch.get(done);
        if (keys === undefined) return; // Unknown or already signalled: signals are idempotent.
        inFlightBatch.delete(done);
        plan?.stored(done, scheduler.now());
        if (!written$) freeRoom(done);
        for (const key of keys) {
          if (inFlightKey.get(key) === done) inFlightKey.delete(key);
        }
        // The finished batch's keys first: their parked messages waited on it.
        for (const key of keys) unpark(key);
        roomAgain();
      };

      const freeRoom = (done: number): void => {
        holdingRoom.delete(done);
        plan?.roomFreed(done);
      };

      /**
       * After a release or room given back: a batch that waited goes, then what was parked behind a full
       * batch, oldest first (keys still in flight stay parked).
       */
      const roomAgain = (): void => {
        if (due) flush();
        for (const key of [...parked.keys()]) {
          if (due) break;
          unpark(key);
        }
        if (sourceDone) {
          flush();
          maybeComplete();
        }
      };

      /** Runs one step of the operator, then the completions signalled meanwhile. */
      const step = (fn: () => void): void => {
        if (busy) {
          fn();
          return;
        }
        busy = true;
        try {
          fn();
          while (releases.length > 0) {
            const signal = releases.shift() as { seq: number; written: boolean };
            if (!signal.written) release(signal.seq);
            else if (holdingRoom.has(signal.seq)) {
              freeRoom(signal.seq);
              roomAgain();
            }
          }
        } finally {
          busy = false;
        }
      };

      const completions = completed$.subscribe({
        next: (batch) => {
          releases.push({ seq: batch.seq, written: false });
          step(() => {});
        },
        error: (error) => subscriber.error(error),
        complete: () => {
          completionsDone = true;
          if (parked.size > 0) {
            subscriber.error(new Error(`microBatch: completed$ ended with ${parked.size} keys held back`));
          }
        },
      });
      const writes = written$?.subscribe({
        next: (batch) => {
          releases.push({ seq: batch.seq, written: true });
          step(() => {});
        },
        error: (error) => subscriber.error(error),
        complete: () => {
          if (due || parked.size > 0)
            subscriber.error(new Error('microBatch: written$ ended while batches wait for room'));
        },
      });
      const input = source.subscribe({
        next: (message) => step(() => admit(message)),
        error: (error) => subscriber.error(error),
        complete: () =>
          step(() => {
            sourceDone = true;
            flush();
            maybeComplete();
          }),
      });

      return () => {
        timer?.unsubscribe();
        input.unsubscribe();
        completions.unsubscribe();
        writes?.unsubscribe();
      };
    });
}
