/**
 * Where each message's latency goes: the pipeline marks when a record arrives, when its batch is emitted,
 * loaded, stepped and stored, and when its output is written and its offset committed; each written
 * output then observes, per message, the time it spent in every stage (`rnnstream_message_stage_seconds`)
 * and its end-to-end latency from the source timestamp (`rnnstream_message_latency_seconds`) and from its
 * arrival at this worker (`rnnstream_worker_latency_seconds`).
 *
 * Stages: `fetch` (source timestamp → arrival here: producer, broker and fetch), `key_gate` (held back
 * because its key was in an in-flight batch, or no room), `batch` (the rest of the wait for its batch to be
 * emitted), `load`, `step`, `store` (each including its wait for the stage ahead), `sink` (at-least-once:
 * the output write) or `transaction` (exactly-once: outputs and offsets committed together, including the
 * wait for earlier offsets), and `commit` (at-least-once: output written → offset committed).
 */

import type { Batch, SinkRecord, SourcePosition, SourceRecord, TokenizedMessage } from '../core/contracts.js';
import type { LatencyGoalMiss } from '../operators/latencyGoal.js';
import type { Sink } from './connectors.js';
import type { Logger } from './logger.js';
import type { PipelineMetrics } from './metrics.js';

/** Epoch milliseconds with sub-millisecond resolution. */
const epochNow = () => performance.timeOrigin + performance.now();

/** Marks of one batch, epoch ms. */
interface BatchMarks {
  emitted: number;
  loaded?: number;
  stepped?: number;
  stored?: number;
}

/** Marks of one message, epoch ms. */
interface MessageMarks {
  /** Source timestamp, when the source gave one. */
  timestamp?: number;
  arrived: number;
  heldMs: number;
  batch?: BatchMarks;
  written?: number;
}

/** Messages tracked at most: records that never reach an output nor a commit (a revoked partition) age out. */
const MAX_TRACKED = 200_000;

const positionId = (p: SourcePosition) => `${p.partition}:${p.offset}:${p.topic}`;

/**
 * Per-message stage timings of one pipeline (see the file's comment).
 *
 * @example
 * const timings = new MessageTimings(metrics, sink.commitsOffsets === true);
 * records$.pipe(tap((r) => timings.arrived(r)), …);
 */
export class MessageTimings {
  readonly #messages = new Map<string, MessageMarks>();
  readonly #batches = new Map<number, BatchMarks>();
  readonly #sinkStage: 'sink' | 'transaction';

  constructor(
    private readonly metrics: PipelineMetrics,
    transactional: boolean,
    private readonly now: () => number = epochNow,
  ) {
    this.#sinkStage = transactional ? 'transaction' : 'sink';
  }

  /** A record arrived from the source. */
  arrived(record: SourceRecord): void {
    if (this.#messages.size >= MAX_TRACKED) {
      const oldest = this.#messages.keys().next();
      if (!oldest.done) this.#messages.delete(oldest.value);
    }
    this.#messages.set(positionId(record.source), {
      timestamp: record.timestamp,
      arrived: this.now(),
      heldMs: 0,
    });
  }

  /** A message was held back `ms` before entering a batch (key gate or no room). */
  held(message: TokenizedMessage, ms: number): void {
    const marks = this.#messages.get(positionId(message.record.source));
    if (marks) marks.heldMs = ms;
  }

  /** A batch left the micro-batcher. */
  emitted(batch: Batch): void {
    const marks: BatchMarks = { emitted: this.now() };
    this.#batches.set(batch.seq, marks);
    for (const row of batch.rows) {
      for (const message of row.messages) {
        const m = this.#messages.get(positionId(message.record.source));
        if (m) m.batch = marks;
      }
    }
  }

  /** A batch finished a stage. */
  reached(seq: number, stage: 'loaded' | 'stepped' | 'stored'): void {
    const marks = this.#batches.get(seq);
    if (!marks) return;
    marks[stage] = this.now();
    if (stage === 'stored') this.#batches.delete(seq);
  }

  /** Outputs were written durably: each observes its stages and latencies. */
  written(records: readonly SinkRecord[]): void {
    const now = this.now();
    const stage = this.metrics.stageLatency;
    const seconds = (from: number | undefined, to: number | undefined) =>
      from === undefined || to === undefined ? undefined : Math.max(0, to - from) / 1000;
    const observe = (name: string, value: number | undefined) => {
      if (value !== undefined) stage.observe({ stage: name }, value);
    };
    for (const record of records) {
      const m = this.#messages.get(positionId(record.value.source));
      if (!m || m.written !== undefined) continue;
      m.written = now;
      const b = m.batch;
      observe('fetch', seconds(m.timestamp, m.arrived));
      observe('key_gate', m.heldMs / 1000);
      observe('batch', seconds(m.arrived + m.heldMs, b?.emitted));
      observe('load', seconds(b?.emitted, b?.loaded));
      observe('step', seconds(b?.loaded, b?.stepped));
      observe('store', seconds(b?.stepped, b?.stored));
      observe(this.#sinkStage, seconds(b?.stored, now));
      this.metrics.workerLatency.observe(seconds(m.arrived, now) ?? 0);
      const total = seconds(m.timestamp, now);
      if (total !== undefined) this.metrics.messageLatency.observe(total);
    }
  }

  /** Offsets were committed (or, exactly-once, their budget given back): their messages are done. */
  committed(positions: readonly SourcePosition[]): void {
    const now = this.now();
    const commit = this.#sinkStage === 'sink';
    for (const position of positions) {
      const id = positionId(position);
      const m = this.#messages.get(id);
      if (commit && m?.written !== undefined)
        this.metrics.stageLatency.observe({ stage: 'commit' }, Math.max(0, now - m.written) / 1000);
      this.#messages.delete(id);
    }
  }

  /** `sink` with its writes marked (and `learn` told each write's rows and milliseconds). */
  around(sink: Sink, learn?: (rows: number, ms: number) => void): Sink {
    return {
      commitsOffsets: sink.commitsOffsets,
      write: async (records, consumed) => {
        const start = this.now();
        await sink.write(records, consumed);
        if (records.length > 0) learn?.(records.length, this.now() - start);
        this.written(records);
      },
      close: () => sink.close(),
    };
  }
}

/**
 * Counts batches predicted to miss the latency goal and warns at most once per `intervalMs`.
 * @example microBatch({ latencyGoal: { targetMs, cost, onOverload: overloadReporter(log, metrics) } })
 */
export function overloadReporter(
  log: Logger,
  metrics: PipelineMetrics | undefined,
  intervalMs = 10_000,
  now: () => number = Date.now,
): (miss: LatencyGoalMiss) => void {
  let last = Number.NEGATIVE_INFINITY;
  let since = 0;
  return (miss) => {
    metrics?.latencyOverload.inc();
    since++;
    const t = now();
    if (t - last < intervalMs) return;
    log.warn(
      {
        batches: since,
        rows: miss.rows,
        tokens: miss.tokens,
        predictedMs: Math.round(miss.predictedMs),
        targetMs: miss.targetMs,
      },
      'overloaded: batches are predicted to miss --target-latency-ms; latency grows until the input rate falls or workers are added',
    );
    last = t;
    since = 0;
  };
}
