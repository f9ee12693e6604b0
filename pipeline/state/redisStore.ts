/**
 * The Redis state store: one binary record per key under a namespace prefix, loaded with one round
 * trip per batch (MGET; per node in Cluster mode) and written with one fenced Lua compare-and-set per
 * batch (per node in Cluster mode), with a local write-through cache for the keys this worker wrote.
 */
import type { Cluster, Redis } from 'ioredis';
import type { LoadedState, StateWrite, WriteReport } from '../../core/contracts.js';
import { TransientError } from '../../core/errors.js';
import type { StateStore } from '../connectors.js';
import { withDefaults } from './defaults.js';
import { FENCED_SET_COMMAND, FENCED_SET_LUA } from './fenceScript.js';
import { keySlot } from './keySlot.js';
import { Lru } from './lru.js';
import { decodeRecord, encodeRecord, type StateSchema, validateSchema } from './record.js';
import { wrapRedisError } from './redisErrors.js';

/** Options of {@link RedisStateStore}. */
export interface RedisStoreOptions {
  /**
   * Namespace of every key (`${prefix}${key}`): one per deployment, or per replay rebuild.
   * @default 'rnnstream:'
   */
  prefix?: string;
  /**
   * Idle time to live in ms, set on every write (`PX`): a sequence idle this long is forgotten. 0 = never.
   * @default 86400000 (24 h)
   */
  ttlMs?: number;
  /**
   * Most keys in the local write-through cache (the newest record this worker wrote per key). 0 = no cache.
   * @default 10000
   */
  cacheMaxKeys?: number;
  /**
   * Most keys per Lua call: a script blocks Redis while it runs, so big batches are split into several
   * calls, still sent in one pipeline (one round trip).
   * @default 500
   */
  maxKeysPerCall?: number;
  /** Writer generation stored in every record (e.g. the consumer group generation). @default 0 */
  generation?: number;
  /** Where the store points, for error messages: must already be redacted. @default 'redis' */
  label?: string;
  /** Scrubs secrets (the password) out of driver messages. @default identity */
  redact?: (text: string) => string;
}

/** Defaults of {@link RedisStoreOptions}. */
export const DEFAULT_REDIS_STORE_OPTIONS: Required<RedisStoreOptions> = {
  prefix: 'rnnstream:',
  ttlMs: 24 * 60 * 60 * 1000,
  cacheMaxKeys: 10_000,
  maxKeysPerCall: 500,
  generation: 0,
  label: 'redis',
  redact: (text) => text,
};

/** A cached record: its bytes (decoded on a hit, so a hit returns exactly what Redis would) and partition. */
interface CacheEntry {
  bytes: Buffer;
  partition: number;
}

/** The fenced-set script as ioredis exposes it after `defineCommand` (clients and pipelines alike). */
type FencedSet = (numKeys: number, ...args: (string | number | Buffer)[]) => unknown;
type Client = Redis | Cluster;

/** Counters for metrics and tests: what went to Redis. */
export interface RedisStoreStats {
  /** Batches that needed Redis (every node of a Cluster batch is reached in parallel: one round trip). */
  loadRoundTrips: number;
  writeRoundTrips: number;
  cacheHits: number;
  cacheMisses: number;
}

/**
 * {@link StateStore} over an ioredis client (`Redis` or `Cluster`), which it owns and closes.
 *
 * @example
 * const store = new RedisStateStore(new Redis({ lazyConnect: true }), schema, { prefix: 'prod:' });
 * const states = await store.load(['user-1', 'user-2']);
 */
export class RedisStateStore implements StateStore {
  readonly stats: RedisStoreStats = { loadRoundTrips: 0, writeRoundTrips: 0, cacheHits: 0, cacheMisses: 0 };
  /** Counts `forgetPartitions` calls: a write that saw one while in flight caches nothing. */
  private forgets = 0;
  private readonly options: Required<RedisStoreOptions>;
  private readonly cache: Lru<CacheEntry>;

  constructor(
    readonly client: Client,
    private readonly schema: StateSchema,
    options: RedisStoreOptions = {},
  ) {
    validateSchema(schema);
    this.options = withDefaults(DEFAULT_REDIS_STORE_OPTIONS, options);
    const { ttlMs, cacheMaxKeys, maxKeysPerCall } = this.options;
    if (!(ttlMs >= 0) || !Number.isInteger(ttlMs))
      throw new RangeError(`ttlMs must be an integer ≥ 0, got ${ttlMs}`);
    if (!(maxKeysPerCall >= 1)) throw new RangeError(`maxKeysPerCall must be ≥ 1, got ${maxKeysPerCall}`);
    this.cache = new Lru(cacheMaxKeys);
  }

  /** The key prefix (namespace). */
  get prefix(): string {
    return this.options.prefix;
  }

  async load(keys: readonly string[]): Promise<Map<string, LoadedState>> {
    const out = new Map<string, LoadedState>();
    const misses: string[] = [];
    for (const key of keys) {
      const hit = this.cache.get(key);
      if (hit) out.set(key, decodeRecord(this.schema, hit.bytes));
      else if (!out.has(key)) misses.push(key);
    }
    this.stats.cacheHits += keys.length - misses.length;
    this.stats.cacheMisses += misses.length;
    if (misses.length === 0) return out;
    const values = await this.guard('state load', () => this.fetch(misses));
    this.stats.loadRoundTrips++;
    misses.forEach((key, i) => {
      const bytes = values[i];
      if (bytes) out.set(key, decodeRecord(this.schema, bytes));
    });
    return out;
  }

  async write(writes: readonly StateWrite[]): Promise<WriteReport> {
    if (writes.length === 0) return { applied: 0, fenced: [] };
    const records = writes.map((w) => encodeRecord(this.schema, w, this.options.generation));
    // A partition forgotten while this write was in flight (a rebalance) must not get its entries back.
    const forgets = this.forgets;
    let results: number[];
    try {
      results = await this.guard('state write', () => this.fencedSet(writes, records));
    } catch (error) {
      // Some keys may have been written: the cache cannot know which, so Redis becomes the truth again.
      for (const w of writes) this.cache.delete(w.key);
      throw error;
    }
    this.stats.writeRoundTrips++;
    const report: WriteReport = { applied: 0, fenced: [] };
    writes.forEach((w, i) => {
      if (results[i] === 1) {
        report.applied++;
        if (this.forgets === forgets)
          this.cache.set(w.key, { bytes: records[i], partition: w.fence.partition });
        else this.cache.delete(w.key);
      } else {
        // Someone else's newer write holds the key: only Redis knows it.
        report.fenced.push(w.key);
        this.cache.delete(w.key);
      }
    });
    return report;
  }

  /**
   * Drops cached keys of revoked partitions: another worker will write them now. The fence carries no
   * topic, so a partition number is dropped for every topic (with several input topics this only costs
   * a few extra Redis reads).
   */
  forgetPartitions(partitions: readonly { topic: string; partition: number }[]): void {
    this.forgets++;
    const gone = new Set(partitions.map((p) => p.partition));
    if (gone.size > 0) this.cache.deleteWhere((entry) => gone.has(entry.partition));
  }

  /** Empties the local cache (e.g. after losing every partition). */
  clearCache(): void {
    this.cache.clear();
  }

  /** The raw bytes stored under `key` (bypassing the cache), for the `inspect` tool and tests. */
  async readRaw(key: string): Promise<Buffer | null> {
    return this.guard('state read', () => this.client.getBuffer(this.options.prefix + key));
  }

  /** True when Redis answers PING; false at once while ioredis is reconnecting (readiness probes stay fast). */
  async ping(): Promise<boolean> {
    if (['reconnecting', 'close', 'end'].includes(this.client.status)) return false;
    try {
      if (isCluster(this.client)) {
        const masters = this.client.nodes('master');
        if (masters.length === 0) return (await this.client.ping()) === 'PONG';
        const replies = await Promise.all(masters.map((node) => node.ping()));
        return replies.every((r) => r === 'PONG');
      }
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.cache.clear();
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /** Runs a Redis operation, wrapping its failure as Transient/Config/Rnnstream error with a redacted message. */
  private async guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      // A moved slot or a failed-over master: learn the new map before the pipeline retries.
      if (
        isCluster(this.client) &&
        error instanceof Error &&
        /^(MOVED|ASK|CLUSTERDOWN|READONLY)\b/.test(error.message)
      ) {
        this.client.refreshSlotsCache();
      }
      throw wrapRedisError(error, `${what} (${this.options.label})`, this.options.redact);
    }
  }

  /** Raw values of `keys` in order, in one round trip (one pipeline per Cluster master, in parallel). */
  private async fetch(keys: readonly string[]): Promise<(Buffer | null)[]> {
    const prefixed = keys.map((k) => this.options.prefix + k);
    const client = this.client;
    if (!isCluster(client)) return client.mgetBuffer(...prefixed);
    const values: (Buffer | null)[] = new Array(keys.length).fill(null);
    await Promise.all(
      (await this.groupByNode(client, prefixed)).map(async ({ node, slots }) => {
        const pipeline = node.pipeline();
        for (const indexes of slots) pipeline.mgetBuffer(...indexes.map((i) => prefixed[i]));
        unwrap(await pipeline.exec()).forEach((reply, g) => {
          slots[g].forEach((index, j) => {
            values[index] = (reply as (Buffer | null)[])[j];
          });
        });
      }),
    );
    return values;
  }

  /** Runs the fenced-set script over all writes in one round trip; returns 1 (written) or 0 (fenced) per write. */
  private async fencedSet(writes: readonly StateWrite[], records: Buffer[]): Promise<number[]> {
    const prefixed = writes.map((w) => this.options.prefix + w.key);
    const results: number[] = new Array(writes.length).fill(0);
    const send = async (node: Redis, groups: number[][]) => {
      if (!(FENCED_SET_COMMAND in node)) node.defineCommand(FENCED_SET_COMMAND, { lua: FENCED_SET_LUA });
      const pipeline = node.pipeline();
      const script = (pipeline as unknown as Record<string, FencedSet>)[FENCED_SET_COMMAND];
      const calls: number[][] = [];
      for (const group of groups) {
        for (let at = 0; at < group.length; at += this.options.maxKeysPerCall) {
          const chunk = group.slice(at, at + this.options.maxKeysPerCall);
          const keys = chunk.map((i) => prefixed[i]);
          script.call(pipeline, chunk.length, ...keys, this.options.ttlMs, ...chunk.map((i) => records[i]));
          calls.push(chunk);
        }
      }
      unwrap(await pipeline.exec()).forEach((reply, c) => {
        calls[c].forEach((index, j) => {
          results[index] = Number((reply as number[])[j]);
        });
      });
    };
    const client = this.client;
    if (!isCluster(client)) {
      await send(client, [writes.map((_, i) => i)]);
    } else {
      const nodes = await this.groupByNode(client, prefixed);
      await Promise.all(nodes.map(({ node, slots }) => send(node, slots)));
    }
    return results;
  }

  /**
   * Groups key indexes by the master serving their slot, then by slot (Redis Cluster refuses multi-key
   * commands across slots). Commands go straight to each master's connection, grouped by the slot Redis
   * itself computes ({@link keySlot}): ioredis' own routing (cluster-key-slot 1.1.1) hashes keys such as
   * `a{}{b}` differently from Redis and would reject or misroute them. A MOVED/ASK reply (resharding)
   * refreshes the slot map and surfaces as a TransientError: the batch is retried, and the fenced write
   * makes a retry harmless.
   */
  private async groupByNode(
    client: Cluster,
    keys: readonly string[],
  ): Promise<{ node: Redis; slots: number[][] }[]> {
    if (client.slots.length === 0) await client.ping(); // connects and loads the slot map
    const masters = new Map(client.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]));
    const byNode = new Map<Redis, Map<number, number[]>>();
    keys.forEach((key, i) => {
      const slot = keySlot(key);
      const node = masters.get(client.slots[slot]?.[0] ?? '');
      if (!node) {
        client.refreshSlotsCache();
        throw new TransientError(`no Redis Cluster master is known for slot ${slot} yet`);
      }
      const slots = byNode.get(node) ?? new Map<number, number[]>();
      byNode.set(node, slots);
      const group = slots.get(slot);
      if (group) group.push(i);
      else slots.set(slot, [i]);
    });
    return [...byNode].map(([node, slots]) => ({ node, slots: [...slots.values()] }));
  }
}

function isCluster(client: Client): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** Pipeline replies, throwing the first per-command error (ioredis resolves them as `[err, value]`). */
function unwrap(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new Error('Connection is closed.'); // exec() of a discarded pipeline
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
