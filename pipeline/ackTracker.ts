/**
 * Turns completions that arrive in any order (a dead letter written before an earlier batch finished,
 * batches of different partitions) into the in-order, contiguous positions a source may commit: an
 * offset is released only when it and every earlier offset of its partition are durable (STYLE.md 8).
 */
import type { SourcePosition } from './types.js';

interface PartitionTrack {
  /** Positions registered and not yet released, in arrival (= offset) order. */
  pending: SourcePosition[];
  /** Offsets of pending positions that are durable. */
  done: Set<string>;
}

/** Tracks in-flight source positions per (topic, partition). */
export class AckTracker {
  private readonly partitions = new Map<string, PartitionTrack>();
  /** Positions of forgotten partitions that were still pending: never released, whatever comes later. */
  private readonly forgotten = new WeakSet<SourcePosition>();
  private inFlight = 0;

  /** Number of registered positions not yet released. */
  get size(): number {
    return this.inFlight;
  }

  /** Registers a position as it enters the pipeline (in source order per partition). */
  register(position: SourcePosition): void {
    const track = this.track(position);
    track.pending.push(position);
    this.inFlight++;
  }

  /**
   * Marks positions durable and returns the positions now releasable (contiguous per partition),
   * i.e. safe to commit. Positions of a forgotten partition are ignored (even when the partition came
   * back and the same offset is in flight again).
   */
  complete(positions: readonly SourcePosition[]): SourcePosition[] {
    const touched = new Set<string>();
    for (const position of positions) {
      if (this.forgotten.has(position)) continue;
      const id = partitionId(position);
      const track = this.partitions.get(id);
      if (!track) continue; // forgotten (revoked partition): never commit past it
      track.done.add(position.offset);
      touched.add(id);
    }
    const released: SourcePosition[] = [];
    for (const id of touched) {
      const track = this.partitions.get(id)!;
      let count = 0;
      while (count < track.pending.length && track.done.has(track.pending[count].offset)) {
        track.done.delete(track.pending[count].offset);
        released.push(track.pending[count]);
        count++;
      }
      track.pending.splice(0, count);
      this.inFlight -= count;
    }
    return released;
  }

  /** Drops the bookkeeping of revoked partitions: their pending work is abandoned, never committed. */
  forget(partitions: readonly { topic: string; partition: number }[]): void {
    for (const p of partitions) {
      const id = partitionId(p);
      const track = this.partitions.get(id);
      if (!track) continue;
      this.inFlight -= track.pending.length;
      for (const position of track.pending) this.forgotten.add(position);
      this.partitions.delete(id);
    }
  }

  /** Whether the position was pending when its partition was forgotten (its work is abandoned). */
  isForgotten(position: SourcePosition): boolean {
    return this.forgotten.has(position);
  }

  private track(position: SourcePosition): PartitionTrack {
    const id = partitionId(position);
    let track = this.partitions.get(id);
    if (!track) {
      track = { pending: [], done: new Set() };
      this.partitions.set(id, track);
    }
    return track;
  }
}

function partitionId(p: { topic: string; partition: number }): string {
  return `${p.topic}\u0000${p.partition}`;
}
