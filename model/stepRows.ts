/**
 * Row checks and trivial results shared by every {@link StepEngine} implementation, so that the TF.js
 * and ONNX Runtime engines accept and refuse exactly the same rows with the same messages.
 */

import type { RnnState } from '../core/contracts.js';
import type { RnnConfig, StepOptions, StepResult, StepRow } from './types.js';

/**
 * Validates a row against an engine's network and returns its number of steps.
 * `vocabSize` > 0 for a token model (rows carry `tokens`), 0 for a vector model (rows carry `inputs`).
 * @example const steps = checkStepRow(config, vocabSize, row, 3);
 */
export function checkStepRow(config: RnnConfig, vocabSize: number, row: StepRow, index: number): number {
  const { hiddenSize: H, numLayers: L, inputSize, cell } = config;
  let steps: number;
  if (vocabSize > 0) {
    if (!row.tokens) throw new TypeError(`row ${index}: this engine takes token ids (tokens)`);
    steps = row.tokens.length;
    for (const id of row.tokens) {
      if (!(id >= 0 && id < vocabSize)) {
        throw new RangeError(`row ${index}: token id ${id} outside the vocabulary [0, ${vocabSize})`);
      }
    }
  } else {
    if (!row.inputs) throw new TypeError(`row ${index}: this engine takes input vectors (inputs)`);
    if (row.inputs.length % inputSize !== 0) {
      throw new RangeError(
        `row ${index}: ${row.inputs.length} input values is not a multiple of ${inputSize}`,
      );
    }
    steps = row.inputs.length / inputSize;
  }
  if (row.state) {
    if (row.state.h.length !== L * H) {
      throw new RangeError(`row ${index}: state h has ${row.state.h.length} values, expected ${L * H}`);
    }
    if (cell === 'lstm' && row.state.c?.length !== L * H) {
      throw new RangeError(`row ${index}: LSTM state c must have ${L * H} values`);
    }
  }
  let previous = 0;
  for (const m of row.marks ?? []) {
    if (!Number.isInteger(m) || m < previous || m > steps) {
      throw new RangeError(`row ${index}: marks must be non-decreasing integers in [0, ${steps}]`);
    }
    previous = m;
  }
  return steps;
}

/** Last-layer h of a row's incoming state (zeros when it has none). */
export function incomingLast(config: RnnConfig, row: StepRow): Float32Array {
  const { hiddenSize: H, numLayers: L } = config;
  return row.state ? row.state.h.slice((L - 1) * H, L * H) : new Float32Array(H);
}

/** The result of a row without steps: its state, unchanged. */
export function unchangedResult(config: RnnConfig, row: StepRow, options: StepOptions): StepResult {
  const { hiddenSize: H, numLayers: L, cell } = config;
  const state: RnnState = row.state
    ? row.state
    : cell === 'lstm'
      ? { h: new Float32Array(L * H), c: new Float32Array(L * H) }
      : { h: new Float32Array(L * H) };
  const last = incomingLast(config, row);
  const result: StepResult = { state, last, marked: (row.marks ?? []).map(() => last.slice()) };
  if (options.returnOutputs) result.outputs = new Float32Array(0);
  return result;
}

/** A row with steps, with its place in the caller's order. */
export interface RunningRow {
  index: number;
  steps: number;
  row: StepRow;
}

/**
 * Checks every row, answers the rows without steps at once (their state unchanged), and returns the
 * others sorted longest first (stable), so the rows still running at any step are a prefix.
 * @example const { results, running } = splitStepRows(config, vocabSize, rows, options);
 */
export function splitStepRows(
  config: RnnConfig,
  vocabSize: number,
  rows: StepRow[],
  options: StepOptions,
): { results: StepResult[]; running: RunningRow[] } {
  const results: StepResult[] = new Array(rows.length);
  const running: RunningRow[] = [];
  rows.forEach((row, index) => {
    const steps = checkStepRow(config, vocabSize, row, index);
    if (steps > 0) running.push({ index, steps, row });
    else results[index] = unchangedResult(config, row, options);
  });
  running.sort((a, b) => b.steps - a.steps || a.index - b.index);
  return { results, running };
}
