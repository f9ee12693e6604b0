/**
 * The batched incremental step: many keys' rows of any length, each with its own incoming state, in one
 * tensor program.
 *
 * Rows are sorted by length (longest first) and packed time-major, like PyTorch's PackedSequence: at
 * step t only the first `batchSizes[t]` rows are still running, so the active batch shrinks as rows end
 * and short rows cost no padded work. Layer by layer, the input projection of all steps is one gather
 * (layer 0 of a token model: a precomputed `[vocab, gates*H]` table `Embedding·W_ihᵀ + b`) or one matmul
 * (deeper layers), so only `h·W_hhᵀ` is left inside the time loop.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  CELL_STEPS,
  type CellState,
  checkRnnWeights,
  exactTanh,
  gateGroups,
  type RecurrentParams,
  type RnnWeights,
  sigmoidTanh,
  stepLayout,
} from './cells.js';
import { filledTensor2d } from './hostTensor.js';
import type { HostTensor } from './safetensors.js';
import { incomingLast, type RunningRow, splitStepRows } from './stepRows.js';
import type { RnnConfig, StepEngine, StepOptions, StepResult, StepRow } from './types.js';

/** Options of {@link createEngine}. */
export interface EngineOptions {
  /**
   * Whether to precompute layer 0's input projection for every token id (`[vocab, gates*H]`), which turns
   * the embedding lookup and input matmul into one gather. `auto` does it when the table fits
   * `tableMaxBytes`.
   * @default 'auto'
   */
  inputTable?: 'auto' | 'always' | 'never';
  /** Largest table `auto` precomputes, in bytes. @default 536870912 (512 MiB) */
  tableMaxBytes?: number;
  /**
   * Where each step's slice of the precomputed input projection is cut. `device`: gather and split on the
   * device (GPU backends). `host`: the token table lives in host memory and slices are cut there and
   * uploaded per step, because the wasm backend's Slice/Gather copy their whole input on every call
   * (`readSync`), which made splitting a layer's projection into steps cost more than the matmuls.
   * `auto`: `host` on the wasm and cpu backends, `device` elsewhere.
   * @default 'auto'
   */
  inputFeed?: 'auto' | 'host' | 'device';
  /**
   * How tanh is computed: TF.js's `tanh`, or `2·σ(2x) − 1` (several times faster on wasm, whose Tanh
   * kernel is scalar; error ~1e-7). `auto`: `sigmoid` on wasm, `exact` elsewhere.
   * @default 'auto'
   */
  tanh?: 'auto' | 'exact' | 'sigmoid';
}

/** Defaults of {@link EngineOptions}. */
export const DEFAULT_ENGINE_OPTIONS: Required<EngineOptions> = {
  inputTable: 'auto',
  tableMaxBytes: 512 * 1024 * 1024,
  inputFeed: 'auto',
  tanh: 'auto',
};

/** Backends whose tensors live in host memory, where host-side slicing is a plain copy. */
const HOST_MEMORY_BACKENDS = new Set(['wasm', 'cpu']);

/** A layer's input projection on the device, per gate group. */
interface InputParams {
  kernels: tf.Tensor2D[];
  biases: (tf.Tensor1D | undefined)[];
}

/** The input projection of time step t, one `[batchSizes[t], width]` tensor per gate group (caller disposes). */
type StepFeed = (t: number) => tf.Tensor2D[];

const upload2d = (t: HostTensor) => tf.tensor2d(t.data, t.shape as [number, number], 'float32');
const upload1d = (t: HostTensor | undefined) => (t ? tf.tensor1d(t.data, 'float32') : undefined);

/** x·kernel + bias, with the bias fused when there is one. */
function project(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D | undefined): tf.Tensor2D {
  return (bias ? tf.fused.matMul({ a: x, b: kernel, bias }) : tf.matMul(x, kernel)) as tf.Tensor2D;
}

/** Concatenates along rows, without a copy when there is a single part. */
function concatRows(parts: tf.Tensor2D[]): tf.Tensor2D {
  return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
}

/** The engine behind {@link createEngine}. */
class BatchedEngine implements StepEngine {
  readonly config: RnnConfig;
  private readonly inputs: (InputParams | undefined)[] = [];
  private readonly recurrent: RecurrentParams[] = [];
  /** Layer 0 per-token projection tables (one per gate group), when precomputed (device feed). */
  private tables?: tf.Tensor2D[];
  /** The same tables in host memory (host feed), `[vocab * width]` each. */
  private hostTables?: Float32Array[];
  /** Width of each gate group of the input projection. */
  private readonly widths: number[];
  private readonly hostFeed: boolean;
  /** The embedding, kept only when there are no tables. */
  private readonly embedding?: tf.Tensor2D;
  private readonly vocabSize: number;
  private disposed = false;

  constructor(weights: RnnWeights, config: RnnConfig, options: Required<EngineOptions>) {
    checkRnnWeights(weights, config);
    this.config = { ...config };
    const { cell, hiddenSize } = config;
    this.vocabSize = weights.embedding?.shape[0] ?? 0;
    this.widths = gateGroups(cell, hiddenSize);
    this.hostFeed =
      options.inputFeed === 'host' ||
      (options.inputFeed === 'auto' && HOST_MEMORY_BACKENDS.has(tf.getBackend()));
    const gatesWidth = weights.layers[0].weightIh.shape[0];
    const tableBytes = this.vocabSize * gatesWidth * 4;
    const useTable =
      weights.embedding !== undefined &&
      (options.inputTable === 'always' ||
        (options.inputTable === 'auto' && tableBytes <= options.tableMaxBytes));
    weights.layers.forEach((layer, k) => {
      const { input, recurrent } = stepLayout(layer, cell, hiddenSize);
      this.recurrent.push({
        kernels: recurrent.kernels.map(upload2d),
        hnBias: upload1d(recurrent.hnBias),
        tanh:
          options.tanh === 'sigmoid' || (options.tanh === 'auto' && tf.getBackend() === 'wasm')
            ? sigmoidTanh
            : exactTanh,
      });
      const params = { kernels: input.kernels.map(upload2d), biases: input.biases.map(upload1d) };
      if (k === 0 && useTable && weights.embedding) {
        const embedding = upload2d(weights.embedding);
        this.tables = params.kernels.map((kernel, g) => project(embedding, kernel, params.biases[g]));
        embedding.dispose();
        if (this.hostFeed) {
          // Read once at start; the device copy would only duplicate it.
          this.hostTables = this.tables.map((table) => table.dataSync() as Float32Array);
          tf.dispose(this.tables);
          this.tables = undefined;
        }
        tf.dispose([params.kernels, params.biases.filter((b) => b !== undefined)]);
        this.inputs.push(undefined);
      } else {
        this.inputs.push(params);
      }
    });
    if (weights.embedding && !useTable) this.embedding = upload2d(weights.embedding);
  }

  async step(rows: StepRow[], options: StepOptions = {}): Promise<StepResult[]> {
    if (this.disposed) throw new Error('engine used after dispose()');
    const { hiddenSize: H, numLayers: L } = this.config;
    const { results, running } = splitStepRows(this.config, this.vocabSize, rows, options);
    if (running.length === 0) return results;
    const B = running.length;
    const T = running[0].steps;
    const batchSizes: number[] = [];
    const offsets: number[] = [];
    let N = 0;
    for (let t = 0, active = B; t < T; t++) {
      while (running[active - 1].steps <= t) active--;
      batchSizes.push(active);
      offsets.push(N);
      N += active;
    }
    // Marks strictly inside a row need the last layer's output at that step; mark 0 is the incoming
    // state and a mark at the end is the final state, both known without a gather.
    const markIndices: number[] = [];
    running.forEach(({ row, steps }, p) => {
      for (const m of row.marks ?? []) if (m > 0 && m < steps) markIndices.push(offsets[m - 1] + p);
    });
    const wantOutputs = options.returnOutputs === true;
    const flat = tf.tidy(() => this.program(running, batchSizes, offsets, N, markIndices, wantOutputs));
    let data: Float32Array;
    try {
      data = (await flat.data()) as Float32Array;
    } finally {
      flat.dispose();
    }
    // Unpack: final h [L, B, H], final c [L, B, H] (LSTM), marked [M, H], packed outputs [N, H].
    const isLstm = this.config.cell === 'lstm';
    const cBase = L * B * H;
    const markBase = isLstm ? 2 * cBase : cBase;
    const outBase = markBase + markIndices.length * H;
    let markAt = 0;
    running.forEach(({ index, steps, row }, p) => {
      const h = new Float32Array(L * H);
      const c = isLstm ? new Float32Array(L * H) : undefined;
      for (let l = 0; l < L; l++) {
        const from = (l * B + p) * H;
        h.set(data.subarray(from, from + H), l * H);
        c?.set(data.subarray(cBase + from, cBase + from + H), l * H);
      }
      const last = h.slice((L - 1) * H);
      const incoming = incomingLast(this.config, row);
      const marked = (row.marks ?? []).map((m) => {
        if (m === 0) return incoming.slice();
        if (m >= steps) return last.slice();
        const from = markBase + markAt++ * H;
        return data.slice(from, from + H);
      });
      const result: StepResult = { state: c ? { h, c } : { h }, last, marked };
      if (wantOutputs) {
        const outputs = new Float32Array(steps * H);
        for (let t = 0; t < steps; t++) {
          const from = outBase + (offsets[t] + p) * H;
          outputs.set(data.subarray(from, from + H), t * H);
        }
        result.outputs = outputs;
      }
      results[index] = result;
    });
    return results;
  }

  /** The tensor program of one call; returns everything to read back, flattened into one tensor. */
  private program(
    running: RunningRow[],
    batchSizes: number[],
    offsets: number[],
    N: number,
    markIndices: number[],
    wantOutputs: boolean,
  ): tf.Tensor1D {
    const { hiddenSize: H, numLayers: L, inputSize, cell } = this.config;
    const B = running.length;
    const T = batchSizes.length;
    const isLstm = cell === 'lstm';
    const step = CELL_STEPS[cell];

    // Initial states, packed [L, B, H] in sorted row order.
    const h0 = new Float32Array(L * B * H);
    const c0 = isLstm ? new Float32Array(L * B * H) : undefined;
    running.forEach(({ row }, p) => {
      for (let l = 0; l < L; l++) {
        if (row.state) h0.set(row.state.h.subarray(l * H, (l + 1) * H), (l * B + p) * H);
        if (row.state?.c) c0?.set(row.state.c.subarray(l * H, (l + 1) * H), (l * B + p) * H);
      }
    });
    const hInit = tf.unstack(tf.tensor3d(h0, [L, B, H])) as tf.Tensor2D[];
    const cInit = c0 ? (tf.unstack(tf.tensor3d(c0, [L, B, H])) as tf.Tensor2D[]) : undefined;

    // Layer 0's input projection of every step, one tensor per gate group.
    let feed: StepFeed;
    if (this.vocabSize > 0) {
      const ids = new Int32Array(N);
      for (let t = 0; t < T; t++) {
        for (let p = 0; p < batchSizes[t]; p++)
          ids[offsets[t] + p] = (running[p].row.tokens as Int32Array)[t];
      }
      if (this.hostTables) {
        feed = this.tableFeed(this.hostTables, ids, batchSizes, offsets);
      } else {
        const idsTensor = tf.tensor1d(ids, 'int32');
        let xProj: tf.Tensor2D[];
        if (this.tables) {
          xProj = this.tables.map((table) => tf.gather(table, idsTensor));
        } else {
          const x = tf.gather(this.embedding as tf.Tensor2D, idsTensor);
          xProj = this.projectAll(0, x);
          x.dispose();
        }
        idsTensor.dispose();
        feed = this.packedFeed(xProj, batchSizes, offsets);
      }
    } else {
      const packed = new Float32Array(N * inputSize);
      for (let t = 0; t < T; t++) {
        for (let p = 0; p < batchSizes[t]; p++) {
          const from = t * inputSize;
          const inputs = running[p].row.inputs as Float32Array;
          packed.set(inputs.subarray(from, from + inputSize), (offsets[t] + p) * inputSize);
        }
      }
      const x = tf.tensor2d(packed, [N, inputSize]);
      feed = this.packedFeed(this.projectAll(0, x), batchSizes, offsets);
      x.dispose();
    }

    const finalH: tf.Tensor2D[] = [];
    const finalC: tf.Tensor2D[] = [];
    let lastOutputs: tf.Tensor2D | undefined;
    for (let l = 0; l < L; l++) {
      const isLast = l === L - 1;
      const keepOutputs = !isLast || wantOutputs || markIndices.length > 0;
      const outputs: tf.Tensor2D[] = [];
      const doneH: tf.Tensor2D[] = [];
      const doneC: tf.Tensor2D[] = [];
      let state: CellState = { h: hInit[l], c: cInit?.[l] };
      let rows = B;
      for (let t = 0; t < T; t++) {
        const active = batchSizes[t];
        if (active < rows) {
          // Rows [active, rows) have ended: their state is final for this layer.
          const [keepH, endH] = tf.split(state.h, [active, rows - active], 0) as tf.Tensor2D[];
          doneH.push(endH);
          let keepC: tf.Tensor2D | undefined;
          if (state.c) {
            const [kc, ec] = tf.split(state.c, [active, rows - active], 0) as tf.Tensor2D[];
            doneC.push(ec);
            keepC = kc;
          }
          this.release(state, t > 0 && keepOutputs);
          state = { h: keepH, c: keepC };
          rows = active;
        }
        const input = feed(t);
        const params = this.recurrent[l];
        const next = tf.tidy(() => step(input, state, params));
        tf.dispose(input);
        // The previous h is still wanted when it is one of the layer's outputs.
        this.release(state, t > 0 && keepOutputs && state.h === outputs[outputs.length - 1]);
        if (keepOutputs) outputs.push(next.h);
        state = next;
      }
      // Sorted order: the rows still running, then those that ended, latest first. (Small tensors
      // like these are left to the enclosing tidy; only the large projections are freed eagerly.)
      finalH.push(concatRows([state.h, ...doneH.reverse()]));
      if (state.c) finalC.push(concatRows([state.c, ...doneC.reverse()]));
      if (!isLast) {
        // One input matmul over all of the next layer's steps.
        feed = this.packedFeed(this.projectAll(l + 1, concatRows(outputs)), batchSizes, offsets);
      } else if (keepOutputs) {
        lastOutputs = concatRows(outputs);
      }
    }

    // Functional ops only: this module imports tfjs-core alone (no chained-op methods), so that engine
    // workers do not load all of TF.js.
    const flat = (t: tf.Tensor) => tf.reshape(t, [-1]);
    const parts: tf.Tensor[] = [flat(tf.stack(finalH))];
    if (isLstm) parts.push(flat(tf.stack(finalC)));
    if (markIndices.length > 0 && lastOutputs) {
      parts.push(flat(tf.gather(lastOutputs, tf.tensor1d(markIndices, 'int32'))));
    }
    if (wantOutputs && lastOutputs) parts.push(flat(lastOutputs));
    return (parts.length === 1 ? parts[0] : tf.concat(parts)) as tf.Tensor1D;
  }

  /** Per-step inputs cut from packed projections `[N, width]` (on the device, or copied to the host). */
  private packedFeed(xProj: tf.Tensor2D[], batchSizes: number[], offsets: number[]): StepFeed {
    if (!this.hostFeed) {
      const pieces = xProj.map((x) => tf.split(x, batchSizes, 0) as tf.Tensor2D[]);
      tf.dispose(xProj);
      return (t) => pieces.map((steps) => steps[t]);
    }
    const host = xProj.map((x) => x.dataSync() as Float32Array);
    tf.dispose(xProj);
    return (t) =>
      host.map((data, g) => {
        const w = this.widths[g];
        return filledTensor2d(batchSizes[t], w, (out) =>
          out.set(data.subarray(offsets[t] * w, (offsets[t] + batchSizes[t]) * w)),
        );
      });
  }

  /** Per-step inputs looked up in the host tables, row by row. */
  private tableFeed(
    tables: Float32Array[],
    ids: Int32Array,
    batchSizes: number[],
    offsets: number[],
  ): StepFeed {
    return (t) =>
      tables.map((table, g) => {
        const w = this.widths[g];
        const rows = batchSizes[t];
        return filledTensor2d(rows, w, (out) => {
          for (let p = 0; p < rows; p++) {
            const id = ids[offsets[t] + p];
            out.set(table.subarray(id * w, (id + 1) * w), p * w);
          }
        });
      });
  }

  /** Projects a layer's packed inputs `[N, in]` through its input kernels, one tensor per gate group. */
  private projectAll(layer: number, x: tf.Tensor2D): tf.Tensor2D[] {
    const params = this.inputs[layer] as InputParams;
    return params.kernels.map((kernel, g) => project(x, kernel, params.biases[g]));
  }

  /** Disposes a state's tensors, keeping `h` when it is still needed as an output. */
  private release(state: CellState, keepH: boolean): void {
    if (!keepH) state.h.dispose();
    state.c?.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([
      ...(this.tables ?? []),
      ...(this.embedding ? [this.embedding] : []),
      ...this.recurrent.flatMap((r) => [...r.kernels, ...(r.hnBias ? [r.hnBias] : [])]),
      ...this.inputs.flatMap((p) => (p ? [...p.kernels, ...p.biases.filter((b) => b !== undefined)] : [])),
    ]);
  }
}

/**
 * Builds the batched incremental step for a stacked network on the current TF.js backend
 * (see `selectBackend`). The weights are uploaded once; call `dispose()` to release them.
 * @example
 * const engine = createEngine(weights, { cell: 'gru', inputSize: 64, hiddenSize: 128, numLayers: 1, bias: true });
 * const [result] = await engine.step([{ tokens: Int32Array.of(5, 9, 2), state: null, marks: [1] }]);
 */
export function createEngine(
  weights: RnnWeights,
  config: RnnConfig,
  options: EngineOptions = {},
): StepEngine {
  return new BatchedEngine(weights, config, { ...DEFAULT_ENGINE_OPTIONS, ...options });
}
