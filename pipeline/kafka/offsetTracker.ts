/**
 * Per-partition bookkeeping of records handed downstream and not yet acked: which offset may be
 * committed (the end of the contiguous acked prefix, never past an un-acked record) and how much
 * budget each ack gives back.
 */
import { partitionKey } from '../../core/contracts.js';

interface Entry {
  offset: bigint;
  bytes: number;
  acked: boolean;
}

/**
 * The in-flight records of one partition, in offset order.
 *
 * Acks may come in any order; {@link advance} only moves past a record once it and every earlier one
 * are acked, which is what makes "commit only after ack" hold even if a caller acks out of order.
 */
export class PartitionTracker {
  readonly topic: string;
  readonly partition: number;
  #entries: Entry[] = [];
  #head = 0;
  #byOffset = new Map<string, Entry>();
  #lastPushed: bigint | undefined;
  #committable: bigint | undefined;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  /** Records pushed and not yet acked. */
  get pending(): number {
    return this.#byOffset.size;
  }

  /** The offset to fetch next so as not to read a pushed record twice (last pushed + 1). */
  get nextFetchOffset(): string | undefined {
    return this.#lastPushed === undefined ? undefined : (this.#lastPushed + 1n).toString();
  }

  /** Records a pushed record. Offsets must increase. */
  push(offset: string, bytes: number): void {
    const value = BigInt(offset);
    if (this.#lastPushed !== undefined && value <= this.#lastPushed) {
      throw new RangeError(
        `offset ${offset} pushed after ${this.#lastPushed} on ${this.topic}/${this.partition}: offsets must increase`,
      );
    }
    const entry: Entry = { offset: value, bytes, acked: false };
    this.#entries.push(entry);
    this.#byOffset.set(offset, entry);
    this.#lastPushed = value;
  }

  /** Marks `offset` acked; returns its byte size, or `undefined` when it is not pending here. */
  ack(offset: string): number | undefined {
    const entry = this.#byOffset.get(offset);
    if (!entry) return undefined;
    this.#byOffset.delete(offset);
    entry.acked = true;
    return entry.bytes;
  }

  /**
   * Drops the acked prefix and returns the offset to commit (the next offset to read: last acked of
   * the prefix + 1) when it moved since the previous call, else `undefined`.
   */
  advance(): string | undefined {
    let last: bigint | undefined;
    while (this.#head < this.#entries.length && this.#entries[this.#head].acked) {
      last = this.#entries[this.#head].offset;
      this.#head++;
    }
    // Compact once the dead prefix dominates, so memory follows the in-flight count.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    if (last === undefined) return undefined;
    const next = last + 1n;
    if (this.#committable !== undefined && next <= this.#committable) return undefined;
    this.#committable = next;
    return next.toString();
  }

  /** Byte sizes of every pending record (given back when the partition is dropped). */
  pendingBytes(): number {
    let sum = 0;
    for (const entry of this.#byOffset.values()) sum += entry.bytes;
    return sum;
  }
}

/**
 * The next offsets to commit for a set of consumed positions: per partition, the highest offset + 1
 * (Kafka commits the offset of the next record to read).
 *
 * @example
 * nextOffsets([{ topic: 't', partition: 0, offset: '41' }]); // [{ topic: 't', partition: 0, offset: '42' }]
 */
export function nextOffsets(
  positions: readonly { topic: string; partition: number; offset: string }[],
): { topic: string; partition: number; offset: string }[] {
  const max = new Map<string, { topic: string; partition: number; offset: bigint }>();
  for (const p of positions) {
    const key = partitionKey(p.topic, p.partition);
    const offset = BigInt(p.offset);
    const seen = max.get(key);
    if (!seen || offset > seen.offset) max.set(key, { topic: p.topic, partition: p.partition, offset });
  }
  return [...max.values()].map((p) => ({
    topic: p.topic,
    partition: p.partition,
    offset: (p.offset + 1n).toString(),
  }));
}
