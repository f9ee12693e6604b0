import { concatMap, first, from, map, type ObservableInput, type OperatorFunction, of } from 'rxjs';
import type {
  DeadLetter,
  LoadedBatch,
  LoadedRow,
  Prediction,
  RnnState,
  ScoredMessage,
  SteppedBatch,
  StoredState,
  TokenizedMessage,
} from '../core/contracts.js';
import type { StepResult, StepRow } from '../model/types.js';

/** Options of {@link stepBatch}. */
export interface StepBatchOptions {
  /** The batched incremental step (`StepEngine.step`): one call per batch; a Promise or any observable input. */
  step: (rows: StepRow[]) => ObservableInput<StepResult[]>;
  /** The head over last-layer hidden states, batched: one call per batch. Absent = no prediction. */
  predict?: (hs: Float32Array[]) => Prediction[];
  /** Attach each message's hidden state (the sequence embedding so far) to its result. @default false */
  emitEmbedding?: boolean;
  /** Clock of `updatedAt`. @default Date.now */
  now?: () => number;
}

/** Defaults of {@link StepBatchOptions}. */
export const DEFAULT_STEP_BATCH_OPTIONS: Required<Pick<StepBatchOptions, 'emitEmbedding' | 'now'>> = {
  emitEmbedding: false,
  now: () => Date.now(),
};

/** The reason of a `step` dead letter whose row produced NaN or ±Infinity. */
export const NON_FINITE_STATE = 'non-finite-state';

/**
 * A run of a row's fresh messages that shares one recurrent state: a row is cut after each `end: true`
 * message, since the next message starts a new sequence from zero state. Every segment is its own
 * StepRow in the same `step` call (rows are independent there), so one batch stays one tensor program.
 */
interface Segment {
  row: number;
  messages: TokenizedMessage[];
  /** Incoming state (undefined = zeros). */
  state?: RnnState;
  /** Tokens of the sequence before this segment. */
  baseTokens: number;
  /** Asks for mark 0 (the incoming state's hidden state), used to score the row's replayed messages. */
  replayMark: boolean;
}

/**
 * Steps the RNN over a loaded batch: one StepRow per segment of fresh messages (tokens concatenated,
 * a mark at each message boundary), one `step` call per batch, then per-message results in order and
 * the state writes.
 *
 * - Replayed messages are not applied again: they get the stored state's hidden state and prediction,
 *   `replayed: true`, and the stored `totalTokens` (none when only a tombstone guarded them).
 * - `end: true` ends the sequence: a row's messages after it start from zero state (a new segment);
 *   the key's write is `null` (a tombstone) when the row's last fresh message ends a sequence,
 *   otherwise the new state fenced at the last fresh message's `(partition, offset)`.
 * - NaN/±Infinity anywhere in a row's results makes its fresh messages dead letters (stage `step`,
 *   reason `non-finite-state`) and its state is not written.
 *
 * Batches are stepped in order (concatMap); errors from `step` or `predict` propagate.
 *
 * @example
 * loaded$.pipe(stepBatch({ step: (rows) => engine.step(rows), predict: (hs) => head.predict(hs) }))
 */
export function stepBatch(options: StepBatchOptions): OperatorFunction<LoadedBatch, SteppedBatch> {
  const config = { ...DEFAULT_STEP_BATCH_OPTIONS, ...options };
  return concatMap((batch) => {
    const segments = planSegments(batch.rows);
    if (segments.length === 0) return of(assemble(batch, segments, [], config));
    const stepRows = segments.map(toStepRow);
    return from(config.step(stepRows)).pipe(
      first(),
      map((results) => {
        if (results.length !== stepRows.length) {
          throw new Error(`step returned ${results.length} results for ${stepRows.length} rows`);
        }
        return assemble(batch, segments, results, config);
      }),
    );
  });
}

function planSegments(rows: LoadedRow[]): Segment[] {
  const segments: Segment[] = [];
  rows.forEach((row, index) => {
    const previous = row.previous;
    const replayMark = row.replayed.length > 0 && previous !== undefined;
    let current: Segment | undefined;
    let opened = 0;
    const open = (first: boolean): Segment => ({
      row: index,
      messages: [],
      state: first ? previous?.state : undefined,
      baseTokens: first ? (previous?.totalTokens ?? 0) : 0,
      replayMark: first && replayMark,
    });
    for (const message of row.fresh) {
      if (current === undefined) {
        current = open(opened === 0);
        opened++;
      }
      current.messages.push(message);
      if (message.end) {
        segments.push(current);
        current = undefined;
      }
    }
    if (current) segments.push(current);
    // A replay-only row still needs the stored hidden state: a zero-step row with mark 0 gives it.
    if (replayMark && opened === 0) segments.push(open(true));
  });
  return segments;
}

function toStepRow(segment: Segment): StepRow {
  const total = segment.messages.reduce((sum, m) => sum + m.tokens.length, 0);
  const tokens = new Int32Array(total);
  const marks: number[] = segment.replayMark ? [0] : [];
  let at = 0;
  for (const message of segment.messages) {
    tokens.set(message.tokens, at);
    at += message.tokens.length;
    marks.push(at);
  }
  return { tokens, state: segment.state ?? null, marks };
}

function assemble(
  batch: LoadedBatch,
  segments: Segment[],
  results: StepResult[],
  config: Required<Pick<StepBatchOptions, 'emitEmbedding' | 'now'>> & Pick<StepBatchOptions, 'predict'>,
): SteppedBatch {
  const writes = new Map<string, StoredState | null>();
  const dead: DeadLetter[] = [...batch.dead];
  const out: ScoredMessage[] = [];
  /** Each scored message and the hidden state it is predicted from. */
  const scoredHs: { scored: ScoredMessage; h: Float32Array }[] = [];

  const segmentsOfRow: { segment: Segment; result: StepResult }[][] = batch.rows.map(() => []);
  segments.forEach((segment, i) => {
    segmentsOfRow[segment.row].push({ segment, result: results[i] });
  });

  batch.rows.forEach((row, rowIndex) => {
    const rowSegments = segmentsOfRow[rowIndex];
    const finite = rowSegments.every(({ result }) => isFiniteResult(result));
    const byMessage = new Map<TokenizedMessage, ScoredMessage>();

    const replayH = rowSegments.find(({ segment }) => segment.replayMark)?.result.marked[0];
    for (const message of row.replayed) {
      const scored: ScoredMessage = { message, totalTokens: row.previous?.totalTokens ?? 0, replayed: true };
      if (replayH !== undefined && finite) scoredHs.push({ scored, h: replayH });
      byMessage.set(message, scored);
    }

    if (!finite) {
      for (const message of row.fresh) {
        dead.push({
          record: message.record,
          reason: NON_FINITE_STATE,
          stage: 'step',
          detail: `key ${row.key}`,
        });
      }
    } else {
      let last: { segment: Segment; result: StepResult; tokens: number } | undefined;
      for (const { segment, result } of rowSegments) {
        let tokens = segment.baseTokens;
        const markOffset = segment.replayMark ? 1 : 0;
        segment.messages.forEach((message, j) => {
          tokens += message.tokens.length;
          const scored: ScoredMessage = { message, totalTokens: tokens, replayed: false };
          scoredHs.push({ scored, h: result.marked[j + markOffset] });
          byMessage.set(message, scored);
        });
        if (segment.messages.length > 0) last = { segment, result, tokens };
      }
      if (last) {
        const final = last.segment.messages[last.segment.messages.length - 1];
        writes.set(
          row.key,
          final.end
            ? null
            : {
                state: last.result.state,
                fence: { partition: final.record.source.partition, offset: final.record.source.offset },
                totalTokens: last.tokens,
                updatedAt: config.now(),
              },
        );
      }
    }

    for (const message of row.messages) {
      const scored = byMessage.get(message);
      if (scored) out.push(scored);
    }
  });

  if (config.emitEmbedding) {
    for (const { scored, h } of scoredHs) scored.embedding = h;
  }
  if (config.predict && scoredHs.length > 0) {
    const predictions = config.predict(scoredHs.map(({ h }) => h));
    if (predictions.length !== scoredHs.length) {
      throw new Error(`predict returned ${predictions.length} predictions for ${scoredHs.length} states`);
    }
    scoredHs.forEach(({ scored }, i) => {
      scored.prediction = predictions[i];
    });
  }
  return { seq: batch.seq, writes, results: out, dead };
}

function isFiniteResult(result: StepResult): boolean {
  return (
    allFinite(result.state.h) &&
    (result.state.c === undefined || allFinite(result.state.c)) &&
    allFinite(result.last) &&
    result.marked.every(allFinite)
  );
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return false;
  }
  return true;
}
