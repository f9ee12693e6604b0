/**
 * The end-to-end part of BENCHMARKS.md (bench/e2e.ts's lines in `e2e.jsonl`): goals, the rate table beside
 * Kafka's ceiling, the kernel at the same batch and the naive baseline, and latency at fractions of the
 * maximum rate.
 */

import { fmt } from './format.js';

/** Kafka's raw rate on the same broker (bench/kafkaCeiling.ts). */
export interface CeilingLine {
  bench: 'kafka-ceiling';
  messages: number;
  value_bytes: number;
  produce_messages_per_s: number;
  consume_messages_per_s: number;
}

/** The pipeline draining a pre-filled topic. */
export interface MaxLine {
  bench: 'e2e';
  part: 'max';
  mode: string;
  keys: number;
  messages: number;
  tokens: number;
  messages_per_s: number;
  tokens_per_s: number;
  tokens_per_message: number;
  rows_per_batch: number;
  tokens_per_batch: number;
  /** Set on a maximum measured on another backend than the run's default (`--compare-backends`). */
  backend?: string;
}

/** Latency with the feed at a fraction of the maximum rate. */
export interface LatencyLine {
  bench: 'e2e';
  part: 'latency';
  mode: string;
  fraction: number;
  target_messages_per_s: number;
  achieved_messages_per_s: number;
  messages: number;
  p50_ms: number;
  p99_ms: number;
  p99_9_ms?: number;
  max_ms: number;
  rows_per_batch: number;
  max_delay_ms: number;
  /** The run's `--target-latency-ms` (0 = none). */
  target_latency_ms?: number;
  /** The feed's send interval. */
  feed_tick_ms?: number;
  /** Mean arrival → durable per message. */
  worker_mean_ms?: number;
  /** Batches predicted to miss the goal in this phase. */
  overload_batches?: number;
  /** Mean ms per message of each stage: `stage_fetch_ms`, `stage_batch_ms`, … (bench/e2eRun.ts). */
  [stage: `stage_${string}_ms`]: number | undefined;
}

/** Latency goals of issue 15: p99 bound per mode at a fraction of the maximum rate. */
export const LATENCY_GOALS: readonly { mode: string; fraction: number; p99Ms: number }[] = [
  { mode: 'at-least-once', fraction: 0.5, p99Ms: 50 },
  { mode: 'at-least-once', fraction: 0.9, p99Ms: 250 },
  { mode: 'exactly-once', fraction: 0.5, p99Ms: 150 },
];

/** The stage columns of the breakdown table, in pipeline order. */
const STAGE_COLUMNS: readonly [string, string][] = [
  ['fetch', 'fetch'],
  ['key_gate', 'key gate'],
  ['batch', 'batch wait'],
  ['load', 'load'],
  ['step', 'step'],
  ['store', 'store'],
  ['sink', 'sink'],
  ['transaction', 'transaction'],
  ['commit', 'commit (after)'],
];

/** The kernel alone at the pipeline's batch (bench/kernel.ts with `context: "e2e MODE"`). */
export interface KernelAtLine {
  bench: 'kernel';
  impl: string;
  context: string;
  tokens_per_s: number;
  batch: number;
  steps: number;
}

/** Resident memory of a run holding many keys with Redis state. */
export interface MemoryLine {
  bench: 'e2e';
  part: 'memory';
  state: string;
  keys: number;
  rss_mb: number;
  peak_rss_mb: number;
}

/** The naive baseline (bench/naive.ts). */
export interface NaiveLine {
  bench: 'naive';
  messages: number;
  messages_per_s: number;
  tokens_per_s: number;
}

export type E2eLine = CeilingLine | MaxLine | LatencyLine | KernelAtLine | NaiveLine | MemoryLine;

/** A goal row, as report.ts renders it. */
export interface E2eGoal {
  goal: string;
  measured: string;
  met?: boolean;
}

function parts(lines: readonly E2eLine[]) {
  const all = lines.filter((l): l is MaxLine => l.bench === 'e2e' && l.part === 'max');
  const max = all.filter((l) => !l.backend);
  const maxOn = (mode: string, backend: string) =>
    all.filter((l) => l.mode === mode && l.backend === backend).at(-1);
  const latency = lines.filter((l): l is LatencyLine => l.bench === 'e2e' && l.part === 'latency');
  const kernel = lines.filter((l): l is KernelAtLine => l.bench === 'kernel');
  const naive = lines.filter((l): l is NaiveLine => l.bench === 'naive').at(-1);
  const ceiling = lines.filter((l): l is CeilingLine => l.bench === 'kafka-ceiling').at(-1);
  const memory = lines.filter((l): l is MemoryLine => l.bench === 'e2e' && l.part === 'memory').at(-1);
  const kernelOf = (mode: string) => kernel.filter((k) => k.context === `e2e ${mode}`).at(-1);
  return { max, maxOn, others: all.filter((l) => l.backend), latency, naive, ceiling, memory, kernelOf };
}

/**
 * The end-to-end goals per mode (at-least-once, exactly-once), then memory with Redis state.
 * @example const goals = e2eGoals(readLines('bench/results/e2e.jsonl'));
 */
export function e2eGoals(lines: readonly E2eLine[]): E2eGoal[] {
  const { max, maxOn, latency, naive, memory, kernelOf } = parts(lines);
  const memoryGoal: E2eGoal = {
    goal: 'Memory: RSS ≤ 500 MB with 100 000 active keys (Redis state, through Kafka)',
    measured: memory
      ? `${fmt(memory.peak_rss_mb)} MB peak, ${fmt(memory.rss_mb)} MB at the end (${fmt(memory.keys)} keys)`
      : 'not measured',
    met: memory && memory.keys >= 100_000 ? memory.peak_rss_mb <= 500 : undefined,
  };
  if (max.length === 0) {
    return [
      {
        goal: 'End to end (Kafka + Redis) ≥ 50% of the kernel, ≥ 10× naive, p99 ≤ max-delay + 100 ms',
        measured: 'not measured in this run (bench/e2e.ts needs Kafka and Redis)',
      },
      memoryGoal,
    ];
  }
  const goals: E2eGoal[] = [];
  for (const m of max) {
    const kernel = kernelOf(m.mode);
    const share = kernel ? m.tokens_per_s / kernel.tokens_per_s : undefined;
    goals.push({
      goal: `End to end (${m.mode}) ≥ 50% of the kernel's tokens/s at the same batch`,
      measured:
        share === undefined
          ? 'kernel not measured'
          : `${fmt(100 * share)}% (${fmt(m.tokens_per_s)} vs ${fmt(kernel?.tokens_per_s)} tokens/s at batch ${kernel?.batch})`,
      met: share === undefined ? undefined : share >= 0.5,
    });
    const wasm = maxOn(m.mode, 'wasm');
    const overWasm = wasm ? m.messages_per_s / wasm.messages_per_s : undefined;
    goals.push({
      goal: `End to end (${m.mode}) ≥ 2× the messages/s of the wasm engine in the same run`,
      measured:
        overWasm === undefined
          ? 'wasm not measured'
          : `${fmt(overWasm, 2)}× (${fmt(m.messages_per_s)} vs ${fmt(wasm?.messages_per_s)} messages/s)`,
      met: overWasm === undefined ? undefined : overWasm >= 2,
    });
    const speedup = naive ? m.tokens_per_s / naive.tokens_per_s : undefined;
    goals.push({
      goal: `End to end (${m.mode}) ≥ 10× the naive baseline`,
      measured: speedup === undefined ? 'naive not measured' : `${fmt(speedup, 1)}×`,
      met: speedup === undefined ? undefined : speedup >= 10,
    });
    for (const g of LATENCY_GOALS.filter((goal) => goal.mode === m.mode)) {
      const at = latency.filter((l) => l.mode === m.mode && l.fraction === g.fraction).at(-1);
      goals.push({
        goal: `End to end (${m.mode}) p99 latency ≤ ${g.p99Ms} ms at ${fmt(100 * g.fraction)}% of the maximum rate`,
        measured: at ? `p99 ${fmt(at.p99_ms)} ms (p50 ${fmt(at.p50_ms)} ms)` : 'not measured',
        met: at ? at.p99_ms <= g.p99Ms : undefined,
      });
    }
  }
  goals.push(memoryGoal);
  return goals;
}

/** The "(c) End to end" section of BENCHMARKS.md. */
export function renderE2e(lines: readonly E2eLine[]): string[] {
  const { max, others, latency, naive, ceiling, memory, kernelOf } = parts(lines);
  const out = ['## (c) End to end through Kafka and Redis', ''];
  if (max.length === 0 && !naive && !ceiling && !memory) {
    return [...out, 'Not measured in this run: `make bench-e2e` (bench/e2e.ts) needs Kafka and Redis.', ''];
  }
  const first = max[0];
  out.push(
    `\`rnnstream run\` (Kafka in, Redis state, Kafka out, the shipped model, its default batching) fed by \`rnnstream feed\` over ${fmt(first?.keys)} keys, ~${fmt(first?.tokens_per_message)} tokens per message; measured from outside by a consumer of both topics. Maximum rate: a pre-filled topic drained; latency: from the input's producer timestamp to the output reaching a read-committed consumer. Every process shares the machine's cores with the broker and Redis.`,
    '',
    '| what | messages/s | tokens/s | rows/batch | tokens/batch |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  if (ceiling) {
    out.push(
      `| Kafka raw produce (${ceiling.value_bytes}-byte values, the I/O ceiling) | ${fmt(ceiling.produce_messages_per_s)} | – | – | – |`,
      `| Kafka raw consume | ${fmt(ceiling.consume_messages_per_s)} | – | – | – |`,
    );
  }
  for (const m of max) {
    out.push(
      `| rnnstream run, ${m.mode}, maximum | ${fmt(m.messages_per_s)} | ${fmt(m.tokens_per_s)} | ${fmt(m.rows_per_batch, 1)} | ${fmt(m.tokens_per_batch)} |`,
    );
    const kernel = kernelOf(m.mode);
    if (kernel) {
      out.push(
        `| kernel alone at that batch (${kernel.impl}, batch ${kernel.batch} × ${kernel.steps} steps) | – | ${fmt(kernel.tokens_per_s)} | ${kernel.batch} | ${fmt(kernel.batch * kernel.steps)} |`,
      );
    }
  }
  for (const m of others) {
    out.push(
      `| rnnstream run, ${m.mode}, maximum, --backend ${m.backend} | ${fmt(m.messages_per_s)} | ${fmt(m.tokens_per_s)} | ${fmt(m.rows_per_batch, 1)} | ${fmt(m.tokens_per_batch)} |`,
    );
  }
  if (naive) {
    out.push(
      `| naive baseline (eachMessage, Redis GET/SET per message, a step of one) | ${fmt(naive.messages_per_s)} | ${fmt(naive.tokens_per_s)} | 1 | ${fmt(naive.tokens_per_s / naive.messages_per_s)} |`,
    );
  }
  out.push('');
  if (latency.length > 0) {
    out.push(
      '| mode | fraction of max | target msg/s | achieved msg/s | p50 ms | p99 ms | p99.9 ms | max ms | rows/batch | goal (--target-latency-ms) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...latency.map(
        (l) =>
          `| ${l.mode} | ${fmt(100 * l.fraction)}% | ${fmt(l.target_messages_per_s)} | ${fmt(l.achieved_messages_per_s)} | ${fmt(l.p50_ms)} | ${fmt(l.p99_ms)} | ${l.p99_9_ms === undefined ? '–' : fmt(l.p99_9_ms)} | ${fmt(l.max_ms)} | ${fmt(l.rows_per_batch, 1)} | ${l.target_latency_ms ? fmt(l.target_latency_ms) : 'none'} |`,
      ),
      '',
      ...stageBreakdown(latency),
    );
  }
  if (memory) {
    out.push(
      `Memory: \`rnnstream run\` with ${memory.state} state after ${fmt(memory.keys)} keys (one message each) went through it: ${fmt(memory.rss_mb)} MB resident at the end, ${fmt(memory.peak_rss_mb)} MB at the peak (sampled twice a second from its own metrics).`,
      '',
    );
  }
  return out;
}

/**
 * Where the latency goes at each load: mean milliseconds per message of each stage, from the run's
 * `rnnstream_message_stage_seconds` (stages no message went through show –).
 */
function stageBreakdown(latency: readonly LatencyLine[]): string[] {
  const measured = latency.filter((l) => l.worker_mean_ms !== undefined);
  if (measured.length === 0) return [];
  const cell = (l: LatencyLine, stage: string) => {
    const ms = l[`stage_${stage}_ms`];
    return ms === undefined ? '–' : fmt(ms, 1);
  };
  return [
    "Where the time goes (mean ms per message, from the run's own `rnnstream_message_stage_seconds`; the feed sends every " +
      `${measured[0].feed_tick_ms ?? 100} ms). Stages up to \`sink\`/\`transaction\` add up to the mean latency from the Kafka timestamp to the output durable; the commit follows it, off the latency path.`,
    '',
    `| mode | of max | ${STAGE_COLUMNS.map(([, name]) => name).join(' | ')} | arrival → durable | overloaded batches |`,
    `| --- | ---: | ${STAGE_COLUMNS.map(() => '---:').join(' | ')} | ---: | ---: |`,
    ...measured.map(
      (l) =>
        `| ${l.mode} | ${fmt(100 * l.fraction)}% | ${STAGE_COLUMNS.map(([stage]) => cell(l, stage)).join(' | ')} | ${fmt(l.worker_mean_ms, 1)} | ${fmt(l.overload_batches ?? 0)} |`,
    ),
    '',
  ];
}
