/**
 * The Redis state store against a real Redis (`REDIS_URL`, default redis://127.0.0.1:6379): one
 * round trip per batch (seen with MONITOR), fencing, TTL, tombstones, bad bytes, the local cache and
 * redaction. Every test uses its own key prefix and drops it afterwards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { StateWrite } from '../../../core/contracts.js';
import { TransientError } from '../../../core/errors.js';
import { encodeRecord, type StateSchema } from '../../../pipeline/state/record.js';
import type { RedisStateStore } from '../../../pipeline/state/redisStore.js';
import { dropNamespace, inspectKey } from '../../../pipeline/state/stateTools.js';
import { createStateStore } from '../../../pipeline/state/stateUri.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCHEMA: StateSchema = {
  fingerprint: '0123456789abcdef',
  cell: 'lstm',
  layers: 2,
  hidden: 16,
  dtype: 'float32',
};

function put(key: string, offset: number, value = offset, partition = 0): StateWrite {
  const fence = { partition, offset: String(offset) };
  const n = SCHEMA.layers * SCHEMA.hidden;
  return {
    key,
    fence,
    stored: {
      state: { h: new Float32Array(n).fill(value / 1000), c: new Float32Array(n).fill(-value / 100) },
      fence,
      totalTokens: offset * 3,
      updatedAt: 1_700_000_000_000,
    },
  };
}

/** Adds `?prefix=` (and more) to REDIS_URL. */
function uri(prefix: string, extra = ''): string {
  const sep = REDIS_URL.includes('?') ? '&' : '?';
  return `${REDIS_URL}${sep}prefix=${encodeURIComponent(prefix)}${extra}`;
}

/** Records the commands other clients send (MONITOR), synchronised by an ECHO marker. */
class CommandLog {
  private lines: string[][] = [];
  private waiters = new Map<string, () => void>();
  private constructor(
    private readonly monitor: Redis,
    private readonly marker: Redis,
  ) {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua') return;
      const waiter = args[0]?.toLowerCase() === 'echo' ? this.waiters.get(args[1]) : undefined;
      if (waiter) waiter();
      else this.lines.push(args);
    });
  }

  static async open(): Promise<CommandLog> {
    const base = new Redis(REDIS_URL);
    const monitor = base.duplicate({ monitor: true, lazyConnect: false });
    // ioredis switches a connection to monitoring one microtask after MONITOR's +OK, so lines of other
    // clients' commands that arrive in the same read are taken for replies and each raises a "Command
    // queue state error" (other test files share this Redis). Those lines predate every command this log
    // waits for, so they are dropped; any other error fails the open.
    let fail: (error: Error) => void = () => {};
    const onError = (error: Error) => {
      if (!error.message.startsWith('Command queue state error')) fail(error);
    };
    monitor.on('error', onError);
    try {
      await new Promise<void>((resolve, reject) => {
        fail = reject;
        monitor.once('monitoring', () => resolve());
      });
    } catch (error) {
      monitor.disconnect();
      base.disconnect();
      throw error;
    } finally {
      monitor.off('error', onError);
    }
    return new CommandLog(monitor, base);
  }

  /** Commands seen since the last call that mention `prefix`, once everything sent before is in. */
  async take(prefix: string): Promise<string[][]> {
    const id = randomUUID();
    const seen = new Promise<void>((resolve) => this.waiters.set(id, resolve));
    await this.marker.echo(id);
    await seen;
    this.waiters.delete(id);
    const lines = this.lines.filter((args) => args.some((a) => a.startsWith(prefix)));
    this.lines = [];
    return lines;
  }

  async close(): Promise<void> {
    this.monitor.disconnect();
    this.marker.disconnect();
  }
}

describe('RedisStateStore (single node)', () => {
  let raw: Redis;
  let log: CommandLog;
  let prefix: string;
  let store: RedisStateStore;

  before(async () => {
    raw = new Redis(REDIS_URL);
    await raw.ping();
    log = await CommandLog.open();
  });
  after(async () => {
    await log.close();
    raw.disconnect();
  });
  beforeEach(() => {
    prefix = `rnnstream-test:${randomUUID()}:`;
    store = createStateStore(uri(prefix, '&ttl=600'), SCHEMA) as RedisStateStore;
  });
  afterEach(async () => {
    await store.close();
    await dropNamespace(uri(prefix));
    assert.equal((await raw.keys(`${prefix}*`)).length, 0);
  });

  it('writes and loads a batch, each in one round trip', async () => {
    assert.equal(await store.ping(), true);
    await store.write([put('warm-up', 1)]); // the first call on a connection sends the script itself (EVAL)
    await log.take(prefix);

    const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
    const report = await store.write(keys.map((k, i) => put(k, 10 + i)));
    assert.deepEqual(report, { applied: 50, fenced: [] });
    const writes = await log.take(prefix);
    assert.equal(writes.length, 1, `commands: ${writes.map((c) => c[0]).join(',')}`);
    assert.equal(writes[0][0].toLowerCase(), 'evalsha');
    assert.equal(writes[0][2], '50'); // all keys in one call

    const fresh = createStateStore(uri(prefix), SCHEMA) as RedisStateStore; // empty cache
    const loaded = await fresh.load([...keys, 'absent']);
    const reads = await log.take(prefix);
    assert.deepEqual(
      reads.map((c) => [c[0].toLowerCase(), c.length - 1]),
      [['mget', 51]],
    );
    assert.equal(fresh.stats.loadRoundTrips, 1);
    assert.equal(loaded.size, 50);
    const k7 = loaded.get('key-7');
    assert.ok(k7?.kind === 'ok');
    assert.deepEqual(k7.stored.state.h, put('key-7', 17).stored!.state.h);
    assert.deepEqual(k7.stored.state.c, put('key-7', 17).stored!.state.c);
    assert.deepEqual(k7.stored.fence, { partition: 0, offset: '17' });
    assert.equal(k7.stored.totalTokens, 51);
    await fresh.close();
  });

  it('splits big batches into several script calls, still one pipeline', async () => {
    const small = createStateStore(uri(prefix), SCHEMA, {
      redisStore: { maxKeysPerCall: 7 },
    }) as RedisStateStore;
    await small.write([put('warm-up', 1)]);
    await log.take(prefix);
    const report = await small.write(Array.from({ length: 50 }, (_, i) => put(`k${i}`, 5)));
    assert.equal(report.applied, 50);
    assert.equal((await log.take(prefix)).length, 8);
    assert.equal(small.stats.writeRoundTrips, 2);
    await small.close();
  });

  it('refuses a replayed write and leaves the stored record unchanged', async () => {
    await store.write([put('a', 10, 10), put('b', 10)]);
    const before = await raw.getBuffer(`${prefix}a`);
    const report = await store.write([put('a', 10, 99), put('a', 3, 98), put('b', 11)]);
    assert.deepEqual(report, { applied: 1, fenced: ['a', 'a'] });
    assert.deepEqual(await raw.getBuffer(`${prefix}a`), before);
    // A newer offset wins; another partition (repartitioned topic) wins too.
    assert.equal((await store.write([put('a', 11, 97)])).applied, 1);
    assert.equal((await store.write([put('a', 2, 96, 1)])).applied, 1);
  });

  it('compares int64 offsets exactly in Lua', async () => {
    const big = (offset: string): StateWrite => ({ key: 'x', fence: { partition: 0, offset }, stored: null });
    await store.write([big('9007199254740993')]);
    assert.deepEqual((await store.write([big('9007199254740992')])).fenced, ['x']);
    assert.deepEqual((await store.write([big('9007199254740993')])).fenced, ['x']);
    assert.equal((await store.write([big('9007199254740994')])).applied, 1);
    assert.equal((await store.write([big('4294967296')])).applied, 0); // high word 1, low 0 < stored
  });

  it('sets the idle TTL on every write; ttl=0 sets none', async () => {
    await store.write([put('a', 1)]);
    const ttl = await raw.pttl(`${prefix}a`);
    assert.ok(ttl > 590_000 && ttl <= 600_000, `pttl ${ttl}`);
    const forever = createStateStore(uri(prefix, '&ttl=0'), SCHEMA);
    await forever.write([put('b', 1)]);
    assert.equal(await raw.pttl(`${prefix}b`), -1);
    await forever.close();
  });

  it('stores an ended sequence as a fence-only tombstone with the TTL', async () => {
    await store.write([put('a', 1)]);
    await store.write([{ key: 'a', fence: { partition: 0, offset: '2' }, stored: null }]);
    assert.equal((await raw.getBuffer(`${prefix}a`))?.length, 60);
    assert.ok((await raw.pttl(`${prefix}a`)) > 0);
    store.clearCache();
    assert.deepEqual((await store.load(['a'])).get('a'), {
      kind: 'ended',
      fence: { partition: 0, offset: '2' },
    });
    assert.deepEqual((await store.write([put('a', 2)])).fenced, ['a']);
  });

  it('detects bad bytes and never returns them as state', async () => {
    const good = encodeRecord(SCHEMA, put('x', 1));
    const flipped = Buffer.from(good);
    flipped[100] ^= 1;
    await raw.set(`${prefix}garbage`, 'not a record');
    await raw.set(`${prefix}flipped`, flipped);
    await raw.set(
      `${prefix}other`,
      encodeRecord({ ...SCHEMA, fingerprint: 'ffffffffffffffff' }, put('x', 1)),
    );
    await raw.hset(`${prefix}hash`, 'f', 'v');
    const loaded = await store.load(['garbage', 'flipped', 'other', 'hash']);
    assert.deepEqual(Object.fromEntries(loaded), {
      garbage: { kind: 'bad', reason: 'bad-magic' },
      flipped: { kind: 'bad', reason: 'bad-checksum' },
      other: { kind: 'bad', reason: 'other-model' },
    });
    // Unreadable values carry no fence: a write replaces them (else the key would be stuck).
    // Another model's record holds no fence over this model: a replay by a new model replaces it.
    const report = await store.write([put('garbage', 1), put('hash', 1), put('other', 1)]);
    assert.deepEqual(report, { applied: 3, fenced: [] });
    assert.equal((await store.load(['other'])).get('other')?.kind, 'ok');
  });

  it('serves keys it wrote from its cache, until their partition is revoked', async () => {
    await store.write([put('p0', 5, 5, 0), put('p1', 5, 5, 1)]);
    await log.take(prefix);
    const hit = await store.load(['p0', 'p1']);
    assert.equal(hit.size, 2);
    assert.deepEqual(await log.take(prefix), []);
    assert.equal(store.stats.cacheHits, 2);

    store.forgetPartitions([{ topic: 'in', partition: 1 }]);
    const after = await store.load(['p0', 'p1']);
    assert.deepEqual(
      (await log.take(prefix)).map((c) =>
        c.slice(0, 1).concat(c.slice(1).map((k) => k.slice(prefix.length))),
      ),
      [['mget', 'p1']],
    );
    assert.deepEqual(after.get('p1'), hit.get('p1'));
  });

  it('does not cache a write that was in flight when its partition was revoked (rebalance race)', async () => {
    const writing = store.write([put('late', 5, 5, 2)]);
    store.forgetPartitions([{ topic: 'in', partition: 2 }]); // the revocation lands mid-write
    assert.equal((await writing).applied, 1);
    await log.take(prefix);
    const loaded = await store.load(['late']);
    assert.equal(loaded.get('late')?.kind, 'ok');
    assert.deepEqual(
      (await log.take(prefix)).map((c) =>
        c.slice(0, 1).concat(c.slice(1).map((k) => k.slice(prefix.length))),
      ),
      [['mget', 'late']],
      'read from Redis, not from a re-cached entry',
    );
  });

  it('drops a fenced key from the cache (a newer writer owns it)', async () => {
    const other = createStateStore(uri(prefix), SCHEMA) as RedisStateStore;
    await store.write([put('a', 5, 5)]);
    await other.write([put('a', 8, 8)]);
    assert.deepEqual((await store.write([put('a', 6, 6)])).fenced, ['a']);
    const loaded = (await store.load(['a'])).get('a');
    assert.ok(loaded?.kind === 'ok');
    assert.equal(loaded.stored.fence.offset, '8');
    await other.close();
  });

  it('inspects a key and drops the namespace', async () => {
    await store.write([put('a', 7), put('b', 1)]);
    await raw.set(`${prefix}junk`, 'xx');
    const seen = await inspectKey(uri(prefix), 'a');
    assert.ok(seen.found && 'fingerprint' in seen.record);
    assert.equal(seen.record.fingerprint, SCHEMA.fingerprint);
    assert.deepEqual(seen.record.fence, { partition: 0, offset: '7' });
    assert.ok(seen.ttlMs !== null && seen.ttlMs > 0);
    const junk = await inspectKey(uri(prefix), 'junk');
    assert.ok(junk.found && 'bad' in junk.record && junk.record.bad === 'bad-magic');
    assert.equal((await inspectKey(uri(prefix), 'none')).found, false);
    // A prefix with glob characters matches only itself.
    await raw.set(`${prefix}*`, 'x');
    assert.equal(await dropNamespace(uri(prefix), `${prefix}*`), 1);
    assert.equal(await dropNamespace(uri(prefix)), 3);
    assert.equal(await raw.exists(`${prefix}a`), 0);
  });

  it('fails with a TransientError that never shows the password', async () => {
    const errors: Error[] = [];
    const down = createStateStore('redis://app:hunter2@127.0.0.1:1/0?prefix=x:', SCHEMA, {
      connectTimeoutMs: 500,
      onError: (e) => errors.push(e),
    });
    await assert.rejects(
      down.load(['a']),
      (e: unknown) =>
        e instanceof TransientError &&
        e.message.includes('redis://app:***@127.0.0.1:1/0') &&
        !e.message.includes('hunter2') &&
        !String(e.cause ?? '').includes('hunter2'),
    );
    await assert.rejects(down.write([put('a', 1)]), TransientError);
    assert.equal(await down.ping(), false);
    assert.ok(errors.length > 0 && errors.every((e) => !e.message.includes('hunter2')));
    await down.close();
  });
});
