/**
 * Test helpers for the recurrent engine: seeded random weights in PyTorch layout, and an independent
 * float64 reference implementation of PyTorch's RNN/LSTM/GRU equations, written straight from the docs
 * (no gate groups, no folded biases, no batching) so that it shares nothing with the engine.
 */
import type { RnnWeights } from '../../../model/cells.js';
import type { TensorMap } from '../../../model/safetensors.js';
import type { RnnConfig } from '../../../model/types.js';

import { seededRandom } from '../../../model/verify.js';
import { GOLDEN_DIR } from '../../fixtures/golden.js';

export const GOLDEN = GOLDEN_DIR;
export const GOLDEN_CASES = ['gru-1x16', 'lstm-1x16', 'rnn-1x16'].map((c) => `${GOLDEN}${c}`);

/** A small seeded PRNG (the one `verify` chunks with). */
export const rng = seededRandom;

/** Uniform values in [-scale, scale). */
export function uniform(random: () => number, count: number, scale: number): Float32Array {
  return Float32Array.from({ length: count }, () => (random() * 2 - 1) * scale);
}

const GATES = { rnn: 1, lstm: 4, gru: 3 } as const;

/**
 * A PyTorch-style state dict (`{prefix}weight_ih_l{k}`…) with PyTorch's init range 1/sqrt(H), plus
 * `embedding.weight` when `vocab` is given.
 */
export function randomStateDict(
  config: RnnConfig,
  seed: number,
  options: { prefix?: string; vocab?: number; suffixes?: string[]; scale?: number } = {},
): TensorMap {
  const random = rng(seed);
  const { prefix = '', vocab, suffixes = [''] } = options;
  const H = config.hiddenSize;
  const rows = GATES[config.cell] * H;
  const scale = options.scale ?? 1 / Math.sqrt(H);
  const tensors: TensorMap = new Map();
  if (vocab)
    tensors.set('embedding.weight', {
      shape: [vocab, config.inputSize],
      data: uniform(random, vocab * config.inputSize, 1),
    });
  for (const suffix of suffixes) {
    for (let k = 0; k < config.numLayers; k++) {
      const inputs = k === 0 ? config.inputSize : H * suffixes.length;
      tensors.set(`${prefix}weight_ih_l${k}${suffix}`, {
        shape: [rows, inputs],
        data: uniform(random, rows * inputs, scale),
      });
      tensors.set(`${prefix}weight_hh_l${k}${suffix}`, {
        shape: [rows, H],
        data: uniform(random, rows * H, scale),
      });
      if (config.bias) {
        tensors.set(`${prefix}bias_ih_l${k}${suffix}`, { shape: [rows], data: uniform(random, rows, scale) });
        tensors.set(`${prefix}bias_hh_l${k}${suffix}`, { shape: [rows], data: uniform(random, rows, scale) });
      }
    }
  }
  return tensors;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** `W x (+ b)` for a PyTorch `[rows, cols]` matrix, in float64. */
function affine(w: Float32Array, rows: number, x: ArrayLike<number>, b?: Float32Array): number[] {
  const cols = x.length;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let sum = b ? b[r] : 0;
    for (let c = 0; c < cols; c++) sum += w[r * cols + c] * x[c];
    out.push(sum);
  }
  return out;
}

/** A float64 state: per layer `h` (and `c`). */
export interface RefState {
  h: number[][];
  c?: number[][];
}

/**
 * Runs PyTorch's equations over one sequence of input vectors; returns the last layer's output at
 * every step and the final state.
 */
export function referenceRun(
  config: RnnConfig,
  weights: RnnWeights,
  inputs: number[][],
  initial?: RefState,
): { outputs: number[][]; state: RefState } {
  const H = config.hiddenSize;
  const G = GATES[config.cell];
  const h = initial ? initial.h.map((v) => [...v]) : weights.layers.map(() => new Array(H).fill(0));
  const c = initial?.c ? initial.c.map((v) => [...v]) : weights.layers.map(() => new Array(H).fill(0));
  const outputs: number[][] = [];
  for (const x0 of inputs) {
    let x: number[] = x0;
    weights.layers.forEach((layer, k) => {
      const gi = affine(layer.weightIh.data, G * H, x, layer.biasIh?.data);
      const gh = affine(layer.weightHh.data, G * H, h[k], layer.biasHh?.data);
      const next: number[] = [];
      for (let j = 0; j < H; j++) {
        if (config.cell === 'rnn') {
          next.push(Math.tanh(gi[j] + gh[j]));
        } else if (config.cell === 'lstm') {
          const i = sigmoid(gi[j] + gh[j]);
          const f = sigmoid(gi[H + j] + gh[H + j]);
          const g = Math.tanh(gi[2 * H + j] + gh[2 * H + j]);
          const o = sigmoid(gi[3 * H + j] + gh[3 * H + j]);
          c[k][j] = f * c[k][j] + i * g;
          next.push(o * Math.tanh(c[k][j]));
        } else {
          const r = sigmoid(gi[j] + gh[j]);
          const z = sigmoid(gi[H + j] + gh[H + j]);
          const n = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j]);
          next.push((1 - z) * n + z * h[k][j]);
        }
      }
      h[k] = next;
      x = next;
    });
    outputs.push([...x]);
  }
  return { outputs, state: config.cell === 'lstm' ? { h, c } : { h } };
}

/** Largest absolute difference between two flat arrays (Infinity when the lengths differ). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return Number.isNaN(max) ? Number.POSITIVE_INFINITY : max;
}
