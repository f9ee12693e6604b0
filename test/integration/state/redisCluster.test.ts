/**
 * The Redis state store against a real 3-master Redis Cluster started here (redis-server and redis-cli
 * on PATH) on free loopback ports in a temp dir, shut down and removed afterwards whatever happens.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { StateWrite } from '../../../core/contracts.js';
import { keySlot } from '../../../pipeline/state/keySlot.js';
import { encodeRecord, type StateSchema } from '../../../pipeline/state/record.js';
import type { RedisStateStore } from '../../../pipeline/state/redisStore.js';
import { dropNamespace, inspectKey } from '../../../pipeline/state/stateTools.js';
import { createStateStore } from '../../../pipeline/state/stateUri.js';

const run = promisify(execFile);
const SCHEMA: StateSchema = {
  fingerprint: 'abcdefabcdef0123',
  cell: 'gru',
  layers: 1,
  hidden: 8,
  dtype: 'float16',
};

function put(key: string, offset: number, partition = 0): StateWrite {
  const fence = { partition, offset: String(offset) };
  return {
    key,
    fence,
    stored: {
      state: { h: new Float32Array(8).fill(offset / 1000) },
      fence,
      totalTokens: offset,
      updatedAt: 1,
    },
  };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Three ports P whose cluster bus ports P+10000 are free too. */
async function freePorts(): Promise<number[]> {
  const ports: number[] = [];
  for (let p = 20000 + Math.floor(Math.random() * 20000); ports.length < 3; p++) {
    if ((await portIsFree(p)) && (await portIsFree(p + 10000))) ports.push(p);
  }
  return ports;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Counts the pipelines sent to each master of a store's Cluster client. */
function countPipelines(store: RedisStateStore): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of (store.client as InstanceType<typeof Redis.Cluster>).nodes('master')) {
    const name = `${node.options.host}:${node.options.port}`;
    counts[name] = 0;
    const pipeline = node.pipeline.bind(node);
    node.pipeline = (...args: Parameters<typeof pipeline>) => {
      counts[name]++;
      return pipeline(...args);
    };
  }
  return counts;
}

/** The cluster is started from the local binaries; without them the suite says so and skips. */
const MISSING_BINARIES = ['redis-server', 'redis-cli'].filter(
  (bin) => !process.env.PATH?.split(delimiter).some((dir) => existsSync(join(dir, bin))),
);

describe('RedisStateStore (Redis Cluster, 3 masters)', {
  timeout: 60_000,
  skip: MISSING_BINARIES.length > 0 && `${MISSING_BINARIES.join(' and ')} not on PATH`,
}, () => {
  let dir: string;
  let ports: number[] = [];
  let clusterUri: string;
  let store: RedisStateStore;
  let nodes: Redis[] = [];
  const prefix = `rnnstream-test:${randomUUID()}:`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rnnstream-cluster-'));
    ports = await freePorts();
    for (const port of ports) {
      await run('redis-server', [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'yes',
        '--logfile',
        join(dir, `${port}.log`),
      ]);
    }
    nodes = ports.map((port) => new Redis({ port, host: '127.0.0.1', lazyConnect: true }));
    for (const node of nodes) node.on('error', () => {}); // refused until the daemon listens
    await waitFor(
      async () => (await Promise.all(nodes.map((n) => n.ping()))).every((r) => r === 'PONG'),
      'nodes',
    );
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await waitFor(
      async () =>
        (await Promise.all(nodes.map((n) => n.cluster('INFO')))).every((i) => i.includes('cluster_state:ok')),
      'cluster_state:ok',
    );
    clusterUri = `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}/?prefix=${encodeURIComponent(prefix)}`;
    store = createStateStore(clusterUri, SCHEMA) as RedisStateStore;
  });

  after(async () => {
    await store?.close().catch(() => {});
    for (const node of nodes) node.disconnect();
    for (const port of ports) {
      await run('redis-cli', ['-p', String(port), 'shutdown', 'nosave']).catch(() => {});
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('computes the slots Redis computes', async () => {
    const keys = [
      'foo',
      'a{}{b}',
      'foo{{bar}}zap',
      '{user1}.x',
      'héllo',
      '',
      '{',
      '}{x}',
      ...Array.from({ length: 50 }, () => randomUUID()),
    ];
    const slots = await Promise.all(keys.map((k) => nodes[0].cluster('KEYSLOT', k)));
    assert.deepEqual(keys.map(keySlot), slots.map(Number));
  });

  it('writes and loads keys spread over every master, one round trip per batch', async () => {
    assert.equal(await store.ping(), true);
    // Keys whose slot ioredis' cluster-key-slot gets wrong are routed by the real slot.
    const keys = [...Array.from({ length: 300 }, (_, i) => `user-${i}`), 'a{}{b}', 'c{}{b}'];
    const report = await store.write(keys.map((k, i) => put(k, 100 + i)));
    assert.deepEqual(report, { applied: keys.length, fenced: [] });
    assert.equal(store.stats.writeRoundTrips, 1);

    const perNode = await Promise.all(nodes.map((n) => n.dbsize()));
    assert.ok(
      perNode.every((n) => n > 50),
      `keys per node: ${perNode}`,
    );

    const fresh = createStateStore(clusterUri, SCHEMA) as RedisStateStore;
    assert.equal(await fresh.ping(), true);
    const pipelines = countPipelines(fresh);
    const loaded = await fresh.load([...keys, 'absent']);
    assert.equal(fresh.stats.loadRoundTrips, 1);
    assert.deepEqual(Object.values(pipelines), [1, 1, 1], 'one pipeline per master');
    await fresh.write(keys.map((k, i) => put(k, 1000 + i)));
    assert.deepEqual(Object.values(pipelines), [2, 2, 2], 'one pipeline per master');
    assert.equal(loaded.size, keys.length);
    const last = loaded.get('c{}{b}');
    assert.ok(last?.kind === 'ok');
    assert.deepEqual(last.stored.fence, { partition: 0, offset: String(100 + keys.length - 1) });
    assert.ok(Math.abs(last.stored.state.h[0] - (100 + keys.length - 1) / 1000) < 2 ** -11);
    await fresh.close();
  });

  it('fences replays on every node', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `fence-${i}`);
    await store.write(keys.map((k) => put(k, 10)));
    const report = await store.write(keys.map((k, i) => put(k, i % 2 === 0 ? 10 : 11)));
    assert.equal(report.applied, 15);
    assert.deepEqual(
      report.fenced,
      keys.filter((_, i) => i % 2 === 0),
    );
    store.clearCache();
    const loaded = await store.load(keys);
    keys.forEach((k, i) => {
      const state = loaded.get(k);
      assert.ok(state?.kind === 'ok');
      assert.equal(state.stored.fence.offset, i % 2 === 0 ? '10' : '11');
    });
  });

  it('detects bad bytes, serves its cache, forgets revoked partitions', async () => {
    const direct = new Redis.Cluster([{ host: '127.0.0.1', port: ports[0] }]);
    await direct.set(
      `${prefix}bad`,
      encodeRecord({ ...SCHEMA, fingerprint: '0000000000000000' }, put('bad', 1)),
    );
    await store.write([put('mine', 5, 3)]);
    const before = store.stats.loadRoundTrips;
    assert.equal((await store.load(['mine'])).get('mine')?.kind, 'ok');
    assert.equal(store.stats.loadRoundTrips, before); // from the cache
    store.forgetPartitions([{ topic: 't', partition: 3 }]);
    const loaded = await store.load(['mine', 'bad']);
    assert.equal(store.stats.loadRoundTrips, before + 1);
    assert.equal(loaded.get('mine')?.kind, 'ok');
    assert.deepEqual(loaded.get('bad'), { kind: 'bad', reason: 'other-model' });
    direct.disconnect();
  });

  it('inspects a key and drops the namespace on every master', async () => {
    const seen = await inspectKey(clusterUri, 'user-7');
    assert.ok(seen.found && 'fence' in seen.record && seen.record.dtype === 'float16');
    const dropped = await dropNamespace(clusterUri);
    assert.ok(dropped >= 334, `dropped ${dropped}`);
    assert.deepEqual(await Promise.all(nodes.map((n) => n.dbsize())), [0, 0, 0]);
  });
});
