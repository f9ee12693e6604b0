/**
 * What every pipeline flavour (streaming `runPipeline`, whole-text replay) shares: its counters, retry
 * with the run's abort signal, and turning the dataflow's completion into a {@link RunningPipeline}.
 */
import { lastValueFrom, type Observable } from 'rxjs';
import type { Source } from './connectors.js';
import type { Logger } from './logger.js';
import { withRetry } from './retry.js';

/** Counts of a finished (or stopped) run. */
export interface RunStats {
  messagesIn: number;
  outputs: number;
  deadLetters: number;
  replayed: number;
  batches: number;
  rows: number;
  tokens: number;
  seconds: number;
}

/** A running pipeline. */
export interface RunningPipeline {
  /** Resolves when the source ended (or `stop` was called) and everything read was written and committed. */
  done: Promise<RunStats>;
  /** Stops reading; in-flight batches drain, outputs flush, offsets commit; then `done` resolves. */
  stop(): Promise<void>;
  /** Whether the pipeline is running and has not failed. */
  alive(): boolean;
}

/** Zeroed counters. */
export function emptyStats(): RunStats {
  return {
    messagesIn: 0,
    outputs: 0,
    deadLetters: 0,
    replayed: 0,
    batches: 0,
    rows: 0,
    tokens: 0,
    seconds: 0,
  };
}

/** The run's shared machinery: counters, an abort signal for retries, a retry helper. */
export class RunContext {
  readonly stats = emptyStats();
  readonly abort = new AbortController();
  private readonly started = performance.now();
  private failed = false;

  constructor(
    private readonly log: Logger,
    private readonly onRetry?: (op: string) => void,
  ) {}

  /** Retries a transient failure of `op` with bounded backoff until it succeeds or the run fails. */
  retry<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, {
      signal: this.abort.signal,
      onRetry: (error, attempt, delayMs) => {
        this.onRetry?.(op);
        this.log.warn({ op, attempt, delayMs, err: error }, `${op} failed, retrying`);
      },
    });
  }

  /**
   * Subscribes to the dataflow, starts the source, and returns the running pipeline: `done` resolves
   * with the counters when the dataflow completes, rejects (and stops retries) when it fails.
   */
  start(done$: Observable<unknown>, source: Source & { start?(): Promise<void> }): RunningPipeline {
    const done = (async () => {
      const finished = lastValueFrom(done$, { defaultValue: undefined });
      if (source.start) void source.start();
      try {
        await finished;
      } catch (error) {
        this.failed = true;
        this.abort.abort();
        throw error;
      } finally {
        this.stats.seconds = (performance.now() - this.started) / 1000;
      }
      return this.stats;
    })();
    return {
      done,
      alive: () => !this.failed,
      stop: async () => {
        this.log.info('stopping: draining in-flight batches');
        await source.stop();
      },
    };
  }
}
