import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StateWrite } from '../../../core/contracts.js';
import { MemoryStateStore } from '../../../pipeline/state/memoryStore.js';
import type { StateSchema } from '../../../pipeline/state/record.js';

const SCHEMA: StateSchema = {
  fingerprint: 'aaaaaaaaaaaaaaaa',
  cell: 'lstm',
  layers: 1,
  hidden: 4,
  dtype: 'float32',
};

function put(key: string, offset: number, value = offset, partition = 0): StateWrite {
  const fence = { partition, offset: String(offset) };
  return {
    key,
    fence,
    stored: {
      state: { h: new Float32Array(4).fill(value / 100), c: new Float32Array(4).fill(-value / 100) },
      fence,
      totalTokens: offset,
      updatedAt: 1000,
    },
  };
}

function clock(start = 0) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('MemoryStateStore', () => {
  it('loads what it wrote, and nothing for unknown keys', async () => {
    const store = new MemoryStateStore(SCHEMA);
    assert.deepEqual(await store.write([put('a', 1), put('b', 2)]), { applied: 2, fenced: [] });
    const loaded = await store.load(['a', 'b', 'c']);
    assert.equal(loaded.size, 2);
    const a = loaded.get('a');
    assert.ok(a?.kind === 'ok');
    assert.deepEqual([...a.stored.state.c!], [-0.01, -0.01, -0.01, -0.01].map(Math.fround));
    assert.equal(a.stored.totalTokens, 1);
    assert.equal(await store.ping(), true);
  });

  it('refuses a replayed (equal or older) write and keeps the state', async () => {
    const store = new MemoryStateStore(SCHEMA);
    await store.write([put('a', 10, 10)]);
    const report = await store.write([put('a', 10, 55), put('a', 9, 66), put('b', 1)]);
    assert.deepEqual(report, { applied: 1, fenced: ['a', 'a'] });
    const a = (await store.load(['a'])).get('a');
    assert.ok(a?.kind === 'ok');
    assert.equal(a.stored.state.h[0], Math.fround(0.1));
    assert.equal(a.stored.fence.offset, '10');
    assert.equal((await store.write([put('a', 11, 77)])).applied, 1);
  });

  it('accepts a write from another partition (repartitioned topic)', async () => {
    const store = new MemoryStateStore(SCHEMA);
    await store.write([put('a', 100, 1, 0)]);
    assert.equal((await store.write([put('a', 3, 2, 1)])).applied, 1);
  });

  it('keeps the fence of an ended sequence', async () => {
    const store = new MemoryStateStore(SCHEMA);
    await store.write([put('a', 5)]);
    await store.write([{ key: 'a', fence: { partition: 0, offset: '6' }, stored: null }]);
    assert.deepEqual((await store.load(['a'])).get('a'), {
      kind: 'ended',
      fence: { partition: 0, offset: '6' },
    });
    assert.deepEqual((await store.write([put('a', 6)])).fenced, ['a']);
    assert.equal((await store.write([put('a', 7)])).applied, 1);
  });

  it('evicts the least recently used key beyond maxKeys', async () => {
    const store = new MemoryStateStore(SCHEMA, { maxKeys: 2 });
    await store.write([put('a', 1), put('b', 1)]);
    await store.load(['a']); // a is now younger than b
    await store.write([put('c', 1)]);
    assert.deepEqual([...(await store.load(['a', 'b', 'c'])).keys()], ['a', 'c']);
    assert.equal(store.size, 2);
  });

  it('forgets a key idle for ttlMs, counted from its last write', async () => {
    const c = clock(1000);
    const store = new MemoryStateStore(SCHEMA, { ttlMs: 500, now: c.now });
    await store.write([put('a', 1)]);
    c.t = 1400;
    await store.write([put('a', 2)]);
    c.t = 1899;
    assert.equal((await store.load(['a'])).size, 1);
    c.t = 1900;
    assert.equal((await store.load(['a'])).size, 0);
    // An expired record no longer fences: the sequence starts again.
    assert.equal((await store.write([put('a', 1)])).applied, 1);
  });

  it('frees expired keys on later writes without waiting for eviction', async () => {
    const c = clock(0);
    const store = new MemoryStateStore(SCHEMA, { ttlMs: 10, now: c.now });
    await store.write([put('a', 1), put('b', 1)]);
    c.t = 20;
    await store.write([put('c', 1)]);
    assert.equal(store.size, 1);
  });

  it('never expires with ttlMs 0', async () => {
    const c = clock(0);
    const store = new MemoryStateStore(SCHEMA, { ttlMs: 0, now: c.now });
    await store.write([put('a', 1)]);
    c.t = 1e15;
    assert.equal((await store.load(['a'])).size, 1);
  });

  it('reports a record of another model as bad', async () => {
    const other = new MemoryStateStore({ ...SCHEMA, fingerprint: 'bbbbbbbbbbbbbbbb' });
    await other.write([put('a', 1)]);
    const store = new MemoryStateStore(SCHEMA);
    // Same bytes under another schema: the memory store decodes with its own schema.
    (store as unknown as { entries: { set(k: string, v: unknown): void } }).entries.set('a', {
      bytes: other.readRaw('a'),
      expiresAt: Number.POSITIVE_INFINITY,
    });
    assert.deepEqual((await store.load(['a'])).get('a'), { kind: 'bad', reason: 'other-model' });
  });

  it('rejects bad options', () => {
    assert.throws(() => new MemoryStateStore(SCHEMA, { maxKeys: 0 }), /maxKeys/);
    assert.throws(() => new MemoryStateStore(SCHEMA, { ttlMs: -1 }), /ttlMs/);
    assert.throws(() => new MemoryStateStore({ ...SCHEMA, fingerprint: 'nope' }), /fingerprint/);
  });
});
