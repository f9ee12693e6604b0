/**
 * The network being trained: Embedding → stacked Elman RNN / LSTM / GRU → Dense, as TF.js variables
 * with PyTorch's equations (GRU with the reset gate applied after the recurrent matmul, i.e. Keras'
 * `reset_after=True`, which tfjs-layers 4.22's `GRUCell` refuses) so that the saved weights are exactly
 * what the serving engine runs.
 *
 * Sequences are packed like PyTorch's PackedSequence and like the engine: rows sorted by length, longest
 * first, and at step t only the rows still running are stepped. The final state of a row is therefore the
 * state after its own last token, with no padding ever fed to the cell — what the engine computes when it
 * runs a message with no padding at all.
 */
import * as tf from '@tensorflow/tfjs';
import { CELL_GATES } from '../cells.js';
import type { TensorMap } from '../safetensors.js';
import type { CellKind } from '../types.js';
import { gatherRows, uniform } from './hostOps.js';
import { blockMask, meanOverMembers, memberLogits } from './members.js';
import { PretrainedInput, type PretrainedSpec } from './pretrainedInput.js';
import type { SeededRandom } from './random.js';

/** The size of a trainable network. */
export interface NetworkShape {
  cell: CellKind;
  vocabSize: number;
  embed: number;
  hiddenSize: number;
  numLayers: number;
  /** 1 for a sigmoid head, the number of labels for a softmax head. */
  outputs: number;
  /** A pretrained input layer instead of a plain embedding (folded into one at export). */
  pretrained?: PretrainedSpec;
  /**
   * Independent cells of `hiddenSize / members` units side by side, each with its own head and loss, folded
   * into one network at export (model/train/members.ts). @default 1
   */
  members?: number;
  /**
   * With several members: each reads its own `embed / members` columns of the input table (its own share of
   * the pretrained projection), instead of all of them. @default false
   */
  separateInputs?: boolean;
}

/** A batch of token sequences packed time-major, rows sorted by decreasing length. */
export interface PackedBatch {
  /** Token ids: step 0 of every row, then step 1 of the rows still running, … */
  ids: Int32Array;
  /** Rows still running at each step (non-increasing). */
  batchSizes: number[];
  /** Number of rows. */
  rows: number;
}

/**
 * Packs token sequences that are already sorted by decreasing length (a row may not be empty).
 * @example const batch = packSorted([Int32Array.of(4, 5, 6), Int32Array.of(7)]);
 */
export function packSorted(sequences: readonly Int32Array[]): PackedBatch {
  const rows = sequences.length;
  if (rows === 0) throw new RangeError('cannot pack an empty batch');
  const steps = sequences[0].length;
  const batchSizes: number[] = [];
  let total = 0;
  for (let t = 0, active = rows; t < steps; t++) {
    while (sequences[active - 1].length <= t) active--;
    batchSizes.push(active);
    total += active;
  }
  if (sequences[rows - 1].length === 0) throw new RangeError('cannot pack an empty sequence');
  const ids = new Int32Array(total);
  let n = 0;
  for (let t = 0; t < steps; t++) for (let r = 0; r < batchSizes[t]; r++) ids[n++] = sequences[r][t];
  return { ids, batchSizes, rows };
}

/** One recurrent layer's variables, kernels stored transposed (`W_ihᵀ [in, G*H]`, `W_hhᵀ [H, G*H]`). */
interface LayerVariables {
  wIh: tf.Variable;
  wHh: tf.Variable;
  bIh: tf.Variable;
  bHh: tf.Variable;
  /** With several members: the block-diagonal masks of `wHh` and of a deeper (or separate-input) layer's `wIh`. */
  hhMask?: tf.Tensor2D;
  ihMask?: tf.Tensor2D;
}

/** Dropout masks drawn on the host from the seeded generator, so a run does not depend on the backend's RNG. */
export interface DropoutPlan {
  /** Fraction of embedded input values zeroed (inverted dropout). @default 0 */
  embed: number;
  /** Fraction of the final hidden state's values zeroed before the head. @default 0 */
  output: number;
  random: SeededRandom;
}

/** A host-drawn inverted-dropout mask of `count` values. */
function dropoutMask(count: number, rate: number, random: SeededRandom): Float32Array {
  const keep = 1 - rate;
  const mask = new Float32Array(count);
  for (let i = 0; i < count; i++) mask[i] = random.next() < keep ? 1 / keep : 0;
  return mask;
}

/** Row-major transpose of a `[rows, cols]` matrix. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Embedding → stacked recurrent layers → Dense, as trainable TF.js variables. */
export class TrainableNetwork {
  readonly shape: NetworkShape;
  private readonly embedding?: tf.Variable;
  private readonly pretrained?: PretrainedInput;
  private readonly layers: LayerVariables[] = [];
  private readonly headW: tf.Variable;
  /** `[outputs]`, or `[members, outputs]` with several members. */
  private readonly headB: tf.Variable;
  private readonly members: number;

  /**
   * Initialises the weights on the host from `random` (PyTorch's defaults: recurrent and head weights
   * uniform in ±1/√H, H the width of one member; embedding uniform in ±0.1), so the same seed gives the same
   * network everywhere.
   * @example const net = new TrainableNetwork({ cell: 'gru', vocabSize: 5000, embed: 64, hiddenSize: 128, numLayers: 1, outputs: 1 }, new SeededRandom(1));
   */
  constructor(shape: NetworkShape, random: SeededRandom) {
    this.shape = { ...shape };
    const { cell, vocabSize, embed, hiddenSize: H, numLayers, outputs } = shape;
    const G = CELL_GATES[cell] * H;
    const members = shape.members ?? 1;
    if (shape.separateInputs && embed % members !== 0)
      throw new RangeError(`separate inputs need members dividing the input width ${embed}, got ${members}`);
    if (!(Number.isInteger(members) && members >= 1 && H % members === 0))
      throw new RangeError(
        `members must be a positive integer dividing the hidden size ${H}, got ${members}`,
      );
    this.members = members;
    const bound = 1 / Math.sqrt(H / members);
    // Host mask × host values: a member's weights start (and, with zero gradients elsewhere, stay) in its block.
    const masked = (values: Float32Array, mask?: Float32Array) => {
      if (mask) for (let i = 0; i < values.length; i++) values[i] *= mask[i];
      return values;
    };
    if (shape.pretrained) {
      this.pretrained = new PretrainedInput(shape.pretrained, embed, random);
      if (this.pretrained.rows !== vocabSize)
        throw new RangeError(`pretrained table has ${this.pretrained.rows} rows, vocabulary ${vocabSize}`);
    } else {
      const embedding = uniform(vocabSize * embed, 0.1, random);
      embedding.fill(0, 0, embed); // <pad> never reaches the cell; keep it zero for tidiness.
      this.embedding = tf.variable(tf.tensor2d(embedding, [vocabSize, embed]), true, 'embedding');
    }
    for (let k = 0; k < numLayers; k++) {
      const input = k === 0 ? embed : H;
      const ihMask =
        members > 1 && (k > 0 || shape.separateInputs)
          ? blockMask(input, H, members, CELL_GATES[cell])
          : undefined;
      const hhMask = members > 1 ? blockMask(H, H, members, CELL_GATES[cell]) : undefined;
      const layer: LayerVariables = {
        wIh: tf.variable(
          tf.tensor2d(masked(uniform(input * G, bound, random), ihMask), [input, G]),
          true,
          `wIh${k}`,
        ),
        wHh: tf.variable(tf.tensor2d(masked(uniform(H * G, bound, random), hhMask), [H, G]), true, `wHh${k}`),
        bIh: tf.variable(tf.tensor1d(uniform(G, bound, random)), true, `bIh${k}`),
        bHh: tf.variable(tf.tensor1d(uniform(G, bound, random)), true, `bHh${k}`),
        ihMask: ihMask && tf.tensor2d(ihMask, [input, G]),
        hhMask: hhMask && tf.tensor2d(hhMask, [H, G]),
      };
      if (cell === 'lstm') {
        // Forget-gate bias 1 (Jozefowicz et al. 2015): remember by default, which long reviews need.
        const b = layer.bIh.dataSync().slice();
        b.fill(1, H, 2 * H);
        layer.bIh.assign(tf.tensor1d(b));
      }
      this.layers.push(layer);
    }
    this.headW = tf.variable(tf.tensor2d(uniform(H * outputs, bound, random), [H, outputs]), true, 'headW');
    this.headB = tf.variable(tf.zeros(members > 1 ? [members, outputs] : [outputs]), true, 'headB');
  }

  /** The trainable variables, in a fixed order. */
  variables(): tf.Variable[] {
    return [
      ...(this.embedding ? [this.embedding] : (this.pretrained as PretrainedInput).variables()),
      ...this.layers.flatMap((l) => [l.wIh, l.wHh, l.bIh, l.bHh]),
      this.headW,
      this.headB,
    ];
  }

  /** One cell step on the active rows: `xProj` already holds its bias. */
  private cellStep(
    xProj: tf.Tensor2D,
    h: tf.Tensor2D,
    c: tf.Tensor2D | undefined,
    wHh: tf.Tensor2D,
    bHh: tf.Tensor1D,
  ): { h: tf.Tensor2D; c?: tf.Tensor2D } {
    const hProj = tf.add(tf.matMul(h, wHh), bHh) as tf.Tensor2D;
    switch (this.shape.cell) {
      case 'rnn':
        return { h: tf.tanh(tf.add(xProj, hProj)) as tf.Tensor2D };
      case 'lstm': {
        const [i, f, g, o] = tf.split(tf.add(xProj, hProj), 4, 1);
        const cNew = tf.add(tf.mul(tf.sigmoid(f), c as tf.Tensor2D), tf.mul(tf.sigmoid(i), tf.tanh(g)));
        return { h: tf.mul(tf.sigmoid(o), tf.tanh(cNew)) as tf.Tensor2D, c: cNew as tf.Tensor2D };
      }
      case 'gru': {
        const H = this.shape.hiddenSize;
        const [xrz, xn] = tf.split(xProj, [2 * H, H], 1);
        const [hrz, hn] = tf.split(hProj, [2 * H, H], 1);
        const [r, z] = tf.split(tf.sigmoid(tf.add(xrz, hrz)), 2, 1);
        const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
        return { h: tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D };
      }
    }
  }

  /**
   * The last layer's final hidden state of every row `[rows, H]`, in the batch's (sorted) row order.
   * Call inside `tf.tidy` (or `tf.variableGrads`).
   */
  encode(batch: PackedBatch, dropout?: DropoutPlan): tf.Tensor2D {
    const { hiddenSize: H, embed } = this.shape;
    const { batchSizes, rows } = batch;
    let input: tf.Tensor2D = this.pretrained
      ? this.pretrained.lookup(batch.ids)
      : gatherRows(this.embedding as tf.Tensor2D, batch.ids);
    if (dropout && dropout.embed > 0) {
      const mask = dropoutMask(batch.ids.length * embed, dropout.embed, dropout.random);
      input = tf.mul(input, tf.tensor2d(mask, [batch.ids.length, embed])) as tf.Tensor2D;
    }
    let last: tf.Tensor2D | undefined;
    this.layers.forEach((layer, k) => {
      const deepest = k === this.layers.length - 1;
      const { wIh, wHh } = maskedKernels(layer);
      // The input projection of every step of the layer at once; only h·W_hhᵀ stays in the loop.
      const xProj = tf.add(tf.matMul(input, wIh), layer.bIh) as tf.Tensor2D;
      let h: tf.Tensor2D = tf.zeros([rows, H]);
      let c: tf.Tensor2D | undefined = this.shape.cell === 'lstm' ? tf.zeros([rows, H]) : undefined;
      const outputs: tf.Tensor2D[] = [];
      // One split, not a slice per step: a slice's gradient is a zero-padded copy of the whole input,
      // which made memory and time grow with the square of the sequence length.
      // (A batch of one-token texts has one step: split into one piece would give SplitV a single output,
      // whose gradient TF.js 4.22 then fails to concat.)
      const steps = batchSizes.length === 1 ? [xProj] : (tf.split(xProj, batchSizes, 0) as tf.Tensor2D[]);
      batchSizes.forEach((active, t) => {
        const x = steps[t];
        const running = active === rows;
        const hIn = running ? h : h.slice([0, 0], [active, H]);
        const cIn = c && (running ? c : c.slice([0, 0], [active, H]));
        const next = this.cellStep(x, hIn, cIn, wHh, layer.bHh as tf.Tensor1D);
        if (!deepest) outputs.push(next.h);
        // Rows that have ended keep their final state unchanged.
        h = running ? next.h : tf.concat([next.h, h.slice([active, 0], [rows - active, H])], 0);
        if (c && next.c)
          c = running ? next.c : tf.concat([next.c, c.slice([active, 0], [rows - active, H])], 0);
      });
      if (!deepest) input = tf.concat(outputs, 0);
      else last = h;
    });
    return last as tf.Tensor2D;
  }

  /**
   * Each member's head logits `[rows · members, outputs]` (row r's members at r·members …), what training
   * takes the loss of; with one member, the head logits `[rows, outputs]`. Call inside `tf.tidy`.
   */
  memberLogits(batch: PackedBatch, dropout?: DropoutPlan): tf.Tensor2D {
    let hidden = this.encode(batch, dropout);
    if (dropout && dropout.output > 0) {
      const mask = dropoutMask(hidden.size, dropout.output, dropout.random);
      hidden = tf.mul(hidden, tf.tensor2d(mask, hidden.shape));
    }
    return this.members > 1
      ? memberLogits(hidden, this.headW as tf.Tensor2D, this.headB as tf.Tensor2D)
      : tf.add(tf.matMul(hidden, this.headW), this.headB);
  }

  /** Head logits `[rows, outputs]` of a batch (the mean of the members'), what the exported package computes. Call inside `tf.tidy`. */
  logits(batch: PackedBatch, dropout?: DropoutPlan): tf.Tensor2D {
    return meanOverMembers(this.memberLogits(batch, dropout), this.members);
  }

  /** Copies the current weights out (for early stopping's best checkpoint). */
  snapshot(): Float32Array[] {
    return this.variables().map((v) => v.dataSync().slice() as Float32Array);
  }

  /** Restores weights taken by {@link snapshot}. */
  restore(snapshot: Float32Array[]): void {
    this.variables().forEach((v, i) => {
      v.assign(tf.tensor(snapshot[i], v.shape));
    });
  }

  /**
   * The weights as a PyTorch state_dict (docs/MODEL_PACKAGE.md): `embedding.weight`,
   * `rnn.weight_ih_l{k}` `[G*H, in]`, `rnn.weight_hh_l{k}`, `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}`,
   * `head.weight` `[C, H]`, `head.bias` `[C]`.
   */
  stateDict(): TensorMap {
    const { vocabSize, embed, hiddenSize: H, outputs } = this.shape;
    const read = (v: tf.Tensor) => v.dataSync() as Float32Array;
    const tensors: TensorMap = new Map();
    const table = this.pretrained ? this.pretrained.table() : read(this.embedding as tf.Variable).slice();
    tensors.set('embedding.weight', { shape: [vocabSize, embed], data: table });
    this.layers.forEach((layer, k) => {
      const [input, G] = layer.wIh.shape;
      const { wIh, wHh } = tf.tidy(() => maskedKernels(layer));
      tensors.set(`rnn.weight_ih_l${k}`, { shape: [G, input], data: transpose(read(wIh), input, G) });
      tensors.set(`rnn.weight_hh_l${k}`, { shape: [G, H], data: transpose(read(wHh), H, G) });
      if (layer.ihMask) wIh.dispose();
      if (layer.hhMask) wHh.dispose();
      tensors.set(`rnn.bias_ih_l${k}`, { shape: [G], data: read(layer.bIh).slice() });
      tensors.set(`rnn.bias_hh_l${k}`, { shape: [G], data: read(layer.bHh).slice() });
    });
    // Several members' heads fold into one that averages their logits: weights ÷ members, biases' mean.
    // (With one member both are copied unchanged.)
    const M = this.members;
    const headWeight = transpose(read(this.headW), H, outputs).map((w) => w / M);
    const headBias = new Float32Array(outputs);
    read(this.headB).forEach((b, i) => {
      headBias[i % outputs] += b / M;
    });
    tensors.set('head.weight', { shape: [outputs, H], data: headWeight });
    tensors.set('head.bias', { shape: [outputs], data: headBias });
    return tensors;
  }

  /** Releases the variables. */
  dispose(): void {
    tf.dispose(this.variables());
    tf.dispose(this.layers.flatMap((l) => [l.ihMask, l.hhMask].filter((m) => m !== undefined)));
    this.pretrained?.dispose();
  }
}

/** A layer's kernels with its members' masks applied (the variables themselves with one member). */
function maskedKernels(layer: LayerVariables): { wIh: tf.Tensor2D; wHh: tf.Tensor2D } {
  const apply = (w: tf.Variable, mask?: tf.Tensor2D) => (mask ? tf.mul(w, mask) : w) as tf.Tensor2D;
  return { wIh: apply(layer.wIh, layer.ihMask), wHh: apply(layer.wHh, layer.hhMask) };
}
