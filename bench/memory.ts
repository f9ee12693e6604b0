/**
 * `rnnstream bench memory`: the process's resident memory with many active keys in the embedded (memory)
 * state store, the model loaded. Keys are filled either through the whole pipeline (one short message
 * per key: what a deployment would hold) or straight into the store (fast; the same records).
 */
import { pino } from 'pino';
import type { RnnState, StateWrite } from '../core/contracts.js';
import { BACKEND_NAMES, type BackendName, selectBackend } from '../model/backend.js';
import { runPipeline } from '../pipeline/run.js';
import { MemoryStateStore } from '../pipeline/state/memoryStore.js';
import { loadBenchModel, type RandomModelSize } from './benchModel.js';
import { choiceFlag, type Flags, numberFlag, printResult } from './flags.js';
import { CountingDeadLetters, CountingSink, GeneratedSource } from './memorySource.js';
import { seededRandom } from './random.js';

/** Options of {@link runMemoryBench}. */
export interface MemoryBenchOptions {
  /** Active keys to hold. @default 100000 */
  keys?: number;
  /** `pipeline`: one message per key through the pipeline; `store`: writes straight into the store. @default 'store' */
  via?: 'pipeline' | 'store';
  /** Words per message (`via: 'pipeline'`). @default 4 */
  tokensPerMessage?: number;
  /** @default 'auto' */
  backend?: BackendName;
  /** `auto`, `random` or a package folder, as the pipeline bench. @default 'auto' */
  model?: string;
  randomModel?: RandomModelSize;
}

/** Defaults of {@link MemoryBenchOptions}. */
export const DEFAULT_MEMORY_BENCH_OPTIONS: Required<Omit<MemoryBenchOptions, 'randomModel'>> = {
  keys: 100_000,
  via: 'store',
  tokensPerMessage: 4,
  backend: 'auto',
  model: 'auto',
};

/** What {@link runMemoryBench} measured (sizes in MB = 10⁶ bytes). */
export interface MemoryBenchResult {
  bench: 'memory';
  via: 'pipeline' | 'store';
  keys: number;
  /** Keys the store holds at the end (less than `keys` if its cap evicted some). */
  held: number;
  /** RSS with the model loaded, before any key. */
  rss_before_mb: number;
  /** RSS with every key held (after a GC when `--expose-gc` is on). */
  rss_mb: number;
  /** Highest RSS of the process. */
  peak_rss_mb: number;
  heap_used_mb: number;
  array_buffers_mb: number;
  /** (rss − rss_before) / keys. */
  bytes_per_key: number;
  /** The goal: RSS ≤ 500 MB with 100 000 active keys. */
  goal_mb: number;
  backend: string;
  model: string;
}

const MB = 1e6;

/** Collects garbage when the process was started with `--expose-gc`, so RSS shows live memory. */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Fills the memory store with `keys` active sequences and reports the process's memory.
 * @example const { rss_mb } = await runMemoryBench({ keys: 100000 });
 */
export async function runMemoryBench(options: MemoryBenchOptions = {}): Promise<MemoryBenchResult> {
  const o = { ...DEFAULT_MEMORY_BENCH_OPTIONS, ...options };
  const { backend } = await selectBackend(o.backend);
  const { model, schema, description } = await loadBenchModel(o.model, o.randomModel);
  // The store's cap is the default (100 000 keys): what a deployment with default settings holds.
  const store = new MemoryStateStore(schema);
  try {
    await model.engine.step([{ tokens: model.tokenize('the movie was good') }]);
    collect();
    const before = process.memoryUsage().rss;
    if (o.via === 'pipeline') {
      const source = new GeneratedSource({
        keys: o.keys,
        messages: o.keys,
        tokensPerMessage: o.tokensPerMessage,
      });
      const run = runPipeline({
        source,
        sink: new CountingSink(),
        deadLetters: new CountingDeadLetters(),
        store,
        model,
        log: pino({ level: 'silent' }),
      });
      await run.done;
    } else {
      await fillStore(store, o.keys, schema.layers * schema.hidden, schema.cell === 'lstm');
    }
    collect();
    const usage = process.memoryUsage();
    return {
      bench: 'memory',
      via: o.via,
      keys: o.keys,
      held: store.size,
      rss_before_mb: before / MB,
      rss_mb: usage.rss / MB,
      peak_rss_mb: (process.resourceUsage().maxRSS * 1024) / MB,
      heap_used_mb: usage.heapUsed / MB,
      array_buffers_mb: usage.arrayBuffers / MB,
      bytes_per_key: (usage.rss - before) / o.keys,
      goal_mb: 500,
      backend,
      model: description,
    };
  } finally {
    model.engine.dispose();
    await store.close();
  }
}

/** Writes `keys` random states (tanh-range values) in chunks, as the pipeline's store stage does. */
async function fillStore(
  store: MemoryStateStore,
  keys: number,
  values: number,
  lstm: boolean,
): Promise<void> {
  const next = seededRandom(3);
  const random = () => Float32Array.from({ length: values }, () => 2 * next() - 1);
  for (let begin = 0; begin < keys; begin += 1000) {
    const writes: StateWrite[] = [];
    for (let k = begin; k < Math.min(begin + 1000, keys); k++) {
      const state: RnnState = lstm ? { h: random(), c: random() } : { h: random() };
      const fence = { partition: k % 4, offset: String(k) };
      writes.push({
        key: `key-${k}`,
        fence,
        stored: { state, fence, totalTokens: 20, updatedAt: Date.now() },
      });
    }
    await store.write(writes);
  }
}

/**
 * CLI entry of `rnnstream bench memory [--keys N] [--via store|pipeline] [--tokens-per-message N]
 * [--backend NAME] [--model auto|random|DIR] [--json]`. Run node with `--expose-gc` for steadier figures.
 */
export async function benchMemoryCommand(flags: Flags): Promise<number> {
  const d = DEFAULT_MEMORY_BENCH_OPTIONS;
  const result = await runMemoryBench({
    keys: numberFlag(flags, 'keys', d.keys),
    via: choiceFlag(flags, 'via', ['pipeline', 'store'] as const, d.via),
    tokensPerMessage: numberFlag(flags, 'tokensPerMessage', d.tokensPerMessage),
    backend: choiceFlag(flags, 'backend', BACKEND_NAMES, d.backend),
    model: typeof flags.model === 'string' ? flags.model : d.model,
  });
  printResult(result, flags.json === true);
  return 0;
}
