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
  max_ms: number;
  rows_per_batch: number;
  max_delay_ms: number;
}

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
  const max = lines.filter((l): l is MaxLine => l.bench === 'e2e' && l.part === 'max');
  const latency = lines.filter((l): l is LatencyLine => l.bench === 'e2e' && l.part === 'latency');
  const kernel = lines.filter((l): l is KernelAtLine => l.bench === 'kernel');
  const naive = lines.filter((l): l is NaiveLine => l.bench === 'naive').at(-1);
  const ceiling = lines.filter((l): l is CeilingLine => l.bench === 'kafka-ceiling').at(-1);
  const memory = lines.filter((l): l is MemoryLine => l.bench === 'e2e' && l.part === 'memory').at(-1);
  const kernelOf = (mode: string) => kernel.filter((k) => k.context === `e2e ${mode}`).at(-1);
  return { max, latency, naive, ceiling, memory, kernelOf };
}

/**
 * The end-to-end goals per mode (at-least-once, exactly-once), then memory with Redis state.
 * @example const goals = e2eGoals(readLines('bench/results/e2e.jsonl'));
 */
export function e2eGoals(lines: readonly E2eLine[]): E2eGoal[] {
  const { max, latency, naive, memory, kernelOf } = parts(lines);
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
    const speedup = naive ? m.tokens_per_s / naive.tokens_per_s : undefined;
    goals.push({
      goal: `End to end (${m.mode}) ≥ 10× the naive baseline`,
      measured: speedup === undefined ? 'naive not measured' : `${fmt(speedup, 1)}×`,
      met: speedup === undefined ? undefined : speedup >= 10,
    });
    const half = latency.find((l) => l.mode === m.mode && l.fraction === 0.5);
    goals.push({
      goal: `End to end (${m.mode}) p99 latency ≤ max-delay + 100 ms at 50% of the maximum rate`,
      measured: half ? `p99 ${fmt(half.p99_ms)} ms (bound ${half.max_delay_ms + 100} ms)` : 'not measured',
      met: half ? half.p99_ms <= half.max_delay_ms + 100 : undefined,
    });
  }
  goals.push(memoryGoal);
  return goals;
}

/** The "(c) End to end" section of BENCHMARKS.md. */
export function renderE2e(lines: readonly E2eLine[]): string[] {
  const { max, latency, naive, ceiling, memory, kernelOf } = parts(lines);
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
  if (naive) {
    out.push(
      `| naive baseline (eachMessage, Redis GET/SET per message, a step of one) | ${fmt(naive.messages_per_s)} | ${fmt(naive.tokens_per_s)} | 1 | ${fmt(naive.tokens_per_s / naive.messages_per_s)} |`,
    );
  }
  out.push('');
  if (latency.length > 0) {
    out.push(
      '| mode | fraction of max | target msg/s | achieved msg/s | p50 ms | p99 ms | max ms | rows/batch | bound (max-delay + 100 ms) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...latency.map(
        (l) =>
          `| ${l.mode} | ${fmt(100 * l.fraction)}% | ${fmt(l.target_messages_per_s)} | ${fmt(l.achieved_messages_per_s)} | ${fmt(l.p50_ms)} | ${fmt(l.p99_ms)} | ${fmt(l.max_ms)} | ${fmt(l.rows_per_batch, 1)} | ${l.max_delay_ms + 100} |`,
      ),
      '',
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
