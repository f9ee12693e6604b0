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
  SinkRecord,
  SourcePosition,
  SteppedBatch,
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
import { AckTracker } from './ackTracker.js';
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

/**
 * Starts a pipeline over the given parts.
 * @example const run = runPipeline(parts, options); process.once('SIGTERM', () => run.stop()); await run.done;
 */
export function runPipeline(parts: PipelineParts, options: Partial<RunOptions> = {}): RunningPipeline {
  const opts = { ...DEFAULT_RUN_OPTIONS, ...options };
  const { source, deadLetters, store, model, log, metrics } = parts;
  // Stage timings per message, and the stage costs the latency goal plans batches with.
  const timings = metrics && new MessageTimings(metrics, parts.sink.commitsOffsets === true);
  const costs = opts.targetLatencyMs > 0 ? new BatchCostModel() : undefined;
  metrics?.latencyTarget.set(opts.targetLatencyMs / 1000);
  const sink = timings
    ? timings.around(parts.sink, (rows, ms) => costs?.observe('sink', rows, 0, ms))
    : parts.sink;
  const run = new RunContext(log, (op) => metrics?.retries.inc({ op }));
  const { stats } = run;
  const retry = <T>(op: string, fn: () => Promise<T>) => run.retry(op, fn);
  const tracker = new AckTracker();
  const completed$ = new Subject<Pick<Batch, 'seq'>>();
  /** A batch's outputs are written: it gives its room (`maxBatchesInFlight`) back. */
  const written$ = new Subject<Pick<Batch, 'seq'>>();
  const dead$ = new Subject<DeadLetter>();

  const timed = async <T>(
    histogram: { startTimer(labels?: Record<string, string>): () => number } | undefined,
    labels: Record<string, string> | undefined,
    fn: () => Promise<T>,
    learn?: (ms: number) => void,
  ) => {
    const end = histogram?.startTimer(labels);
    const start = learn && performance.now();
    try {
      return await fn();
    } finally {
      end?.();
      if (start !== undefined) learn?.(performance.now() - start);
    }
  };

  /**
   * Exactly-once: outputs whose source positions are not released yet (an earlier offset of their
   * partition is still in flight, e.g. a key held back by the key gate) wait here, so that each
   * transaction holds exactly the outputs of the offsets it commits. Written earlier, they would be
   * committed again after a crash, when the worker resumes from the lower committed offset.
   */
  const heldOutputs = new Map<string, SinkRecord[]>();
  const positionId = (p: SourcePosition) => `${p.partition}:${p.offset}:${p.topic}`;
  const releasedOutputs = (
    outputs: readonly SinkRecord[],
    released: readonly SourcePosition[],
  ): readonly SinkRecord[] => {
    if (!sink.commitsOffsets) return outputs;
    for (const output of outputs) {
      const id = positionId(output.value.source);
      const held = heldOutputs.get(id);
      if (held) held.push(output);
      else heldOutputs.set(id, [output]);
    }
    const writable: SinkRecord[] = [];
    for (const position of released) {
      const id = positionId(position);
      const held = heldOutputs.get(id);
      if (held) {
        writable.push(...held);
        heldOutputs.delete(id);
      }
    }
    return writable;
  };

  /**
   * Exactly-once: the records of a partition revoked while in flight are its new owner's to redo (and
   * the new owner's producer fences this worker's): their held and later outputs are dropped, and their
   * positions only give source budget back.
   */
  const revocations = sink.commitsOffsets
    ? source.revoked$?.subscribe((partitions) => {
        tracker.forget(partitions);
        for (const [id, held] of heldOutputs) {
          const { topic, partition } = held[0].value.source;
          if (partitions.some((p) => p.topic === topic && p.partition === partition)) heldOutputs.delete(id);
        }
      })
    : undefined;

  let previousAck: Promise<void> = Promise.resolve();
  const commit = async (positions: readonly SourcePosition[], batchOutputs: readonly SinkRecord[]) => {
    const released = tracker.complete(positions);
    // Reads of revoked partitions (exactly-once) only give their source budget back.
    const abandoned = tracker.takeAbandoned();
    const outputs = releasedOutputs(batchOutputs, released);
    // A transactional sink commits the offsets: it writes even with no outputs (all dead letters or held).
    if (outputs.length > 0 || (sink.commitsOffsets && released.length > 0)) {
      await timed(metrics?.sinkSeconds, undefined, () => retry('sink', () => sink.write(outputs, released)));
    }
    // The previous batch's offset commit ran while this batch's outputs were written; commits stay in order.
    await previousAck;
    // With a transactional sink the offsets are already committed; the ack then only frees source budget.
    // Otherwise the commit's round trip overlaps the next batch's sink write instead of adding to the
    // latency of every batch; the end of the run waits for the last one.
    const acked = abandoned.length > 0 ? [...released, ...abandoned] : released;
    previousAck =
      acked.length > 0
        ? retry('commit', () => source.ack(acked)).then(() => timings?.committed(released))
        : Promise.resolve();
    previousAck.catch(() => {}); // Observed when awaited: by the next commit or the end of the run.
    metrics?.inFlight.set(tracker.size);
  };

  const writeDead = async (dead: readonly DeadLetter[]) => {
    if (dead.length === 0) return;
    for (const d of dead) {
      metrics?.deadLetters.inc({ reason: d.reason, stage: d.stage });
      log.warn(deadLetterFields(d), 'dead letter');
    }
    stats.deadLetters += dead.length;
    await retry('dlq', () => deadLetters.write(dead));
  };

  const tokenized$ = source.records$.pipe(
    tap((record) => {
      tracker.register(record.source);
      timings?.arrived(record);
      stats.messagesIn++;
      metrics?.messagesIn.inc();
    }),
    decodeRecord({
      format: opts.inputFormat,
      maxValueBytes: opts.maxValueBytes,
      maxKeyBytes: opts.maxKeyBytes,
    }),
    tokenizeMessages({ tokenize: (text) => model.tokenize(text) }),
    routeDeadLetters((dead) => dead$.next(dead)),
    // Decode-stage dead letters end with the source.
    tap({ complete: () => dead$.complete(), error: (error) => dead$.error(error) }),
    share(),
  );

  // Stores with a local cache (Redis) count hits and misses; mirror their deltas into the counters.
  const cacheStats = (store as { stats?: { cacheHits: number; cacheMisses: number } }).stats;
  let seenHits = 0;
  let seenMisses = 0;
  const recordCacheStats = () => {
    if (!cacheStats || !metrics) return;
    metrics.cacheHits.inc(cacheStats.cacheHits - seenHits);
    metrics.cacheMisses.inc(cacheStats.cacheMisses - seenMisses);
    seenHits = cacheStats.cacheHits;
    seenMisses = cacheStats.cacheMisses;
  };

  /** Source positions of each in-flight batch, by seq (every message of the batch, replayed or dead included). */
  const batchPositions = new Map<number, SourcePosition[]>();
  const stepped$: Observable<SteppedBatch> = tokenized$.pipe(
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
      completed$,
      written$,
    }),
    tap((batch) => {
      timings?.emitted(batch);
      let tokens = 0;
      const positions: SourcePosition[] = [];
      for (const row of batch.rows) {
        for (const m of row.messages) {
          tokens += m.tokens.length;
          positions.push(m.record.source);
        }
      }
      batchPositions.set(batch.seq, positions);
      stats.batches++;
      stats.rows += batch.rows.length;
      stats.tokens += tokens;
      metrics?.batchRows.observe(batch.rows.length);
      metrics?.batchTokens.observe(tokens);
    }),
    // Each operator is its own concatMap stage: batch N+1 loads while batch N steps.
    loadState({
      load: (keys) =>
        timed(
          metrics?.stateSeconds,
          { op: 'load' },
          () => retry('state-load', () => store.load(keys)),
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
          () => retry('state-write', () => store.write(writes)),
          costs && ((ms) => costs.observe('store', writes.length, 0, ms)),
        ),
      onFenced: (keys) =>
        log.debug({ keys: keys.length }, 'state writes refused by the fence (already applied)'),
    }),
    // The state is durable: the batch's keys may enter the next batch.
    tap((stepped) => {
      timings?.reached(stepped.seq, 'stored');
      completed$.next({ seq: stepped.seq });
    }),
  );

  type Work = { kind: 'batch'; batch: SteppedBatch } | { kind: 'dead'; dead: DeadLetter[] };
  const work$: Observable<Work> = merge(
    stepped$.pipe(map((batch): Work => ({ kind: 'batch', batch }))),
    dead$.pipe(
      bufferTime(Math.max(opts.maxDelayMs, 5), null, 1000),
      filter((dead) => dead.length > 0),
      map((dead): Work => ({ kind: 'dead', dead })),
    ),
  );

  const done$ = work$.pipe(
    concatMap(async (work) => {
      if (work.kind === 'dead') {
        await writeDead(work.dead);
        await commit(
          work.dead.map((d) => d.record.source),
          [],
        );
        return;
      }
      const { batch } = work;
      await writeDead(batch.dead);
      const results = revocations
        ? batch.results.filter((r) => !tracker.isAbandoned(r.message.record.source))
        : batch.results;
      const outputs = results.map((scored) => toOutput(scored, model.id, opts.emit));
      const replayed = batch.results.filter((r) => r.replayed).length;
      stats.replayed += replayed;
      metrics?.replayed.inc(replayed);
      const positions = batchPositions.get(batch.seq) ?? [];
      batchPositions.delete(batch.seq);
      await commit(positions, outputs);
      written$.next({ seq: batch.seq });
      stats.outputs += outputs.length;
      metrics?.messagesOut.inc(outputs.length);
      log.debug({ seq: batch.seq, outputs: outputs.length, dead: batch.dead.length }, 'batch committed');
    }),
    // The last offset commit is part of the run.
    (batches$) =>
      concat(
        batches$,
        defer(() => previousAck),
      ),
    finalize(() => revocations?.unsubscribe()),
  );

  return run.start(done$, source);
}

/** Tokens of the rows of one engine step (the step's cost grows with them). */
function stepTokens(rows: readonly { tokens?: Int32Array }[]): number {
  let tokens = 0;
  for (const row of rows) tokens += row.tokens?.length ?? 0;
  return tokens;
}
