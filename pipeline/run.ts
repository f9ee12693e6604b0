/**
 * Assembles and runs the dataflow of DESIGN.md:
 * source → decode → tokenize → micro-batch → load state → step → store state → head → sink → commit.
 * Stages are separate `concatMap`s, so batch N+1 loads its state while batch N steps (the key gate of
 * `microBatch` keeps a key out of two in-flight batches, so that load is never stale).
 */
import {
  bufferTime,
  concat,
  concatMap,
  defer,
  filter,
  finalize,
  map,
  merge,
  type Observable,
  Subject,
  share,
  tap,
} from 'rxjs';
import type {
  Batch,
  DeadLetter,
  Prediction,
  SourcePosition,
  SteppedBatch,
  TokenizedMessage,
} from '../core/contracts.js';
import type { StepEngine } from '../model/types.js';
import { BatchCostModel } from '../operators/batchCost.js';
import { decodeRecord } from '../operators/decodeRecord.js';
import { loadState } from '../operators/loadState.js';
import { microBatch } from '../operators/microBatch.js';
import { routeDeadLetters } from '../operators/routeDeadLetters.js';
import { stepBatch } from '../operators/stepBatch.js';
import { storeState } from '../operators/storeState.js';
import { tokenizeMessages } from '../operators/tokenizeMessages.js';
import { toOutput } from '../operators/toOutputs.js';
import { CommitCoordinator } from './commitCoordinator.js';
import type { DeadLetterSink, Sink, Source, StateStore } from './connectors.js';
import { MessageTimings, overloadReporter } from './latency.js';
import { deadLetterFields, type Logger } from './logger.js';
import type { PipelineMetrics } from './metrics.js';
import { RunContext, type RunningPipeline } from './running.js';

/** What the pipeline needs of a model: tokenizer, batched step, head. */
export interface PipelineModel {
  /** `name@fingerprint`, written in every output. */
  id: string;
  tokenize(text: string): Int32Array;
  engine: StepEngine;
  predict(hidden: Float32Array[]): Prediction[];
}

/** Tuning of a run. */
export interface RunOptions {
  /** @default 'json' */
  inputFormat: 'json' | 'text';
  /** @default 1024 */
  maxBatchRows: number;
  /** @default 16384 */
  maxBatchTokens: number;
  /** @default 5 */
  maxDelayMs: number;
  /**
   * Batches between the micro-batcher and their outputs written (loading, stepping, storing, writing). A
   * batch that is due while that many are in flight waits and keeps filling: under load batches grow to
   * what the engine and the sink take instead of queueing small ones (and small transactions) behind
   * them. @default 3
   */
  maxBatchesInFlight: number;
  /**
   * Latency goal, ms from a message's arrival to its output durable (p99): batches are cut from costs
   * learned while running so that waiting longer would not break it; 0 = none (limits only). @default 250
   */
  targetLatencyMs: number;
  /** @default { sentiment: true, embedding: false } */
  emit: { sentiment: boolean; embedding: boolean | 'base64' };
  /** @default 'reset' */
  onBadState: 'reset' | 'dlq' | 'fail';
  /** @default 65536 */
  maxValueBytes: number;
  /** @default 1024 */
  maxKeyBytes: number;
}

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  inputFormat: 'json',
  maxBatchRows: 1024,
  maxBatchTokens: 16384,
  maxDelayMs: 5,
  maxBatchesInFlight: 3,
  targetLatencyMs: 250,
  emit: { sentiment: true, embedding: false },
  onBadState: 'reset',
  maxValueBytes: 64 * 1024,
  maxKeyBytes: 1024,
};

/** The parts a pipeline is assembled from (built by the CLI from URIs, or by tests directly). */
export interface PipelineParts {
  source: Source & { start?(): Promise<void> };
  sink: Sink;
  deadLetters: DeadLetterSink;
  store: StateStore;
  model: PipelineModel;
  log: Logger;
  metrics?: PipelineMetrics;
}

export type { RunningPipeline, RunStats } from './running.js';

/** What the stages of one run share (built once by {@link runPipeline}). */
interface RunStages {
  opts: RunOptions;
  parts: PipelineParts;
  run: RunContext;
  commits: CommitCoordinator;
  timings: MessageTimings | undefined;
  /** The stage costs the latency goal plans batches with (when a goal is set). */
  costs: BatchCostModel | undefined;
  /** A batch's state is durable: its keys may enter the next batch. */
  completed$: Subject<Pick<Batch, 'seq'>>;
  /** A batch's outputs are written: it gives its room (`maxBatchesInFlight`) back. */
  written$: Subject<Pick<Batch, 'seq'>>;
  dead$: Subject<DeadLetter>;
  /** Source positions of each in-flight batch, by seq (every message of the batch, replayed or dead included). */
  batchPositions: Map<number, SourcePosition[]>;
}

/**
 * Starts a pipeline over the given parts.
 * @example const run = runPipeline(parts, options); process.once('SIGTERM', () => run.stop()); await run.done;
 */
export function runPipeline(parts: PipelineParts, options: Partial<RunOptions> = {}): RunningPipeline {
  const opts = { ...DEFAULT_RUN_OPTIONS, ...options };
  const { metrics } = parts;
  const timings = metrics && new MessageTimings(metrics, parts.sink.commitsOffsets === true);
  const costs = opts.targetLatencyMs > 0 ? new BatchCostModel() : undefined;
  metrics?.latencyTarget.set(opts.targetLatencyMs / 1000);
  const sink = timings
    ? timings.around(parts.sink, (rows, ms) => costs?.observe('sink', rows, 0, ms))
    : parts.sink;
  const run = new RunContext(parts.log, (op) => metrics?.retries.inc({ op }));
  const commits = new CommitCoordinator({
    source: parts.source,
    sink,
    retry: (op, fn) =>
      op === 'sink' ? timed(metrics?.sinkSeconds, undefined, () => run.retry(op, fn)) : run.retry(op, fn),
    onCommitted: timings && ((released) => timings.committed(released)),
  });
  const stages: RunStages = {
    opts,
    parts,
    run,
    commits,
    timings,
    costs,
    completed$: new Subject(),
    written$: new Subject(),
    dead$: new Subject(),
    batchPositions: new Map(),
  };
  const done$ = writeStage(stages, computeStages(stages, readStage(stages)));
  return run.start(done$, parts.source);
}

/** source → register → decode → tokenize; refused messages go to `dead$`. */
function readStage(stages: RunStages): Observable<TokenizedMessage> {
  const { opts, parts, commits, timings, run, dead$ } = stages;
  return parts.source.records$.pipe(
    tap((record) => {
      commits.register(record.source);
      timings?.arrived(record);
      run.stats.messagesIn++;
      parts.metrics?.messagesIn.inc();
    }),
    decodeRecord({
      format: opts.inputFormat,
      maxValueBytes: opts.maxValueBytes,
      maxKeyBytes: opts.maxKeyBytes,
    }),
    tokenizeMessages({ tokenize: (text) => parts.model.tokenize(text) }),
    routeDeadLetters((dead) => dead$.next(dead)),
    // Decode-stage dead letters end with the source.
    tap({ complete: () => dead$.complete(), error: (error) => dead$.error(error) }),
    share(),
  );
}

/** micro-batch → load state → step → store state: each its own concatMap stage (batch N+1 loads while N steps). */
function computeStages(
  stages: RunStages,
  tokenized$: Observable<TokenizedMessage>,
): Observable<SteppedBatch> {
  const { opts, parts, costs, timings, run } = stages;
  const { store, model, log, metrics } = parts;
  const recordCacheStats = cacheStatsRecorder(store, metrics);
  return tokenized$.pipe(
    microBatch({
      maxRows: opts.maxBatchRows,
      maxTokens: opts.maxBatchTokens,
      maxDelayMs: opts.maxDelayMs,
      maxInFlight: opts.maxBatchesInFlight,
      latencyGoal: costs && {
        targetMs: opts.targetLatencyMs,
        cost: costs,
        onOverload: overloadReporter(log, metrics),
      },
      onUnparked: timings && ((message, ms) => timings.held(message, ms)),
      completed$: stages.completed$,
      written$: stages.written$,
    }),
    tap((batch) => countBatch(stages, batch)),
    loadState({
      load: (keys) =>
        timed(
          metrics?.stateSeconds,
          { op: 'load' },
          () => run.retry('state-load', () => store.load(keys)),
          costs && ((ms) => costs.observe('load', keys.length, 0, ms)),
        ).then((loaded) => {
          recordCacheStats();
          return loaded;
        }),
      onBadState: opts.onBadState,
      onReset: (key, reason) => {
        metrics?.badStates.inc();
        log.warn({ key, reason }, 'stored state unusable: starting the sequence over (--on-bad-state reset)');
      },
    }),
    tap((loaded) => timings?.reached(loaded.seq, 'loaded')),
    stepBatch({
      step: (rows) =>
        timed(
          metrics?.stepSeconds,
          undefined,
          () => model.engine.step(rows),
          costs && ((ms) => costs.observe('step', rows.length, stepTokens(rows), ms)),
        ),
      predict: opts.emit.sentiment ? (hs) => model.predict(hs) : undefined,
      emitEmbedding: opts.emit.embedding !== false,
    }),
    tap((stepped) => timings?.reached(stepped.seq, 'stepped')),
    storeState({
      write: (writes) =>
        timed(
          metrics?.stateSeconds,
          { op: 'write' },
          () => run.retry('state-write', () => store.write(writes)),
          costs && ((ms) => costs.observe('store', writes.length, 0, ms)),
        ),
      onFenced: (keys) =>
        log.debug({ keys: keys.length }, 'state writes refused by the fence (already applied)'),
    }),
    // The state is durable: the batch's keys may enter the next batch.
    tap((stepped) => {
      timings?.reached(stepped.seq, 'stored');
      stages.completed$.next({ seq: stepped.seq });
    }),
  );
}

/** Records a batch leaving the micro-batcher: its positions (for the commit) and its counters. */
function countBatch(stages: RunStages, batch: Batch): void {
  const { stats } = stages.run;
  const { metrics } = stages.parts;
  stages.timings?.emitted(batch);
  let tokens = 0;
  const positions: SourcePosition[] = [];
  for (const row of batch.rows) {
    for (const m of row.messages) {
      tokens += m.tokens.length;
      positions.push(m.record.source);
    }
  }
  stages.batchPositions.set(batch.seq, positions);
  stats.batches++;
  stats.rows += batch.rows.length;
  stats.tokens += tokens;
  metrics?.batchRows.observe(batch.rows.length);
  metrics?.batchTokens.observe(tokens);
}

/**
 * dead letters and stepped batches → sink → commit, one at a time in the order they come; the last
 * offset commit is part of the run.
 */
function writeStage(stages: RunStages, stepped$: Observable<SteppedBatch>): Observable<unknown> {
  const { opts, commits } = stages;
  type Work = { kind: 'batch'; batch: SteppedBatch } | { kind: 'dead'; dead: DeadLetter[] };
  const work$: Observable<Work> = merge(
    stepped$.pipe(map((batch): Work => ({ kind: 'batch', batch }))),
    stages.dead$.pipe(
      bufferTime(Math.max(opts.maxDelayMs, 5), null, 1000),
      filter((dead) => dead.length > 0),
      map((dead): Work => ({ kind: 'dead', dead })),
    ),
  );
  return work$.pipe(
    concatMap(async (work) => {
      if (work.kind === 'dead') {
        await writeDead(stages, work.dead);
        await commits.complete(
          work.dead.map((d) => d.record.source),
          [],
        );
      } else {
        await writeBatch(stages, work.batch);
      }
      stages.parts.metrics?.inFlight.set(commits.inFlight);
    }),
    (batches$) =>
      concat(
        batches$,
        defer(() => commits.flush()),
      ),
    finalize(() => commits.close()),
  );
}

/** Writes one stepped batch's dead letters and outputs and completes its reads. */
async function writeBatch(stages: RunStages, batch: SteppedBatch): Promise<void> {
  const { opts, parts, commits, run } = stages;
  const { metrics, model } = parts;
  await writeDead(stages, batch.dead);
  // Reads of revoked partitions (exactly-once) are the new owner's to redo: their outputs are dropped.
  const results = batch.results.filter((r) => !commits.isAbandoned(r.message.record.source));
  const outputs = results.map((scored) => toOutput(scored, model.id, opts.emit));
  const replayed = batch.results.filter((r) => r.replayed).length;
  run.stats.replayed += replayed;
  metrics?.replayed.inc(replayed);
  const positions = stages.batchPositions.get(batch.seq) ?? [];
  stages.batchPositions.delete(batch.seq);
  await commits.complete(positions, outputs);
  stages.written$.next({ seq: batch.seq });
  run.stats.outputs += outputs.length;
  metrics?.messagesOut.inc(outputs.length);
  parts.log.debug({ seq: batch.seq, outputs: outputs.length, dead: batch.dead.length }, 'batch committed');
}

/** Counts, logs and writes dead letters (before their positions are completed). */
async function writeDead(stages: RunStages, dead: readonly DeadLetter[]): Promise<void> {
  if (dead.length === 0) return;
  const { log, metrics, deadLetters } = stages.parts;
  for (const d of dead) {
    metrics?.deadLetters.inc({ reason: d.reason, stage: d.stage });
    log.warn(deadLetterFields(d), 'dead letter');
  }
  stages.run.stats.deadLetters += dead.length;
  await stages.run.retry('dlq', () => deadLetters.write(dead));
}

/** Stores with a local cache (Redis) count hits and misses: the returned function mirrors their deltas into the counters. */
function cacheStatsRecorder(store: StateStore, metrics: PipelineMetrics | undefined): () => void {
  const cacheStats = (store as { stats?: { cacheHits: number; cacheMisses: number } }).stats;
  let seenHits = 0;
  let seenMisses = 0;
  return () => {
    if (!cacheStats || !metrics) return;
    metrics.cacheHits.inc(cacheStats.cacheHits - seenHits);
    metrics.cacheMisses.inc(cacheStats.cacheMisses - seenMisses);
    seenHits = cacheStats.cacheHits;
    seenMisses = cacheStats.cacheMisses;
  };
}

/** Runs `fn` under a histogram timer (when metrics are on), and reports its ms to `learn`. */
async function timed<T>(
  histogram: { startTimer(labels?: Record<string, string>): () => number } | undefined,
  labels: Record<string, string> | undefined,
  fn: () => Promise<T>,
  learn?: (ms: number) => void,
): Promise<T> {
  const end = histogram?.startTimer(labels);
  const start = learn && performance.now();
  try {
    return await fn();
  } finally {
    end?.();
    if (start !== undefined) learn?.(performance.now() - start);
  }
}

/** Tokens of the rows of one engine step (the step's cost grows with them). */
function stepTokens(rows: readonly { tokens?: Int32Array }[]): number {
  let tokens = 0;
  for (const row of rows) tokens += row.tokens?.length ?? 0;
  return tokens;
}
