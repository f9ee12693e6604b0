/**
 * Shared types of the recurrent engine. Everything that crosses a module boundary in `model/`
 * (cells, the batched step, model packages, the head) is described here.
 */
import type { RnnState } from '../core/contracts.js';

/** The recurrent cell families: Elman RNN (tanh), LSTM (gates i,f,g,o), GRU (gates r,z,n; PyTorch/Keras reset_after). */
export type CellKind = 'rnn' | 'lstm' | 'gru';

/** Shape of a stacked recurrent network, as PyTorch's `nn.RNN/LSTM/GRU` constructor arguments. */
export interface RnnConfig {
  cell: CellKind;
  /** Width of each input vector of layer 0 (the embedding size for token models). */
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  /** Whether `bias_ih_l{k}` / `bias_hh_l{k}` exist. */
  bias: boolean;
}

/**
 * One row of a batched incremental step: a key's new input (token ids for a token model, or raw
 * input vectors) and its previous state (absent = zeros, the start of a sequence).
 */
export interface StepRow {
  /** Token ids (token models). Length = number of steps. */
  tokens?: Int32Array;
  /** Raw input vectors, `[steps * inputSize]` row-major (vector models, e.g. the golden cases). */
  inputs?: Float32Array;
  /** Previous state; `undefined`/`null` = all zeros. */
  state?: RnnState | null;
  /**
   * Step counts (0…steps, non-decreasing) after which the last layer's hidden state is wanted:
   * message boundaries when several messages of a key were coalesced into one row. A mark of 0 asks
   * for the incoming state's last-layer `h`. The final step is always reported as `last`.
   */
  marks?: number[];
}

/** What the step returns for one row, in the order the rows were given. */
export interface StepResult {
  /** New state after all the row's steps (equal to the incoming state when the row had no steps). */
  state: RnnState;
  /** Last layer's hidden state after the final step: the sequence embedding so far. `[hiddenSize]`. */
  last: Float32Array;
  /** Last layer's hidden state at each requested mark, in mark order. */
  marked: Float32Array[];
  /** Last layer's output at every step, `[steps * hiddenSize]`, only when `returnOutputs` was asked. */
  outputs?: Float32Array;
}

export interface StepOptions {
  /** Also return every step's last-layer output (used by `verify`). @default false */
  returnOutputs?: boolean;
}

/** The batched incremental step over many keys' rows in one tensor program. */
export interface StepEngine {
  readonly config: RnnConfig;
  step(rows: StepRow[], options?: StepOptions): Promise<StepResult[]>;
  /** Releases the engine's tensors. */
  dispose(): void;
}

/** Output head over the last hidden state. */
export interface HeadSpec {
  /** `sigmoid`: one logit, labels `[negative, positive]`; `softmax`: one logit per label. */
  kind: 'sigmoid' | 'softmax';
  labels: string[];
}
