/**
 * The `rnnstream run` under test in the end-to-end benchmark: started as users start it (Kafka in, Redis
 * state, Kafka out, metrics on), watched through its own `/metrics` (batches, per-stage times, resident
 * memory sampled for its peak) and stopped with SIGTERM (a graceful drain that must exit 0).
 */
import { histogramTotals, metricValue, RNNSTREAM, start, terminate } from './e2eProcesses.js';
import { round } from './format.js';

/** What the run's `/metrics` say so far: batches, rows, tokens, time per stage and resident memory. */
export interface RunTotals {
  batches: number;
  rows: number;
  tokens: number;
  /** Seconds summed over batches, per stage. */
  stageSeconds: { load: number; step: number; write: number; sink: number };
  stageCalls: { load: number; step: number; write: number; sink: number };
  /** Per-message stage times (`rnnstream_message_stage_seconds`): seconds summed and messages, per stage. */
  messageStages: Record<MessageStage, { sum: number; count: number }>;
  /** Arrival at the worker → output durable (`rnnstream_worker_latency_seconds`). */
  worker: { sum: number; count: number };
  /** Batches predicted to miss the latency goal (`rnnstream_latency_overload_batches_total`). */
  overloadBatches: number;
  /** Resident set size now, bytes (all threads). */
  rssBytes: number;
  /** The main thread's V8 heap in use and memory held outside it (buffers), bytes. */
  heapBytes: number;
  externalBytes: number;
}

const STAGES = ['load', 'step', 'write', 'sink'] as const;

/** The per-message stages of `rnnstream_message_stage_seconds`, in pipeline order. */
export const MESSAGE_STAGES = [
  'fetch',
  'key_gate',
  'batch',
  'load',
  'step',
  'store',
  'sink',
  'transaction',
  'commit',
] as const;
export type MessageStage = (typeof MESSAGE_STAGES)[number];

/**
 * Reads the run's counters out of its `/metrics` text.
 * @example const totals = runTotalsOf(await (await fetch(url)).text());
 */
export function runTotalsOf(metrics: string): RunTotals {
  const rows = histogramTotals(metrics, 'rnnstream_batch_rows');
  const tokens = histogramTotals(metrics, 'rnnstream_batch_tokens');
  const stage = {
    load: histogramTotals(metrics, 'rnnstream_state_seconds', 'op="load"'),
    write: histogramTotals(metrics, 'rnnstream_state_seconds', 'op="write"'),
    step: histogramTotals(metrics, 'rnnstream_step_seconds'),
    sink: histogramTotals(metrics, 'rnnstream_sink_seconds'),
  };
  return {
    batches: rows.count,
    rows: rows.sum,
    tokens: tokens.sum,
    stageSeconds: {
      load: stage.load.sum,
      step: stage.step.sum,
      write: stage.write.sum,
      sink: stage.sink.sum,
    },
    stageCalls: {
      load: stage.load.count,
      step: stage.step.count,
      write: stage.write.count,
      sink: stage.sink.count,
    },
    messageStages: Object.fromEntries(
      MESSAGE_STAGES.map((s) => [
        s,
        histogramTotals(metrics, 'rnnstream_message_stage_seconds', `stage="${s}"`),
      ]),
    ) as RunTotals['messageStages'],
    worker: histogramTotals(metrics, 'rnnstream_worker_latency_seconds'),
    overloadBatches: metricValue(metrics, 'rnnstream_latency_overload_batches_total'),
    rssBytes: metricValue(metrics, 'rnnstream_process_resident_memory_bytes'),
    heapBytes: metricValue(metrics, 'rnnstream_nodejs_heap_size_used_bytes'),
    externalBytes: metricValue(metrics, 'rnnstream_nodejs_external_memory_bytes'),
  };
}

/**
 * Mean milliseconds per call of each stage between two readings (from the start when `before` is absent).
 * @example stageMs(before, after) // { load_ms: 1.6, step_ms: 25.4, write_ms: 5.9, sink_ms: 9.3 }
 */
export function stageMs(before: RunTotals | undefined, after: RunTotals): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of STAGES) {
    const calls = after.stageCalls[s] - (before?.stageCalls[s] ?? 0);
    const seconds = after.stageSeconds[s] - (before?.stageSeconds[s] ?? 0);
    out[`${s}_ms`] = calls > 0 ? round((1000 * seconds) / calls) : 0;
  }
  return out;
}

/**
 * Where the messages between two readings spent their time: mean milliseconds per message of each stage
 * (`stage_fetch_ms`, …; stages no message went through are left out), the mean arrival → durable time and
 * the batches predicted to miss the latency goal.
 * @example messageStageMs(before, after) // { stage_fetch_ms: 3.1, stage_batch_ms: 4.2, …, worker_mean_ms: 61 }
 */
export function messageStageMs(before: RunTotals, after: RunTotals): Record<string, number> {
  const out: Record<string, number> = {};
  const mean = (a: { sum: number; count: number }, b: { sum: number; count: number }) =>
    b.count > a.count ? round((1000 * (b.sum - a.sum)) / (b.count - a.count)) : undefined;
  for (const s of MESSAGE_STAGES) {
    const ms = mean(before.messageStages[s], after.messageStages[s]);
    if (ms !== undefined) out[`stage_${s}_ms`] = ms;
  }
  const worker = mean(before.worker, after.worker);
  if (worker !== undefined) out.worker_mean_ms = worker;
  out.overload_batches = after.overloadBatches - before.overloadBatches;
  return out;
}

/** A started `rnnstream run` and its metrics endpoint. */
export class RunUnderTest {
  /** Highest resident set size seen by the sampler, bytes. */
  peakRssBytes = 0;
  private readonly process: ReturnType<typeof start>;
  private readonly sampler: NodeJS.Timeout;

  /** Starts `rnnstream run ARGS --metrics-port PORT --log-level warn` (stderr echoed). */
  constructor(
    args: readonly string[],
    private readonly port: number,
  ) {
    this.process = start(
      [...RNNSTREAM, 'run', ...args, '--metrics-port', String(port), '--log-level', 'warn'],
      true,
    );
    // Resident memory peaks between readings: sample it twice a second.
    this.sampler = setInterval(() => {
      this.scrape().catch(() => {});
    }, 500);
  }

  /** Throws when the run has exited (so a wait on its outputs fails at once). */
  alive(): true {
    const code = this.process.child.exitCode;
    if (code !== null) throw new Error(`rnnstream run exited early (${code})`);
    return true;
  }

  /** Its counters now (and the peak memory updated). */
  async scrape(): Promise<RunTotals> {
    const totals = runTotalsOf(await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text());
    this.peakRssBytes = Math.max(this.peakRssBytes, totals.rssBytes);
    return totals;
  }

  /** SIGTERM and wait: the exit code of the graceful drain. */
  async stop(): Promise<number | null> {
    clearInterval(this.sampler);
    return terminate(this.process.child, this.process.done);
  }
}
