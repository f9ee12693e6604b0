/**
 * A small bounded LRU map on top of `Map`'s insertion order: reads and writes move a key to the
 * young end, inserts beyond `maxKeys` evict from the old end. Shared by the memory store and the
 * Redis store's write-through cache.
 */
export class Lru<V> {
  private readonly entries = new Map<string, V>();

  /** @param maxKeys Most keys held; the least recently used go first. */
  constructor(readonly maxKeys: number) {
    if (!Number.isInteger(maxKeys) || maxKeys < 0)
      throw new RangeError(`maxKeys must be an integer ≥ 0, got ${maxKeys}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value of `key` (marking it recently used), or `undefined`. */
  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** The value of `key` without touching its recency. */
  peek(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** The least recently used key and its value, without touching it. */
  oldest(): [string, V] | undefined {
    return this.entries.entries().next().value;
  }

  /** Sets `key`, evicting the least recently used keys beyond the bound. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    if (this.maxKeys === 0) return;
    this.entries.set(key, value);
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  /** Deletes every entry `drop` says yes to. */
  deleteWhere(drop: (value: V, key: string) => boolean): number {
    let n = 0;
    for (const [key, value] of this.entries) {
      if (drop(value, key)) {
        this.entries.delete(key);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.entries.clear();
  }
}
