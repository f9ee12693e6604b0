/**
 * The one owner of what a run has read and may commit (Kafka Streams' `StreamTask.commit`, Quix Streams'
 * `Checkpoint`): every read is registered as it enters the pipeline, and each finished batch (or group of
 * dead letters) is completed here. Completing a batch is, in order:
 *
 * 1. release: the batch's positions are marked durable; per partition, the contiguous prefix of reads
 *    that are all durable is released ({@link AckTracker}) — only those may be committed;
 * 2. hold (exactly-once): outputs of positions not released yet wait, so each transaction holds exactly
 *    the outputs of the offsets it commits (written earlier, they would be committed again after a crash,
 *    when the worker resumes from the lower committed offset);
 * 3. write: the released outputs go to the sink (a transactional sink commits the offsets with them, and
 *    writes even with no outputs then);
 * 4. ack: after the previous batch's ack, the released positions (plus those of revoked partitions, which
 *    only give source budget back) are acked to the source, which commits them — in the background, so
 *    that commit's round trip overlaps the next batch's write; {@link flush} awaits the last one.
 *
 * A revoked partition (exactly-once) is forgotten: its reads in flight are abandoned, their held and later
 * outputs dropped (the new owner redoes them and fenced this worker's producer).
 */
import { positionKey, type SinkRecord, type SourcePosition } from '../core/contracts.js';
import { AckTracker } from './ackTracker.js';
import type { Sink, Source } from './connectors.js';

/** What {@link CommitCoordinator} drives. */
export interface CommitCoordinatorOptions {
  source: Pick<Source, 'ack' | 'revoked$'>;
  sink: Pick<Sink, 'write' | 'commitsOffsets'>;
  /** Runs one attempt-with-retries of an operation (`sink` or `commit`) until it succeeds or the run fails. */
  retry: <T>(op: 'sink' | 'commit', fn: () => Promise<T>) => Promise<T>;
  /** Called when the released positions of a batch were committed (for latency timings). */
  onCommitted?: (released: readonly SourcePosition[]) => void;
}

/** Registers reads, and completes batches into sink writes and in-order source acks. */
export class CommitCoordinator {
  readonly #tracker = new AckTracker();
  readonly #source: CommitCoordinatorOptions['source'];
  readonly #sink: CommitCoordinatorOptions['sink'];
  readonly #retry: CommitCoordinatorOptions['retry'];
  readonly #onCommitted: CommitCoordinatorOptions['onCommitted'];
  /** Exactly-once: outputs waiting for their position to be released, by position. */
  readonly #held = new Map<string, SinkRecord[]>();
  readonly #revocations: { unsubscribe(): void } | undefined;
  #previousAck: Promise<void> = Promise.resolve();

  constructor(options: CommitCoordinatorOptions) {
    this.#source = options.source;
    this.#sink = options.sink;
    this.#retry = options.retry;
    this.#onCommitted = options.onCommitted;
    // At-least-once keeps a revoked partition's reads: their outputs are still written, and the source
    // commits nothing for a partition it no longer owns.
    this.#revocations = options.sink.commitsOffsets
      ? options.source.revoked$?.subscribe((partitions) => this.forget(partitions))
      : undefined;
  }

  /** Reads registered and not yet released (those of forgotten partitions excluded). */
  get inFlight(): number {
    return this.#tracker.size;
  }

  /** Registers a read as it enters the pipeline (in source order per partition; the object identifies it). */
  register(position: SourcePosition): void {
    this.#tracker.register(position);
  }

  /** Whether the read belongs to a forgotten partition: its outputs are dropped. */
  isAbandoned(position: SourcePosition): boolean {
    return this.#tracker.isAbandoned(position);
  }

  /** Drops revoked partitions: their reads in flight are abandoned, their held outputs dropped. */
  forget(partitions: readonly { topic: string; partition: number }[]): void {
    this.#tracker.forget(partitions);
    for (const [id, held] of this.#held) {
      const { topic, partition } = held[0].value.source;
      if (partitions.some((p) => p.topic === topic && p.partition === partition)) this.#held.delete(id);
    }
  }

  /**
   * Completes the reads at `positions` with their `outputs` (steps 1–4 above). Resolves once the outputs
   * are written; the ack runs on in the background (see {@link flush}). The outputs of abandoned reads must
   * already be left out ({@link isAbandoned}).
   */
  async complete(positions: readonly SourcePosition[], outputs: readonly SinkRecord[]): Promise<void> {
    const released = this.#tracker.complete(positions);
    const abandoned = this.#tracker.takeAbandoned();
    const writable = this.#sink.commitsOffsets ? this.#releaseHeld(outputs, released) : outputs;
    if (writable.length > 0 || (this.#sink.commitsOffsets && released.length > 0)) {
      await this.#retry('sink', () => this.#sink.write(writable, released));
    }
    // The previous batch's ack ran while this batch's outputs were written; acks stay in order.
    await this.#previousAck;
    const acked = abandoned.length > 0 ? [...released, ...abandoned] : released;
    this.#previousAck =
      acked.length > 0
        ? this.#retry('commit', () => this.#source.ack(acked)).then(() => this.#onCommitted?.(released))
        : Promise.resolve();
    this.#previousAck.catch(() => {}); // Observed when awaited: by the next completion or flush().
  }

  /** Resolves when the last ack is done (rejects if it failed): the end of a run awaits it. */
  flush(): Promise<void> {
    return this.#previousAck;
  }

  /** Stops following revocations. */
  close(): void {
    this.#revocations?.unsubscribe();
  }

  /** Holds `outputs` under their positions and returns every held output whose position is released. */
  #releaseHeld(outputs: readonly SinkRecord[], released: readonly SourcePosition[]): SinkRecord[] {
    for (const output of outputs) {
      const id = positionKey(output.value.source);
      const held = this.#held.get(id);
      if (held) held.push(output);
      else this.#held.set(id, [output]);
    }
    const writable: SinkRecord[] = [];
    for (const position of released) {
      const id = positionKey(position);
      const held = this.#held.get(id);
      if (held) {
        writable.push(...held);
        this.#held.delete(id);
      }
    }
    return writable;
  }
}
