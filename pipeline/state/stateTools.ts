/**
 * Small state tools behind the CLI: inspect one key's record, drop a whole namespace. They talk to
 * Redis directly (a memory store lives inside its process, so there is nothing to inspect from outside).
 */
import type { Cluster, Redis } from 'ioredis';
import { ConfigError } from '../../core/errors.js';
import { type BadRecordReason, type RecordSummary, summarizeRecord } from './record.js';
import { wrapRedisError } from './redisErrors.js';
import {
  connectRedis,
  parseStateUri,
  type RedisConnectOptions,
  type RedisTarget,
  redactor,
} from './stateUri.js';

/** What `inspect` found under a key. */
export type KeyInspection =
  | { key: string; redisKey: string; found: false }
  | {
      key: string;
      redisKey: string;
      found: true;
      /** Remaining idle TTL in ms (null = none). */
      ttlMs: number | null;
      /** The decoded header, or why the bytes are not a usable record. */
      record: RecordSummary | { bad: BadRecordReason; bytes: number };
    };

function redisTarget(uri: string, tool: string): RedisTarget {
  const target = parseStateUri(uri);
  if (target.kind !== 'redis') {
    throw new ConfigError(
      `${tool} needs a redis:// state URI: a memory: store lives inside a running process`,
    );
  }
  return target;
}

async function withClient<T>(
  target: RedisTarget,
  what: string,
  options: RedisConnectOptions,
  run: (client: Redis | Cluster) => Promise<T>,
): Promise<T> {
  const client = connectRedis(target, options);
  try {
    return await run(client);
  } catch (error) {
    throw wrapRedisError(error, `${what} (${target.redacted})`, redactor(target));
  } finally {
    client.disconnect();
  }
}

/**
 * Reads and decodes the record of `key` under the URI's prefix (no schema needed: the record says
 * which model wrote it).
 *
 * @example await inspectKey('redis://127.0.0.1:6379/0?prefix=prod:', 'user-42')
 */
export async function inspectKey(
  uri: string,
  key: string,
  options: RedisConnectOptions = {},
): Promise<KeyInspection> {
  const target = redisTarget(uri, 'inspect');
  const redisKey = target.prefix + key;
  return withClient(target, 'state inspect', options, async (client) => {
    const [bytes, pttl] = await Promise.all([client.getBuffer(redisKey), client.pttl(redisKey)]);
    if (!bytes) return { key, redisKey, found: false };
    const parsed = summarizeRecord(bytes);
    return {
      key,
      redisKey,
      found: true,
      ttlMs: pttl >= 0 ? pttl : null,
      record: parsed.ok ? parsed.summary : { bad: parsed.reason, bytes: bytes.length },
    };
  });
}

/** Escapes Redis glob characters so a prefix matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Deletes every key of a namespace (SCAN + UNLINK in batches, on every master of a Cluster) and
 * returns how many went. `prefix` defaults to the URI's; an empty one is refused.
 *
 * @example await dropNamespace('redis://127.0.0.1:6379/0', 'replay-2024-05:')
 */
export async function dropNamespace(
  uri: string,
  prefix?: string,
  options: RedisConnectOptions & { scanCount?: number } = {},
): Promise<number> {
  const target = redisTarget(uri, 'drop');
  const namespace = prefix ?? target.prefix;
  if (namespace === '')
    throw new ConfigError('drop: the prefix must not be empty (that would drop the database)');
  const match = `${escapeGlob(namespace)}*`;
  return withClient(target, 'state drop', options, async (client) => {
    const nodes: Redis[] = [];
    if ((client as Cluster).isCluster) {
      const cluster = client as Cluster;
      if (cluster.slots.length === 0) await cluster.ping();
      nodes.push(...cluster.nodes('master'));
    } else {
      nodes.push(client as Redis);
    }
    let dropped = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', options.scanCount ?? 1000);
        cursor = next;
        if (keys.length > 0) {
          // One UNLINK per key in a pipeline: Cluster refuses multi-key commands across slots.
          const pipeline = node.pipeline();
          for (const key of keys) pipeline.unlink(key);
          for (const [error, count] of (await pipeline.exec()) ?? []) {
            if (error) throw error;
            dropped += Number(count);
          }
        }
      } while (cursor !== '0');
    }
    return dropped;
  });
}
