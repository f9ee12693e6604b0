/**
 * `rnnstream bench kernel`: the batched incremental step alone. Random (seeded) weights and token rows,
 * `engine.step(rows)` called again and again with each row's state carried to the next call, as the
 * pipeline does for keys that keep talking. Nothing else (no tokenizer, no state store) is timed.
 */
import { BACKEND_NAMES, type BackendName, selectBackend } from '../model/backend.js';
import { CELL_GATES } from '../model/cells.js';
import { createEngine, DEFAULT_ENGINE_OPTIONS, type EngineOptions } from '../model/engine.js';
import { createParallelEngine } from '../model/parallelEngine.js';
import type { CellKind, RnnConfig, RnnState } from '../model/types.js';
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
  /** TF.js backend, as `--backend`. @default 'auto' */
  backend?: BackendName;
  /** Layer 0 input projection table, as the engine's option. @default 'auto' */
  inputTable?: EngineOptions['inputTable'];
  /** Seed of the weights and tokens. @default 1 */
  seed?: number;
  /** Engine worker threads over disjoint rows (model/parallelEngine.ts); 1 = the engine in this thread. @default 1 */
  workers?: number;
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
  inputTable: 'auto',
  seed: 1,
  workers: 1,
};

/** What {@link runKernelBench} measured. */
export interface KernelBenchResult {
  bench: 'kernel';
  /** `rnnstream`, or `rnnstream-Nw` with N engine worker threads. */
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
  const engine =
    o.workers > 1
      ? await createParallelEngine(weights, config, {
          workers: o.workers,
          backend: backend as BackendName,
          engine: { inputTable: o.inputTable },
        })
      : createEngine(weights, config, { inputTable: o.inputTable });
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
    const inputTable =
      o.inputTable === 'always' ||
      (o.inputTable === 'auto' &&
        o.vocab * CELL_GATES[o.cell] * o.hidden * 4 <= DEFAULT_ENGINE_OPTIONS.tableMaxBytes);
    const flops = flopsPerToken(config, inputTable);
    const tokensPerS = (o.batch * o.steps * calls) / elapsed;
    return {
      bench: 'kernel',
      impl: o.workers > 1 ? `rnnstream-${o.workers}w` : 'rnnstream',
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
    workers: numberFlag(flags, 'engineWorkers', d.workers),
  });
  printResult(result, flags.json === true);
  return 0;
}
