/**
 * The batched incremental step on ONNX Runtime: one `session.run` of the whole network (embedding
 * gather and every layer's native RNN/LSTM/GRU kernel, see `onnxGraph.ts`) per group of rows.
 *
 * ONNX's recurrent kernels take a padded time-major batch and `sequence_lens`, and return in `Y_h` each
 * row's state at its own last step — but they compute every padded step too. So rows are sorted by
 * length and cut into groups of similar length ({@link planRuns}): a long row and many short ones cost
 * two runs, not one run padded to the longest. Rows without steps never reach the session.
 */
import type * as Ort from 'onnxruntime-node';
import type { OnnxRuntime } from './backend.js';
import type { RnnWeights } from './cells.js';
import { checkRnnWeights } from './cells.js';
import { buildOnnxGraph, type OnnxGraphNames, onnxGraphNames } from './onnxGraph.js';
import { incomingLast, type RunningRow, splitStepRows } from './stepRows.js';
import type { RnnConfig, StepEngine, StepOptions, StepResult, StepRow } from './types.js';

/** Options of {@link createOnnxEngine}. */
export interface OnnxEngineOptions {
  /**
   * Intra-op threads of the session. One per session: parallelism across cores comes from engine
   * workers over disjoint rows (`parallelEngine.ts`), which measured faster than one session's threads.
   * @default 1
   */
  threads?: number;
  /**
   * What one extra `session.run` costs, in row-steps of padded work: rows are grouped so that
   * `runs × runCost + Σ rows × longest row` is smallest.
   * @default 48
   */
  runCost?: number;
}

/** Defaults of {@link OnnxEngineOptions}. */
export const DEFAULT_ONNX_ENGINE_OPTIONS: Required<OnnxEngineOptions> = { threads: 1, runCost: 48 };

/**
 * Cuts rows sorted by steps (longest first) into consecutive groups minimising
 * `groups × runCost + Σ_groups rows × longest`, by dynamic programming over the points where the length
 * changes (a group never splits rows of equal length). Returns the group end indices (exclusive).
 * @example planRuns([9, 9, 2, 1], 4) // → [2, 4]
 */
export function planRuns(lengths: number[], runCost: number): number[] {
  const n = lengths.length;
  if (n === 0) return [];
  // Candidate cut points: where the length changes, and the end.
  const cuts: number[] = [0];
  for (let i = 1; i < n; i++) if (lengths[i] !== lengths[i - 1]) cuts.push(i);
  cuts.push(n);
  const m = cuts.length;
  const best = new Array<number>(m).fill(Number.POSITIVE_INFINITY);
  const from = new Array<number>(m).fill(0);
  best[0] = 0;
  for (let j = 1; j < m; j++) {
    for (let i = 0; i < j; i++) {
      const cost = best[i] + runCost + (cuts[j] - cuts[i]) * lengths[cuts[i]];
      if (cost < best[j]) {
        best[j] = cost;
        from[j] = i;
      }
    }
  }
  const ends: number[] = [];
  for (let j = m - 1; j > 0; j = from[j]) ends.push(cuts[j]);
  return ends.reverse();
}

/** The engine behind {@link createOnnxEngine}. */
class OnnxEngine implements StepEngine {
  readonly config: RnnConfig;
  private readonly ort: OnnxRuntime;
  private readonly names: OnnxGraphNames;
  private readonly vocabSize: number;
  private readonly options: Required<OnnxEngineOptions>;
  private readonly session: Promise<Ort.InferenceSession>;
  private disposed = false;

  constructor(
    ort: OnnxRuntime,
    weights: RnnWeights,
    config: RnnConfig,
    options: Required<OnnxEngineOptions>,
  ) {
    checkRnnWeights(weights, config);
    this.config = { ...config };
    this.ort = ort;
    this.options = options;
    this.vocabSize = weights.embedding?.shape[0] ?? 0;
    this.names = onnxGraphNames(config, this.vocabSize > 0, { outputs: true });
    this.session = ort.InferenceSession.create(buildOnnxGraph(weights, config, { outputs: true }), {
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Warnings only (ORT prints "removing initializer" notes at info level on every start).
      logSeverityLevel: 3,
    });
    // A failed start surfaces at the first step (and at `ready()`), not as an unhandled rejection.
    this.session.catch(() => {});
  }

  /** Resolves once the session is created; rejects with ONNX Runtime's error when it cannot be. */
  async ready(): Promise<void> {
    await this.session;
  }

  async step(rows: StepRow[], options: StepOptions = {}): Promise<StepResult[]> {
    if (this.disposed) throw new Error('engine used after dispose()');
    const { results, running } = splitStepRows(this.config, this.vocabSize, rows, options);
    if (running.length === 0) return results;
    const session = await this.session;
    const ends = planRuns(
      running.map((r) => r.steps),
      this.options.runCost,
    );
    let start = 0;
    for (const end of ends) {
      await this.runGroup(session, running.slice(start, end), options, results);
      start = end;
    }
    return results;
  }

  /** One `session.run` over rows of similar length; writes their results. */
  private async runGroup(
    session: Ort.InferenceSession,
    group: RunningRow[],
    options: StepOptions,
    results: StepResult[],
  ): Promise<void> {
    const { hiddenSize: H, numLayers: L, inputSize, cell } = this.config;
    const { Tensor } = this.ort;
    const B = group.length;
    const T = group[0].steps;
    const names = this.names;
    const feeds: Record<string, Ort.Tensor> = {
      lengths: new Tensor(
        'int32',
        Int32Array.from(group, (r) => r.steps),
        [B],
      ),
    };
    if (this.vocabSize > 0) {
      // Time-major [T, B]; padding is id 0, never read past a row's length.
      const ids = new Int32Array(T * B);
      group.forEach(({ row, steps }, p) => {
        const tokens = row.tokens as Int32Array;
        for (let t = 0; t < steps; t++) ids[t * B + p] = tokens[t];
      });
      feeds.tokens = new Tensor('int32', ids, [T, B]);
    } else {
      const x = new Float32Array(T * B * inputSize);
      group.forEach(({ row, steps }, p) => {
        const inputs = row.inputs as Float32Array;
        for (let t = 0; t < steps; t++) {
          x.set(inputs.subarray(t * inputSize, (t + 1) * inputSize), (t * B + p) * inputSize);
        }
      });
      feeds.inputs = new Tensor('float32', x, [T, B, inputSize]);
    }
    const isLstm = cell === 'lstm';
    for (let l = 0; l < L; l++) {
      const h0 = new Float32Array(B * H);
      const c0 = isLstm ? new Float32Array(B * H) : undefined;
      group.forEach(({ row }, p) => {
        if (row.state) h0.set(row.state.h.subarray(l * H, (l + 1) * H), p * H);
        if (row.state?.c) c0?.set(row.state.c.subarray(l * H, (l + 1) * H), p * H);
      });
      feeds[names.h0[l]] = new Tensor('float32', h0, [1, B, H]);
      if (c0) feeds[names.c0[l]] = new Tensor('float32', c0, [1, B, H]);
    }
    // Every step's output is fetched only when a mark falls inside a row or outputs are asked for.
    const wantY =
      options.returnOutputs === true ||
      group.some(({ row, steps }) => (row.marks ?? []).some((m) => m > 0 && m < steps));
    const fetches = [...names.h, ...names.c, ...(wantY && names.y ? [names.y] : [])];
    const out = await session.run(feeds, fetches);
    const read = (name: string) => out[name].data as Float32Array;
    const hs = names.h.map(read);
    const cs = names.c.map(read);
    const y = wantY && names.y ? read(names.y) : undefined;
    group.forEach(({ index, steps, row }, p) => {
      const h = new Float32Array(L * H);
      const c = isLstm ? new Float32Array(L * H) : undefined;
      for (let l = 0; l < L; l++) {
        h.set(hs[l].subarray(p * H, (p + 1) * H), l * H);
        c?.set(cs[l].subarray(p * H, (p + 1) * H), l * H);
      }
      const last = h.slice((L - 1) * H);
      // y is [T, 1, B, H]: step t of row p starts at (t * B + p) * H.
      const at = (t: number) => (y as Float32Array).slice((t * B + p) * H, (t * B + p + 1) * H);
      const marked = (row.marks ?? []).map((m) =>
        m === 0 ? incomingLast(this.config, row) : m >= steps ? last.slice() : at(m - 1),
      );
      const result: StepResult = { state: c ? { h, c } : { h }, last, marked };
      if (options.returnOutputs) {
        const outputs = new Float32Array(steps * H);
        for (let t = 0; t < steps; t++) outputs.set(at(t), t * H);
        result.outputs = outputs;
      }
      results[index] = result;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.session.then(
      (s) => s.release(),
      () => {},
    );
  }
}

/** A {@link StepEngine} on ONNX Runtime that can say when its session is ready. */
export type OnnxStepEngine = StepEngine & { ready(): Promise<void> };

/**
 * Builds the batched incremental step for a stacked network on ONNX Runtime. The graph is built from
 * the weights at once and the session created in the background; `ready()` awaits it (the first step
 * does too).
 * @example
 * const engine = createOnnxEngine(ort, weights, config);
 * await engine.ready();
 * const [result] = await engine.step([{ tokens: Int32Array.of(5, 9, 2), marks: [1] }]);
 */
export function createOnnxEngine(
  ort: OnnxRuntime,
  weights: RnnWeights,
  config: RnnConfig,
  options: OnnxEngineOptions = {},
): OnnxStepEngine {
  return new OnnxEngine(ort, weights, config, {
    threads: options.threads ?? DEFAULT_ONNX_ENGINE_OPTIONS.threads,
    runCost: options.runCost ?? DEFAULT_ONNX_ENGINE_OPTIONS.runCost,
  });
}
