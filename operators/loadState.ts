import { concatMap, first, from, map, type ObservableInput, type OperatorFunction, of } from 'rxjs';
import type {
  Batch,
  DeadLetter,
  Fence,
  LoadedBatch,
  LoadedRow,
  LoadedState,
  TokenizedMessage,
} from '../core/contracts.js';
import { ConfigError, RnnstreamError, recordContext } from '../core/errors.js';

/** What to do with a key whose stored state is unusable (garbage, bad checksum, another model). */
export type BadStatePolicy = 'reset' | 'dlq' | 'fail';

/** Options of {@link loadState}. */
export interface LoadStateOptions {
  /** Loads many keys in one round trip (the state store's `load`); a Promise or any observable input. */
  load: (keys: readonly string[]) => ObservableInput<Map<string, LoadedState>>;
  /**
   * `reset`: start the key over from zero state (reported to `onReset`); `dlq`: the row's messages go to the
   * dead letters (stage `state`) and the row is dropped; `fail`: the stream errors.
   * @default 'reset'
   */
  onBadState?: BadStatePolicy;
  /** Told about each key reset under `onBadState: 'reset'` (for a metric and a log line). */
  onReset?: (key: string, reason: string) => void;
}

/** Defaults of {@link LoadStateOptions}. */
export const DEFAULT_LOAD_STATE_OPTIONS: Required<Pick<LoadStateOptions, 'onBadState'>> = {
  onBadState: 'reset',
};

/**
 * Loads the stored state of every key of a batch in one `load` call and splits each row's messages into
 * `replayed` (the stored fence already covers them: offset <= fence offset on the fence's partition) and
 * `fresh`. An `ended` tombstone fences too; fresh messages after it start a new sequence.
 * Batches are handled in order; errors from `load` propagate (the pipeline retries transient ones).
 *
 * @example
 * batches$.pipe(loadState({ load: (keys) => store.load(keys), onBadState: 'reset' }))
 */
export function loadState(options: LoadStateOptions): OperatorFunction<Batch, LoadedBatch> {
  const policy = options.onBadState ?? DEFAULT_LOAD_STATE_OPTIONS.onBadState;
  if (policy !== 'reset' && policy !== 'dlq' && policy !== 'fail') {
    throw new ConfigError(`onBadState must be 'reset', 'dlq' or 'fail' (got ${String(policy)})`);
  }
  const { load, onReset } = options;
  return concatMap((batch) => {
    if (batch.rows.length === 0) return of(splitBatch(batch, new Map(), policy, onReset));
    const keys = batch.rows.map((row) => row.key);
    // `first`: one answer per batch, and an input that completes empty is an error, not a lost batch.
    return from(load(keys)).pipe(
      first(),
      map((loaded) => splitBatch(batch, loaded, policy, onReset)),
    );
  });
}

/** Splits a batch's rows against the loaded states (the pure part of {@link loadState}). */
export function splitBatch(
  batch: Batch,
  loaded: Map<string, LoadedState>,
  policy: BadStatePolicy,
  onReset?: (key: string, reason: string) => void,
): LoadedBatch {
  const rows: LoadedRow[] = [];
  const dead: DeadLetter[] = [];
  for (const row of batch.rows) {
    const state = loaded.get(row.key);
    if (state === undefined) {
      rows.push({ ...row, replayed: [], fresh: row.messages });
    } else if (state.kind === 'ok') {
      rows.push({ ...row, previous: state.stored, ...splitByFence(row.messages, state.stored.fence) });
    } else if (state.kind === 'ended') {
      rows.push({ ...row, ...splitByFence(row.messages, state.fence) });
    } else if (policy === 'reset') {
      onReset?.(row.key, state.reason);
      rows.push({ ...row, replayed: [], fresh: row.messages });
    } else if (policy === 'dlq') {
      for (const message of row.messages) {
        dead.push({ record: message.record, reason: state.reason, stage: 'state', detail: `key ${row.key}` });
      }
    } else {
      throw new RnnstreamError(
        `stored state is unusable (${state.reason}); set onBadState to 'reset' or 'dlq' to go on`,
        { context: recordContext(row.messages[0].record, row.key) },
      );
    }
  }
  return { seq: batch.seq, rows, dead };
}

/** Messages at or below the fence (same partition) were already applied; offsets are int64, so BigInt. */
function splitByFence(
  messages: TokenizedMessage[],
  fence: Fence,
): { replayed: TokenizedMessage[]; fresh: TokenizedMessage[] } {
  const fenceOffset = BigInt(fence.offset);
  const replayed: TokenizedMessage[] = [];
  const fresh: TokenizedMessage[] = [];
  for (const message of messages) {
    const { partition, offset } = message.record.source;
    if (partition === fence.partition && BigInt(offset) <= fenceOffset) replayed.push(message);
    else fresh.push(message);
  }
  return { replayed, fresh };
}
