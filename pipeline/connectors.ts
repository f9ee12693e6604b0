/**
 * The connector contracts of the pipeline: what a source, a sink, a dead-letter sink and a state store
 * offer to the run loop. The records they carry are in `core/contracts.ts`.
 */
import type { Observable } from 'rxjs';
import type {
  DeadLetter,
  LoadedState,
  SinkRecord,
  SourcePosition,
  SourceRecord,
  StateWrite,
  WriteReport,
} from '../core/contracts.js';

/** Per-key recurrent state, durable between messages (Redis) or in-process (memory). */
export interface StateStore {
  /** Loads many keys in one round trip (cache hits cost none). */
  load(keys: readonly string[]): Promise<Map<string, LoadedState>>;
  /** Writes many keys in one round trip, each only if its fence is newer than the stored one. */
  write(writes: readonly StateWrite[]): Promise<WriteReport>;
  /** Forgets cached entries of partitions this worker no longer owns (rebalance). */
  forgetPartitions?(partitions: readonly { topic: string; partition: number }[]): void;
  /** True when the backing store answers (for /readyz). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Where outputs go. */
export interface Sink {
  /**
   * Writes outputs durably. `consumed` are the source positions this write completes: a sink that
   * commits them itself (Kafka transactions) says so with `commitsOffsets`.
   */
  write(records: readonly SinkRecord[], consumed: readonly SourcePosition[]): Promise<void>;
  readonly commitsOffsets?: boolean;
  /**
   * Input partitions assigned to this worker (a rebalance): a sink with per-partition resources (one
   * transactional producer per input partition) sets them up; the source reads them once it resolves.
   */
  assign?(partitions: readonly { topic: string; partition: number }[]): Promise<void>;
  /** Input partitions revoked from this worker: their late outputs are not this worker's to write. */
  revoke?(partitions: readonly { topic: string; partition: number }[]): void;
  /** Input partitions another worker took over (their producer was fenced): the source gives them up. */
  readonly fenced$?: Observable<readonly { topic: string; partition: number }[]>;
  close(): Promise<void>;
}

/** Where refused messages go: the original bytes with `{reason, stage, source}`. */
export interface DeadLetterSink {
  write(dead: readonly DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

/** Where messages come from. Emits records; pauses itself while `budget` un-acked records are in flight. */
export interface Source {
  /** Hot stream of records; completes when a bounded source (file) ends. */
  readonly records$: Observable<SourceRecord>;
  /**
   * Marks records as fully processed (state and output durable). Positions arrive in order per
   * partition; the source commits them (unless the sink did) and frees in-flight budget.
   */
  ack(positions: readonly SourcePosition[]): Promise<void>;
  /**
   * Partitions that left this worker (a rebalance), emitted before any record read after it: records of
   * theirs still in flight are the new owner's to redo.
   */
  readonly revoked$?: Observable<readonly { topic: string; partition: number }[]>;
  /** Gives up partitions this worker holds but another owns now; they are read again once reassigned. */
  forfeit?(partitions: readonly { topic: string; partition: number }[]): void;
  /** Why the source is unhealthy (e.g. its offset commits keep failing), or undefined; `/readyz` reports it. */
  unhealthy?(): string | undefined;
  /** Stops reading; pending acks are still accepted until `close`. */
  stop(): Promise<void>;
  close(): Promise<void>;
}
