import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, RnnstreamError, TransientError } from '../../../core/errors.js';
import { keySlot } from '../../../pipeline/state/keySlot.js';
import { MemoryStateStore } from '../../../pipeline/state/memoryStore.js';
import type { StateSchema } from '../../../pipeline/state/record.js';
import { isTransientRedisError, wrapRedisError } from '../../../pipeline/state/redisErrors.js';
import { RedisStateStore } from '../../../pipeline/state/redisStore.js';
import { createStateStore, parseStateUri, redactUri } from '../../../pipeline/state/stateUri.js';

const SCHEMA: StateSchema = {
  fingerprint: 'aaaaaaaaaaaaaaaa',
  cell: 'gru',
  layers: 1,
  hidden: 4,
  dtype: 'float32',
};

describe('parseStateUri', () => {
  it('memory URIs', () => {
    assert.deepEqual(parseStateUri('memory:'), { kind: 'memory', maxKeys: undefined, ttlMs: undefined });
    assert.deepEqual(parseStateUri('memory:?maxKeys=10&ttl=60'), {
      kind: 'memory',
      maxKeys: 10,
      ttlMs: 60_000,
    });
    assert.throws(() => parseStateUri('memory:?maxkeys=10'), /unknown parameter "maxkeys"/);
    assert.throws(() => parseStateUri('memory:?maxKeys=0'), /maxKeys must be an integer ≥ 1/);
  });

  it('single-node Redis URIs', () => {
    const t = parseStateUri('redis://app:p%40ss@db.local:6380/2?prefix=prod:&ttl=3600&cacheKeys=5');
    assert.ok(t.kind === 'redis');
    assert.deepEqual(
      { ...t },
      {
        kind: 'redis',
        cluster: false,
        tls: false,
        nodes: [{ host: 'db.local', port: 6380 }],
        db: 2,
        username: 'app',
        password: 'p@ss',
        prefix: 'prod:',
        ttlMs: 3_600_000,
        cacheMaxKeys: 5,
        redacted: 'redis://app:***@db.local:6380/2?prefix=prod:&ttl=3600&cacheKeys=5',
      },
    );
    const d = parseStateUri('rediss://:secret@[::1]');
    assert.ok(d.kind === 'redis' && d.tls && d.nodes[0].host === '::1' && d.nodes[0].port === 6379);
    assert.equal(d.kind === 'redis' && d.prefix, 'rnnstream:');
    assert.equal(d.kind === 'redis' && d.password, 'secret');
    assert.equal(d.kind === 'redis' && d.username, undefined);
  });

  it('cluster URIs', () => {
    const t = parseStateUri('redis+cluster://a:7000,b:7001,c/?prefix=x:');
    assert.ok(t.kind === 'redis' && t.cluster);
    assert.deepEqual(t.nodes, [
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
      { host: 'c', port: 6379 },
    ]);
    assert.throws(() => parseStateUri('redis+cluster://a:1/3'), /only database 0/);
    assert.throws(() => parseStateUri('redis://a:1,b:2'), /redis\+cluster/);
  });

  it('errors name what to change and never show the password', () => {
    for (const uri of [
      'http://u:hunter2@x',
      'redis://u:hunter2@x:99999',
      'redis://u:hunter2@x?ttl=-1',
      'redis://u:hunter2@x/abc',
    ]) {
      assert.throws(
        () => parseStateUri(uri),
        (e: unknown) =>
          e instanceof ConfigError && !e.message.includes('hunter2') && e.message.includes('***'),
      );
    }
    assert.throws(() => parseStateUri('redis://x?prefix='), /prefix must not be empty/);
  });
});

describe('redactUri', () => {
  it('hides passwords only', () => {
    assert.equal(redactUri('redis://u:pw@h:1/0'), 'redis://u:***@h:1/0');
    assert.equal(redactUri('redis://:pw@h'), 'redis://:***@h');
    assert.equal(redactUri('redis://user@h'), 'redis://user@h');
    assert.equal(redactUri('redis://h:6379/0?prefix=p'), 'redis://h:6379/0?prefix=p');
    assert.equal(redactUri('redis+cluster://u:p:w@a:1,b:2'), 'redis+cluster://u:***@a:1,b:2');
    assert.equal(redactUri('x://h?password=pw&a=1'), 'x://h?password=***&a=1');
  });
});

describe('createStateStore', () => {
  it('builds a memory or a Redis store (without connecting)', async () => {
    const memory = createStateStore('memory:?maxKeys=3', SCHEMA);
    assert.ok(memory instanceof MemoryStateStore);
    const redis = createStateStore('redis://127.0.0.1:1/0?prefix=t:', SCHEMA);
    assert.ok(redis instanceof RedisStateStore);
    assert.equal(redis.prefix, 't:');
    redis.client.disconnect();
  });
});

describe('redis error mapping', () => {
  it('classifies transient faults', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    assert.ok(isTransientRedisError(refused));
    assert.ok(isTransientRedisError(new Error('LOADING Redis is loading the dataset in memory')));
    assert.ok(isTransientRedisError(new Error('CLUSTERDOWN The cluster is down')));
    assert.ok(isTransientRedisError(new Error('Command timed out')));
    assert.ok(isTransientRedisError(new Error('Connection is closed.')));
    assert.ok(
      !isTransientRedisError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')),
    );
    assert.ok(!isTransientRedisError(new Error('ERR unknown command')));
  });

  it('wraps into the hierarchy and scrubs secrets', () => {
    const redact = (t: string) => t.split('pw').join('***');
    const transient = wrapRedisError(new Error('TRYAGAIN pw'), 'state load (redis://h)', redact);
    assert.ok(transient instanceof TransientError && transient.retriable);
    assert.equal(transient.message, 'state load (redis://h) failed: TRYAGAIN ***');
    assert.equal(transient.cause, undefined);
    assert.ok(
      wrapRedisError(new Error('WRONGPASS invalid username-password pair'), 'x') instanceof ConfigError,
    );
    const other = wrapRedisError(new Error('ERR boom'), 'x');
    assert.ok(other instanceof RnnstreamError && !other.retriable);
    const bug = new TypeError('bug');
    assert.equal(wrapRedisError(bug, 'x'), bug);
  });
});

describe('keySlot', () => {
  it('matches Redis Cluster slots, hash tags included', () => {
    assert.equal(keySlot('foo'), 12182);
    assert.equal(keySlot('123456789'), 12739);
    assert.equal(keySlot('{user1000}.following'), keySlot('user1000'));
    assert.notEqual(keySlot('foo{}{bar}'), keySlot('bar')); // an empty first tag: the whole key is hashed
    assert.equal(keySlot('foo{}{bar}'), 8363); // redis-cli CLUSTER KEYSLOT (cluster-key-slot 1.1.1 says 4015)
    assert.equal(keySlot('foo{{bar}}zap'), 4015); // redis-cli CLUSTER KEYSLOT
  });
});
