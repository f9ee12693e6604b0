/**
 * Redis helpers for integration tests: a client that fails fast when Redis is absent, and cleanup of
 * one test's keys by prefix.
 */
import { Redis } from 'ioredis';
import { TransientError } from '../../core/errors.js';
import { withTimeout } from './timeout.js';

/** Options of {@link redisClient}. */
export interface RedisClientOptions {
  /**
   * Deadline for the first connection, in ms.
   * @default 5000
   */
  connectTimeoutMs?: number;
}

/** Defaults of {@link RedisClientOptions}. */
export const DEFAULT_REDIS_CLIENT_OPTIONS: Required<RedisClientOptions> = { connectTimeoutMs: 5_000 };

/**
 * A connected ioredis client for `url`, with few retries so that a missing server fails a test in
 * seconds. The caller owns it: `await client.quit()` in `after`.
 *
 * @example
 * const redis = await redisClient(services.redisUrl);
 * after(() => redis.quit());
 */
export async function redisClient(url: string, options: RedisClientOptions = {}): Promise<Redis> {
  const { connectTimeoutMs } = { ...DEFAULT_REDIS_CLIENT_OPTIONS, ...options };
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 2,
    // Give up after a few reconnects: an unbounded retry loop would keep a failed test's process alive.
    retryStrategy: (times) => (times > 5 ? null : Math.min(times * 100, 1_000)),
  });
  // Errors surface through the failing commands; without a listener ioredis also prints each one.
  client.on('error', () => undefined);
  try {
    await withTimeout(client.connect(), connectTimeoutMs, `connecting to Redis at ${url}`);
  } catch (error) {
    client.disconnect();
    throw new TransientError(
      `cannot reach Redis at ${url}: ${error instanceof Error ? error.message : String(error)} (run \`make services\`)`,
      { cause: error },
    );
  }
  return client;
}

/** Escapes Redis glob characters so that a prefix matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Deletes every key that starts with `prefix` (SCAN + UNLINK, never KEYS) and returns how many. An
 * empty prefix is refused: it would empty the whole database. Single-node Redis only (a Cluster needs a
 * scan per master).
 *
 * @example
 * const prefix = `${uniqueName('state')}:`;
 * after(() => deleteKeys(redis, prefix));
 */
export async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  if (prefix.length === 0)
    throw new RangeError('deleteKeys: prefix must not be empty (it would delete every key)');
  const pattern = `${escapeGlob(prefix)}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
