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
  /** Resident set size now, bytes (all threads). */
  rssBytes: number;
  /** The main thread's V8 heap in use and memory held outside it (buffers), bytes. */
  heapBytes: number;
  externalBytes: number;
}

const STAGES = ['load', 'step', 'write', 'sink'] as const;

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
