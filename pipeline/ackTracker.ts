/**
 * Turns completions that arrive in any order (a dead letter written before an earlier batch finished,
 * batches of different partitions) into the in-order, contiguous positions a source may commit: an
 * offset is released only when it and every earlier offset of its partition are durable (STYLE.md 8).
 */
import type { SourcePosition } from './types.js';

interface PartitionTrack {
  /** Offsets registered and not yet released, in arrival (= offset) order. */
  pending: bigint[];
  done: Set<bigint>;
}

/** Tracks in-flight source positions per (topic, partition). */
export class AckTracker {
  private readonly partitions = new Map<string, PartitionTrack>();
  private inFlight = 0;

  /** Number of registered positions not yet released. */
  get size(): number {
    return this.inFlight;
  }

  /** Registers a position as it enters the pipeline (in source order per partition). */
  register(position: SourcePosition): void {
    const track = this.track(position);
    track.pending.push(BigInt(position.offset));
    this.inFlight++;
  }

  /**
   * Marks positions durable and returns the positions now releasable (contiguous per partition),
   * i.e. safe to commit.
   */
  complete(positions: readonly SourcePosition[]): SourcePosition[] {
    const touched = new Map<string, SourcePosition>();
    for (const position of positions) {
      const track = this.partitions.get(partitionId(position));
      if (!track) continue; // forgotten (revoked partition): never commit past it
      track.done.add(BigInt(position.offset));
      touched.set(partitionId(position), position);
    }
    const released: SourcePosition[] = [];
    for (const [id, sample] of touched) {
      const track = this.partitions.get(id)!;
      let count = 0;
      while (count < track.pending.length && track.done.has(track.pending[count])) {
        track.done.delete(track.pending[count]);
        released.push({
          topic: sample.topic,
          partition: sample.partition,
          offset: String(track.pending[count]),
        });
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
      if (track) this.inFlight -= track.pending.length;
      this.partitions.delete(id);
    }
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
