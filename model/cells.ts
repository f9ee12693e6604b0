/**
 * The recurrent cells (Elman RNN, LSTM, GRU) with PyTorch's equations, and their weights.
 *
 * As in tfjs-layers, a cell is a pure step `([xProj_t, state]) → newState` that knows nothing of time,
 * batching or padding; the time loop lives in `engine.ts`. The input projection `x·W_ihᵀ + b_ih` is not
 * part of the step: the engine computes it for all steps of a layer at once (or looks it up in a
 * per-token table), so a step only multiplies the previous `h` by `W_hhᵀ`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelFormatError } from '../core/errors.js';
import { elementCount, type HostTensor, type TensorMap } from './safetensors.js';
import type { CellKind, RnnConfig } from './types.js';

/** Gates per cell, in PyTorch's row order of `weight_ih`: RNN 1; LSTM i,f,g,o; GRU r,z,n. */
export const CELL_GATES: Readonly<Record<CellKind, number>> = { rnn: 1, lstm: 4, gru: 3 };

/** One layer's weights in PyTorch layout: `W_ih [G*H, in]`, `W_hh [G*H, H]`, biases `[G*H]`. */
export interface LayerWeights {
  weightIh: HostTensor;
  weightHh: HostTensor;
  /** Absent when the network has no bias (`bias=False`). */
  biasIh?: HostTensor;
  biasHh?: HostTensor;
}

/** A stacked network's weights in host memory, plus the token embedding of a token model. */
export interface RnnWeights {
  layers: LayerWeights[];
  /** `[vocab, inputSize]`; absent for a model fed raw input vectors. */
  embedding?: HostTensor;
}

/** Where to find the tensors of a state_dict: `{prefix}weight_ih_l{k}{suffix}`. */
export interface StateDictNames {
  /** Prefix of the recurrent module, e.g. `rnn.` in a model package, `` in the golden cases. @default '' */
  prefix?: string;
  /** `_reverse` for the backward direction of a bidirectional network. @default '' */
  suffix?: string;
  /** Name of the embedding tensor, when the model takes token ids (e.g. `embedding.weight`). */
  embedding?: string;
  /** 2 for a bidirectional network, whose layers above the first take both directions' outputs. @default 1 */
  directions?: 1 | 2;
}

/**
 * Picks and checks a stacked network's tensors from a PyTorch state_dict.
 * A missing tensor, an unexpected bias, or a wrong shape is a {@link ModelFormatError} naming the tensor,
 * the expected and the found shape.
 * @example const weights = rnnWeightsFromStateDict(tensors, config, { prefix: 'rnn.', embedding: 'embedding.weight' });
 */
export function rnnWeightsFromStateDict(
  tensors: TensorMap,
  config: RnnConfig,
  names: StateDictNames = {},
): RnnWeights {
  const { prefix = '', suffix = '' } = names;
  const layers: LayerWeights[] = [];
  for (let k = 0; k < config.numLayers; k++) {
    const pick = (kind: string) => tensors.get(`${prefix}${kind}_l${k}${suffix}`);
    const layer: LayerWeights = {
      weightIh: pick('weight_ih') as HostTensor,
      weightHh: pick('weight_hh') as HostTensor,
      biasIh: pick('bias_ih'),
      biasHh: pick('bias_hh'),
    };
    for (const kind of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']) {
      const name = `${prefix}${kind}_l${k}${suffix}`;
      const present = tensors.has(name);
      if (kind.startsWith('bias') && present && !config.bias) {
        throw new ModelFormatError(
          `tensor "${name}" is present but the network is configured with bias: false`,
        );
      }
      if (!present && (kind.startsWith('weight') || config.bias)) {
        const known = [...tensors.keys()].slice(0, 12).join(', ');
        throw new ModelFormatError(`tensor "${name}" is missing (found: ${known || 'no tensors'})`);
      }
    }
    layers.push(layer);
  }
  const weights: RnnWeights = { layers };
  if (names.embedding !== undefined) {
    const embedding = tensors.get(names.embedding);
    if (!embedding) throw new ModelFormatError(`tensor "${names.embedding}" is missing`);
    weights.embedding = embedding;
  }
  checkRnnWeights(weights, config, {
    nameOf: (kind, k) => `${prefix}${kind}_l${k}${suffix}`,
    embeddingName: names.embedding,
    directions: names.directions,
  });
  return weights;
}

/** How {@link checkRnnWeights} names tensors and what it expects of deeper layers. */
export interface CheckNames {
  /** How to name a tensor in messages. @default PyTorch names without prefix */
  nameOf?: (kind: string, layer: number) => string;
  /** @default 'embedding.weight' */
  embeddingName?: string;
  /** @default 1 */
  directions?: 1 | 2;
}

/** Checks every tensor's shape against the config; throws a {@link ModelFormatError} naming the tensor. */
export function checkRnnWeights(weights: RnnWeights, config: RnnConfig, names: CheckNames = {}): void {
  const {
    nameOf = (kind: string, k: number) => `${kind}_l${k}`,
    embeddingName = 'embedding.weight',
    directions = 1,
  } = names;
  const { hiddenSize: h, inputSize, numLayers } = config;
  const rows = CELL_GATES[config.cell] * h;
  if (weights.layers.length !== numLayers) {
    throw new ModelFormatError(`expected ${numLayers} recurrent layers, found ${weights.layers.length}`);
  }
  const expect = (name: string, tensor: HostTensor | undefined, shape: number[]) => {
    if (!tensor) throw new ModelFormatError(`tensor "${name}" is missing`);
    const same = tensor.shape.length === shape.length && tensor.shape.every((d, i) => d === shape[i]);
    if (!same) {
      throw new ModelFormatError(
        `tensor "${name}" has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`,
      );
    }
    if (tensor.data.length !== elementCount(shape)) {
      throw new ModelFormatError(`tensor "${name}" holds ${tensor.data.length} values for shape [${shape}]`);
    }
  };
  weights.layers.forEach((layer, k) => {
    expect(nameOf('weight_ih', k), layer.weightIh, [rows, k === 0 ? inputSize : h * directions]);
    expect(nameOf('weight_hh', k), layer.weightHh, [rows, h]);
    if (config.bias) {
      expect(nameOf('bias_ih', k), layer.biasIh, [rows]);
      expect(nameOf('bias_hh', k), layer.biasHh, [rows]);
    } else if (layer.biasIh || layer.biasHh) {
      throw new ModelFormatError(`layer ${k} has biases but the network is configured with bias: false`);
    }
  });
  if (weights.embedding) {
    const [vocab] = weights.embedding.shape;
    expect(embeddingName, weights.embedding, [vocab ?? 0, inputSize]);
  }
}

/**
 * Column groups of a cell's pre-activations, one per gate, each consumed as its own tensor. Splitting
 * one wide `[rows, G*H]` pre-activation per step instead costs a copy of the whole tensor per slice on
 * the wasm backend; G matmuls of width H cost the same arithmetic with no copy (and no more kernel
 * launches on a GPU than matmul + split).
 */
export function gateGroups(cell: CellKind, hiddenSize: number): number[] {
  return new Array(CELL_GATES[cell]).fill(hiddenSize);
}

/** The input half of one layer in step layout: per group, `kernel [in, width]` and the folded bias. */
export interface InputProjectionHost {
  kernels: HostTensor[];
  /** `b_ih` plus whatever part of `b_hh` can be folded in (all of it, except the GRU's `b_hn`). */
  biases: (HostTensor | undefined)[];
}

/** The recurrent half of one layer in step layout. */
export interface RecurrentHost {
  /** Per group, `W_hhᵀ [H, width]`. */
  kernels: HostTensor[];
  /** GRU only: `b_hn [H]`, which sits inside `r * (W_hn h + b_hn)` and cannot be folded. */
  hnBias?: HostTensor;
}

/** Rows `[begin, end)` of a row-major `[rows, cols]` matrix, transposed to `[cols, end - begin]`. */
function transposeRows(m: HostTensor, begin: number, end: number): HostTensor {
  const cols = m.shape[1];
  const width = end - begin;
  const out = new Float32Array(cols * width);
  for (let r = begin; r < end; r++) {
    for (let c = 0; c < cols; c++) out[c * width + (r - begin)] = m.data[r * cols + c];
  }
  return { shape: [cols, width], data: out };
}

/**
 * Splits a layer's PyTorch weights into the engine's step layout (transposed kernels per gate group,
 * `b_hh` folded into the input bias where the equations allow it).
 */
export function stepLayout(
  layer: LayerWeights,
  cell: CellKind,
  hiddenSize: number,
): { input: InputProjectionHost; recurrent: RecurrentHost } {
  const input: InputProjectionHost = { kernels: [], biases: [] };
  const recurrent: RecurrentHost = { kernels: [] };
  let begin = 0;
  for (const width of gateGroups(cell, hiddenSize)) {
    const end = begin + width;
    input.kernels.push(transposeRows(layer.weightIh, begin, end));
    recurrent.kernels.push(transposeRows(layer.weightHh, begin, end));
    if (layer.biasIh && layer.biasHh) {
      const bias = layer.biasIh.data.slice(begin, end);
      // The GRU's b_hn sits inside r·(W_hn h + b_hn): it cannot move to the input side.
      const foldable = !(cell === 'gru' && begin === 2 * hiddenSize);
      if (foldable) for (let i = 0; i < width; i++) bias[i] += layer.biasHh.data[begin + i];
      else recurrent.hnBias = { shape: [width], data: layer.biasHh.data.slice(begin, end) };
      input.biases.push({ shape: [width], data: bias });
    } else {
      input.biases.push(undefined);
    }
    begin = end;
  }
  return { input, recurrent };
}

/** A layer's recurrent weights on the device. */
export interface RecurrentParams {
  /** Per gate, `W_hhᵀ [H, H]`. */
  kernels: tf.Tensor2D[];
  hnBias?: tf.Tensor1D;
  /** The tanh to use (the engine may pick a faster equivalent for its backend). */
  tanh: (x: tf.Tensor2D) => tf.Tensor2D;
}

/** One batch's state of one layer on the device: `[rows, H]` each. */
export type CellState = {
  h: tf.Tensor2D;
  c?: tf.Tensor2D;
};

/**
 * A pure cell step: pre-computed input projections of one time step (one tensor per gate group,
 * `[rows, width]`, biases folded in) and the previous state → the new state. Call it inside `tf.tidy`.
 */
export type CellStep = (xProj: tf.Tensor2D[], state: CellState, params: RecurrentParams) => CellState;

/** `pre = x + h·W` for gate g: the input part comes precomputed, only the recurrent matmul is per step. */
const preActivation = (x: tf.Tensor2D, h: tf.Tensor2D, kernel: tf.Tensor2D): tf.Tensor2D =>
  tf.add(x, tf.matMul(h, kernel));

/** Elman: `h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`. */
const rnnStep: CellStep = ([x], { h }, { kernels, tanh }) => ({ h: tanh(preActivation(x, h, kernels[0])) });

/** LSTM, gates i,f,g,o: `c' = σ(f)·c + σ(i)·tanh(g)`, `h' = σ(o)·tanh(c')`. */
const lstmStep: CellStep = ([xi, xf, xg, xo], { h, c }, { kernels, tanh }) => {
  const i = tf.sigmoid(preActivation(xi, h, kernels[0]));
  const f = tf.sigmoid(preActivation(xf, h, kernels[1]));
  const g = tanh(preActivation(xg, h, kernels[2]));
  const o = tf.sigmoid(preActivation(xo, h, kernels[3]));
  const cNew: tf.Tensor2D = tf.add(tf.mul(f, c as tf.Tensor2D), tf.mul(i, g));
  return { h: tf.mul(o, tanh(cNew)), c: cNew };
};

/** GRU, gates r,z,n: `n = tanh(W_in x + b_in + r·(W_hn h + b_hn))`, `h' = (1-z)·n + z·h`. */
const gruStep: CellStep = ([xr, xz, xn], { h }, { kernels, hnBias, tanh }) => {
  const r = tf.sigmoid(preActivation(xr, h, kernels[0]));
  const z = tf.sigmoid(preActivation(xz, h, kernels[1]));
  const hn = hnBias ? tf.fused.matMul({ a: h, b: kernels[2], bias: hnBias }) : tf.matMul(h, kernels[2]);
  const n = tanh(tf.add(xn, tf.mul(r, hn)));
  // (1-z)·n + z·h, written with one multiply fewer.
  return { h: tf.add(n, tf.mul(z, tf.sub(h, n))) };
};

/** TF.js's tanh. */
export const exactTanh = (x: tf.Tensor2D): tf.Tensor2D => tf.tanh(x);

/**
 * `tanh(x) = 2·σ(2x) − 1`. The wasm backend's Tanh is scalar while its Sigmoid is vectorized (XNNPACK),
 * which makes this several times faster there; the absolute error stays around 1e-7.
 */
export const sigmoidTanh = (x: tf.Tensor2D): tf.Tensor2D => tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);

/** The pure step function of each cell kind. */
export const CELL_STEPS: Readonly<Record<CellKind, CellStep>> = {
  rnn: rnnStep,
  lstm: lstmStep,
  gru: gruStep,
};
