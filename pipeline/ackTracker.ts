/**
 * Turns completions that arrive in any order (a dead letter written before an earlier batch finished,
 * batches of different partitions) into the in-order, contiguous positions a source may commit: a
 * position is released only when it and every position registered before it on its partition are
 * durable (STYLE.md 8).
 *
 * Work is tracked by the registered {@link SourcePosition} object, not by its offset: after a rebalance
 * the same offset can be in flight twice (read before the revocation and again after the partition came
 * back), and the two reads complete separately. Counting them as one offset lost a completion and
 * stalled the partition for good (test/unit/pipeline/ackTracker.test.ts shows how).
 */
import { partitionKey, type SourcePosition } from '../core/contracts.js';

interface Entry {
  position: SourcePosition;
  done: boolean;
}

/** Registered positions of one partition not yet released, in registration (= source) order. */
type PartitionTrack = Entry[];

/** Tracks in-flight source positions per (topic, partition). */
export class AckTracker {
  readonly #partitions = new Map<string, PartitionTrack>();
  /** Every registered position not yet released, by identity. */
  readonly #entries = new Map<SourcePosition, Entry>();
  /** Positions of forgotten partitions still in flight: their completion only gives budget back. */
  readonly #abandoned = new Set<SourcePosition>();
  /** Abandoned positions that completed, until {@link takeAbandoned}. */
  #abandonedDone: SourcePosition[] = [];

  /** Number of registered positions not yet released (those of forgotten partitions excluded). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Registers a position as it enters the pipeline (in source order per partition). Pass the same
   * object to {@link complete}: it identifies this read of the record.
   */
  register(position: SourcePosition): void {
    if (this.#entries.has(position) || this.#abandoned.has(position)) {
      throw new RangeError(
        `position ${position.topic}/${position.partition}@${position.offset} registered twice: register each read once`,
      );
    }
    const entry: Entry = { position, done: false };
    this.#entries.set(position, entry);
    const id = partitionKey(position.topic, position.partition);
    const track = this.#partitions.get(id);
    if (track) track.push(entry);
    else this.#partitions.set(id, [entry]);
  }

  /**
   * Marks positions (the registered objects) durable and returns the positions now releasable, i.e.
   * safe to commit: per partition, the registered prefix that is all durable. Positions not registered,
   * already released, or of a forgotten partition release nothing (the latter are collected for
   * {@link takeAbandoned}).
   */
  complete(positions: readonly SourcePosition[]): SourcePosition[] {
    const touched = new Set<string>();
    for (const position of positions) {
      const entry = this.#entries.get(position);
      if (entry) {
        entry.done = true;
        touched.add(partitionKey(position.topic, position.partition));
      } else if (this.#abandoned.delete(position)) {
        this.#abandonedDone.push(position);
      }
    }
    const released: SourcePosition[] = [];
    for (const id of touched) {
      const track = this.#partitions.get(id)!;
      let count = 0;
      while (count < track.length && track[count].done) {
        released.push(track[count].position);
        this.#entries.delete(track[count].position);
        count++;
      }
      if (count === track.length) this.#partitions.delete(id);
      else track.splice(0, count);
    }
    return released;
  }

  /**
   * Drops revoked partitions: their work in flight is abandoned, never released (another worker owns
   * them now, and a read of the same offset after they come back is new work). Its completions, and
   * those already in, come out of {@link takeAbandoned}.
   */
  forget(partitions: readonly { topic: string; partition: number }[]): void {
    for (const p of partitions) {
      const id = partitionKey(p.topic, p.partition);
      for (const entry of this.#partitions.get(id) ?? []) {
        this.#entries.delete(entry.position);
        if (entry.done) this.#abandonedDone.push(entry.position);
        else this.#abandoned.add(entry.position);
      }
      this.#partitions.delete(id);
    }
  }

  /** Whether the position is a read of a forgotten partition still in flight (its outputs are dropped). */
  isAbandoned(position: SourcePosition): boolean {
    return this.#abandoned.has(position);
  }

  /**
   * The positions of forgotten partitions completed since the last call: ack them to the source so it
   * gives their in-flight budget back (it commits nothing for a partition it no longer owns), and never
   * commit them or write outputs held for them.
   */
  takeAbandoned(): SourcePosition[] {
    const taken = this.#abandonedDone;
    this.#abandonedDone = [];
    return taken;
  }
}
