/**
 * `rnnstream bench kernel`: the batched incremental step alone. Random (seeded) weights and token rows,
 * `engine.step(rows)` called again and again with each row's state carried to the next call, as the
 * pipeline does for keys that keep talking. Nothing else (no tokenizer, no state store) is timed.
 */

import type { RnnState } from '../core/contracts.js';
import { BACKEND_NAMES, type BackendName, selectBackend } from '../model/backend.js';
import { CELL_GATES } from '../model/cells.js';
import { DEFAULT_ENGINE_OPTIONS, type EngineOptions } from '../model/engine.js';
import { createParallelEngine } from '../model/parallelEngine.js';
import { createStepEngine } from '../model/stepEngine.js';
import type { CellKind, RnnConfig } from '../model/types.js';
import { choiceFlag, type Flags, numberFlag, printResult } from './flags.js';
import { flopsPerToken, randomTokenRows, randomWeights } from './random.js';

/** Options of {@link runKernelBench}. */
export interface KernelBenchOptions {
  /** @default 'gru' */
  cell?: CellKind;
  /** Token ids are drawn uniformly from [0, vocab). @default 20000 */
  vocab?: number;
  /** Embedding width (layer 0 input size). @default 128 */
  embed?: number;
  /** @default 256 */
  hidden?: number;
  /** Stacked layers. @default 1 */
  layers?: number;
  /** Rows (keys) per step call. @default 256 */
  batch?: number;
  /** Tokens per row per call. @default 32 */
  steps?: number;
  /** How long to keep calling after the warm-up; at least one timed call is always made. @default 3 */
  seconds?: number;
  /** Inference backend, as `--backend`. @default 'auto' */
  backend?: BackendName;
  /** ONNX Runtime intra-op threads per session (per engine worker). @default 1 */
  threads?: number;
  /** Layer 0 input projection table (TF.js engine), as the engine's option. @default 'auto' */
  inputTable?: EngineOptions['inputTable'];
  /** Seed of the weights and tokens. @default 1 */
  seed?: number;
  /** Engine worker threads over disjoint rows (model/parallelEngine.ts); 1 = the engine in this thread. @default 1 */
  workers?: number;
  /** What this point is measured for (e.g. `pipeline`: the kernel at the pipeline's batch); '' = the sweep. @default '' */
  context?: string;
}

/** Defaults of {@link KernelBenchOptions}. */
export const DEFAULT_KERNEL_BENCH_OPTIONS: Required<KernelBenchOptions> = {
  cell: 'gru',
  vocab: 20000,
  embed: 128,
  hidden: 256,
  layers: 1,
  batch: 256,
  steps: 32,
  seconds: 3,
  backend: 'auto',
  threads: 1,
  inputTable: 'auto',
  seed: 1,
  workers: 1,
  context: '',
};

/** What {@link runKernelBench} measured. */
export interface KernelBenchResult {
  bench: 'kernel';
  /**
   * `rnnstream` on ONNX Runtime (the default backend), `rnnstream-<backend>` on another; `-Nw` with N
   * engine worker threads, `-Nt` with N ONNX Runtime threads per session.
   */
  impl: string;
  /** `batch * steps * calls / seconds`. */
  tokens_per_s: number;
  backend: string;
  cell: CellKind;
  vocab: number;
  embed: number;
  hidden: number;
  layers: number;
  batch: number;
  steps: number;
  /** Timed calls (the warm-up call excluded). */
  calls: number;
  /** Timed wall-clock seconds. */
  seconds: number;
  ms_per_call: number;
  /** Whether layer 0's input projection was a table lookup (then it costs no FLOPs). */
  input_table: boolean;
  /** FLOPs per token of the math actually done (see `flopsPerToken`). */
  flops_per_token: number;
  gflops: number;
  /** Present when the point was measured for a context (see {@link KernelBenchOptions.context}). */
  context?: string;
}

/** The name a configuration is reported under (see {@link KernelBenchResult.impl}). */
export function implName(backend: string, workers: number, threads: number): string {
  return [
    'rnnstream',
    ...(backend === 'onnxruntime' ? [] : [backend]),
    ...(workers > 1 ? [`${workers}w`] : []),
    ...(threads > 1 && backend === 'onnxruntime' ? [`${threads}t`] : []),
  ].join('-');
}

/**
 * Measures the engine's tokens/s on one shape.
 * @example const { tokens_per_s } = await runKernelBench({ cell: 'gru', batch: 256, seconds: 2, backend: 'wasm' });
 */
export async function runKernelBench(options: KernelBenchOptions = {}): Promise<KernelBenchResult> {
  const o = { ...DEFAULT_KERNEL_BENCH_OPTIONS, ...options };
  const { backend } = await selectBackend(o.backend);
  const config: RnnConfig = {
    cell: o.cell,
    inputSize: o.embed,
    hiddenSize: o.hidden,
    numLayers: o.layers,
    bias: true,
  };
  const weights = randomWeights(config, o.vocab, o.seed);
  const engineOptions = { inputTable: o.inputTable, threads: o.threads };
  const engine =
    o.workers > 1
      ? await createParallelEngine(weights, config, {
          workers: o.workers,
          backend: backend as BackendName,
          engine: engineOptions,
        })
      : createStepEngine(weights, config, engineOptions);
  try {
    // Two sets of token rows, alternated, so no call sees exactly the previous call's input.
    const tokenSets = [0, 1].map((k) => randomTokenRows(o.batch, o.steps, o.vocab, o.seed + 1 + k));
    let states: (RnnState | null)[] = new Array(o.batch).fill(null);
    const call = async (k: number) => {
      const rows = tokenSets[k % 2].map((tokens, i) => ({ tokens, state: states[i] }));
      const results = await engine.step(rows);
      states = results.map((r) => r.state);
    };
    // Warm-up: the first call allocates backend buffers and, on webgpu, compiles the shaders.
    await call(0);
    let calls = 0;
    const started = performance.now();
    let elapsed = 0;
    do {
      await call(++calls);
      elapsed = (performance.now() - started) / 1000;
    } while (elapsed < o.seconds);
    // ONNX Runtime gathers the embedding and projects it inside its kernel; TF.js looks layer 0 up in a table.
    const inputTable =
      backend !== 'onnxruntime' &&
      (o.inputTable === 'always' ||
        (o.inputTable === 'auto' &&
          o.vocab * CELL_GATES[o.cell] * o.hidden * 4 <= DEFAULT_ENGINE_OPTIONS.tableMaxBytes));
    const flops = flopsPerToken(config, inputTable);
    const tokensPerS = (o.batch * o.steps * calls) / elapsed;
    return {
      bench: 'kernel',
      impl: implName(backend, o.workers, o.threads),
      tokens_per_s: tokensPerS,
      backend,
      cell: o.cell,
      vocab: o.vocab,
      embed: o.embed,
      hidden: o.hidden,
      layers: o.layers,
      batch: o.batch,
      steps: o.steps,
      calls,
      seconds: elapsed,
      ms_per_call: (elapsed * 1000) / calls,
      input_table: inputTable,
      flops_per_token: flops,
      gflops: (tokensPerS * flops) / 1e9,
      ...(o.context ? { context: o.context } : {}),
    };
  } finally {
    engine.dispose();
  }
}

/**
 * CLI entry of `rnnstream bench kernel --cell C --vocab V --embed E --hidden H [--layers L] --batch B
 * --steps T --seconds S [--backend NAME] [--json]`: prints a table, and with `--json` one JSON line last.
 * Resolves to the exit code.
 */
export async function benchKernelCommand(flags: Flags): Promise<number> {
  const d = DEFAULT_KERNEL_BENCH_OPTIONS;
  const result = await runKernelBench({
    cell: choiceFlag(flags, 'cell', ['rnn', 'lstm', 'gru'] as const, d.cell),
    vocab: numberFlag(flags, 'vocab', d.vocab),
    embed: numberFlag(flags, 'embed', d.embed),
    hidden: numberFlag(flags, 'hidden', d.hidden),
    layers: numberFlag(flags, 'layers', d.layers),
    batch: numberFlag(flags, 'batch', d.batch),
    steps: numberFlag(flags, 'steps', d.steps),
    seconds: numberFlag(flags, 'seconds', d.seconds, { integer: false, min: 0 }),
    backend: choiceFlag(flags, 'backend', BACKEND_NAMES, d.backend),
    inputTable: choiceFlag(flags, 'inputTable', ['auto', 'always', 'never'] as const, d.inputTable),
    seed: numberFlag(flags, 'seed', d.seed, { min: 0 }),
    threads: numberFlag(flags, 'threads', d.threads),
    context: typeof flags.context === 'string' ? flags.context : d.context,
    workers: numberFlag(flags, 'engineWorkers', d.workers),
  });
  printResult(result, flags.json === true);
  return 0;
}
