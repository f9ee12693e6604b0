/**
 * `rnnstream bench pipeline`: the embedded pipeline end to end — decode, tokenize, micro-batch, memory
 * state load/store, step, head, sink, acks — over generated keyed messages, micro-batched (the default
 * options) or one message at a time (`maxBatchRows` 1, `maxDelayMs` 0, batches in flight unbounded).
 * No network I/O: this is the ceiling the Kafka/Redis deployment approaches.
 */
import { pino } from 'pino';
import { BACKEND_NAMES, type BackendName, selectBackend } from '../model/backend.js';
import { type RunOptions, runPipeline } from '../pipeline/run.js';
import { MemoryStateStore } from '../pipeline/state/memoryStore.js';
import { type BenchModelShape, loadBenchModel, type RandomModelSize } from './benchModel.js';
import { choiceFlag, type Flags, numberFlag, printResult } from './flags.js';
import { CountingDeadLetters, CountingSink, GeneratedSource } from './memorySource.js';

/** How messages are grouped into steps. */
export type PipelineBenchMode = 'batched' | 'single';

/** Options of {@link runPipelineBench}. */
export interface PipelineBenchOptions {
  /** Active keys (messages go round robin over them). @default 1000 */
  keys?: number;
  /** Messages in all. @default 20000 */
  messages?: number;
  /** @default 'batched' */
  mode?: PipelineBenchMode;
  /** Words per message. @default 20 */
  tokensPerMessage?: number;
  /** @default 'auto' */
  backend?: BackendName;
  /** `auto` (shipped model if present, else random), `random`, or a package folder. @default 'auto' */
  model?: string;
  /** Size of the random model. @default DEFAULT_RANDOM_MODEL_SIZE */
  randomModel?: RandomModelSize;
  /** Source in-flight budget (as `--max-in-flight`). @default 10000 */
  maxInFlight?: number;
  /** Engine worker threads, as `run --engine-workers`. @default 1 */
  engineWorkers?: number;
}

/** Defaults of {@link PipelineBenchOptions}. */
export const DEFAULT_PIPELINE_BENCH_OPTIONS: Required<Omit<PipelineBenchOptions, 'randomModel'>> = {
  keys: 1000,
  messages: 20000,
  mode: 'batched',
  tokensPerMessage: 20,
  backend: 'auto',
  model: 'auto',
  maxInFlight: 10_000,
  engineWorkers: 1,
};

/**
 * The run options of each mode: `single` is the unbatched baseline the batching goal compares with — one
 * message per step. (With a bound on batches in flight, a one-row batch waiting for room would take its
 * key's next messages into its row; unbounded, each message is its own batch, as before that bound.)
 */
export const PIPELINE_MODES: Readonly<Record<PipelineBenchMode, Partial<RunOptions>>> = {
  batched: {},
  single: { maxBatchRows: 1, maxDelayMs: 0, maxBatchesInFlight: Number.POSITIVE_INFINITY },
};

/** What {@link runPipelineBench} measured. */
export interface PipelineBenchResult {
  bench: 'pipeline';
  mode: PipelineBenchMode;
  tokens_per_s: number;
  messages_per_s: number;
  keys: number;
  messages: number;
  tokens: number;
  seconds: number;
  batches: number;
  rows_per_batch: number;
  tokens_per_batch: number;
  outputs: number;
  dead_letters: number;
  backend: string;
  model: string;
  /** The model's shape, for timing the kernel alone at this run's batch. */
  shape: BenchModelShape;
}

/**
 * Runs the embedded pipeline over generated messages and measures its throughput.
 * @example const { tokens_per_s } = await runPipelineBench({ keys: 1000, messages: 20000, mode: 'batched' });
 */
export async function runPipelineBench(options: PipelineBenchOptions = {}): Promise<PipelineBenchResult> {
  const o = { ...DEFAULT_PIPELINE_BENCH_OPTIONS, ...options };
  const { backend } = await selectBackend(o.backend);
  const { model, schema, shape, description } = await loadBenchModel(o.model, o.randomModel, o.engineWorkers);
  const store = new MemoryStateStore(schema, { maxKeys: Math.max(o.keys, 100_000) });
  try {
    // Warm-up outside the timed run: the first step allocates backend buffers.
    const warmTokens = model.tokenize('the movie was good');
    await model.engine.step(Array.from({ length: 8 }, () => ({ tokens: warmTokens })));
    const source = new GeneratedSource({
      keys: o.keys,
      messages: o.messages,
      tokensPerMessage: o.tokensPerMessage,
      maxInFlight: o.maxInFlight,
    });
    const sink = new CountingSink();
    const deadLetters = new CountingDeadLetters();
    const log = pino({ level: 'silent' });
    const run = runPipeline({ source, sink, deadLetters, store, model, log }, PIPELINE_MODES[o.mode]);
    const stats = await run.done;
    if (sink.records + deadLetters.count !== o.messages) {
      throw new Error(
        `pipeline bench: ${o.messages} messages in, ${sink.records} outputs and ${deadLetters.count} dead letters out`,
      );
    }
    return {
      bench: 'pipeline',
      mode: o.mode,
      tokens_per_s: stats.tokens / stats.seconds,
      messages_per_s: stats.messagesIn / stats.seconds,
      keys: o.keys,
      messages: o.messages,
      tokens: stats.tokens,
      seconds: stats.seconds,
      batches: stats.batches,
      rows_per_batch: stats.rows / Math.max(stats.batches, 1),
      tokens_per_batch: stats.tokens / Math.max(stats.batches, 1),
      outputs: sink.records,
      dead_letters: deadLetters.count,
      backend,
      model: description,
      shape,
    };
  } finally {
    model.engine.dispose();
    await store.close();
  }
}

/**
 * CLI entry of `rnnstream bench pipeline --keys K --messages M --mode batched|single
 * [--tokens-per-message N] [--backend NAME] [--model auto|random|DIR] [--json]`. Resolves to the exit code.
 */
export async function benchPipelineCommand(flags: Flags): Promise<number> {
  const d = DEFAULT_PIPELINE_BENCH_OPTIONS;
  const result = await runPipelineBench({
    keys: numberFlag(flags, 'keys', d.keys),
    messages: numberFlag(flags, 'messages', d.messages),
    mode: choiceFlag(flags, 'mode', ['batched', 'single'] as const, d.mode),
    tokensPerMessage: numberFlag(flags, 'tokensPerMessage', d.tokensPerMessage),
    backend: choiceFlag(flags, 'backend', BACKEND_NAMES, d.backend),
    model: typeof flags.model === 'string' ? flags.model : d.model,
    maxInFlight: numberFlag(flags, 'maxInFlight', d.maxInFlight),
    engineWorkers: numberFlag(flags, 'engineWorkers', d.engineWorkers),
  });
  printResult(result, flags.json === true);
  return 0;
}
