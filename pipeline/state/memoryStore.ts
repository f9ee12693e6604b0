/**
 * The embedded, in-process state store (the default with no Redis configured): a bounded LRU of
 * encoded records with an idle TTL, and the same fence rule as the Redis store. Records are kept as
 * their encoded bytes so memory per key is predictable (header + values + checksum) and a load
 * returns exactly what Redis would (float16 rounding included).
 */
import type { LoadedState, StateWrite, WriteReport } from '../../core/contracts.js';
import type { StateStore } from '../connectors.js';
import { withDefaults } from './defaults.js';
import { Lru } from './lru.js';
import {
  decodeRecord,
  encodeRecord,
  fenceAllows,
  readFence,
  type StateSchema,
  validateSchema,
} from './record.js';

/** Options of {@link MemoryStateStore}. */
export interface MemoryStoreOptions {
  /**
   * Most keys held; the least recently used are evicted beyond it (their sequences restart from zeros).
   * @default 100000
   */
  maxKeys?: number;
  /**
   * Idle time to live in ms: a key not written for this long is gone (as Redis' `PX`). 0 = never expires.
   * @default 86400000 (24 h)
   */
  ttlMs?: number;
  /** Writer generation stored in every record. @default 0 */
  generation?: number;
  /** Clock in ms, injectable for tests. @default Date.now */
  now?: () => number;
}

/** Defaults of {@link MemoryStoreOptions}. */
export const DEFAULT_MEMORY_STORE_OPTIONS: Required<MemoryStoreOptions> = {
  maxKeys: 100_000,
  ttlMs: 24 * 60 * 60 * 1000,
  generation: 0,
  now: Date.now,
};

interface Entry {
  bytes: Buffer;
  /** Absolute expiry in ms (Infinity = none). */
  expiresAt: number;
}

/**
 * In-process {@link StateStore}: loads and writes are synchronous underneath, so "one round trip" is free.
 *
 * @example
 * const store = new MemoryStateStore(schema, { maxKeys: 10_000 });
 * await store.write([{ key: 'k', fence: { partition: 0, offset: '7' }, stored }]);
 */
export class MemoryStateStore implements StateStore {
  private readonly options: Required<MemoryStoreOptions>;
  private readonly entries: Lru<Entry>;

  constructor(
    private readonly schema: StateSchema,
    options: MemoryStoreOptions = {},
  ) {
    validateSchema(schema);
    this.options = withDefaults(DEFAULT_MEMORY_STORE_OPTIONS, options);
    const { maxKeys, ttlMs } = this.options;
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new RangeError(`maxKeys must be an integer ≥ 1, got ${maxKeys}`);
    if (!(ttlMs >= 0)) throw new RangeError(`ttlMs must be ≥ 0, got ${ttlMs}`);
    this.entries = new Lru(maxKeys);
  }

  /** Keys currently held (expired ones included until touched). */
  get size(): number {
    return this.entries.size;
  }

  async load(keys: readonly string[]): Promise<Map<string, LoadedState>> {
    const out = new Map<string, LoadedState>();
    for (const key of keys) {
      const bytes = this.live(key);
      if (bytes) out.set(key, decodeRecord(this.schema, bytes));
    }
    return out;
  }

  async write(writes: readonly StateWrite[]): Promise<WriteReport> {
    const report: WriteReport = { applied: 0, fenced: [] };
    const now = this.options.now();
    const expiresAt = this.options.ttlMs > 0 ? now + this.options.ttlMs : Number.POSITIVE_INFINITY;
    for (const write of writes) {
      const current = this.live(write.key);
      // A fence guards one model's states: another model's record (fingerprint at bytes 24–31) is replaced.
      const sameModel = current !== undefined && current.toString('hex', 24, 32) === this.schema.fingerprint;
      if (current && sameModel && !fenceAllows(readFence(current), write.fence)) {
        report.fenced.push(write.key);
        continue;
      }
      this.entries.set(write.key, {
        bytes: encodeRecord(this.schema, write, this.options.generation),
        expiresAt,
      });
      report.applied++;
    }
    this.sweep(now);
    return report;
  }

  /** The raw record bytes of `key` (for the `inspect` tool and tests), or `undefined`. */
  readRaw(key: string): Buffer | undefined {
    return this.live(key);
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  /** Drops expired keys from the old end, so idle sequences free their memory without waiting for eviction. */
  private sweep(now: number, budget = 16): void {
    for (let oldest = this.entries.oldest(); oldest && budget > 0; oldest = this.entries.oldest(), budget--) {
      if (oldest[1].expiresAt > now) return;
      this.entries.delete(oldest[0]);
    }
  }

  /** The bytes of a key that has not expired (an expired one is dropped on the way). */
  private live(key: string): Buffer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.options.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.bytes;
  }
}
