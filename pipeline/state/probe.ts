/**
 * A quick look at a Redis state store for start-up checks and `rnnstream doctor`: can it be reached, and
 * does it persist what it holds (AOF or RDB snapshots)? Without either, a Redis restart loses the state.
 */
import { connectRedis, type RedisTarget, redactor } from './stateUri.js';

/** Persistence settings of a Redis (`CONFIG GET appendonly` and `save`). */
export interface RedisPersistence {
  /** `yes` or `no`. */
  appendonly: string;
  /** RDB snapshot rules, e.g. `3600 1 300 100`; empty = no snapshots. */
  save: string;
}

/** What {@link probeRedis} found. */
export type RedisProbe =
  | { reachable: false; reason: string }
  | { reachable: true; persistence: RedisPersistence }
  /** Reachable, but CONFIG is refused (managed Redis, ACLs): persistence unknown. */
  | { reachable: true; persistence: undefined; reason: string };

/** Whether these settings keep the data across a restart (AOF on, or at least one snapshot rule). */
export function isDurable(persistence: RedisPersistence): boolean {
  return persistence.appendonly === 'yes' || persistence.save.trim() !== '';
}

/**
 * PINGs the target and reads its persistence settings; fails fast (short timeouts, no reconnect loop).
 *
 * @example
 * const probe = await probeRedis(target);
 * if (probe.reachable && probe.persistence && !isDurable(probe.persistence)) console.log('not durable');
 */
export async function probeRedis(target: RedisTarget, timeoutMs = 3_000): Promise<RedisProbe> {
  const redact = redactor(target);
  let connectionError: string | undefined;
  const client = connectRedis(target, {
    commandTimeoutMs: timeoutMs,
    connectTimeoutMs: timeoutMs,
    onError: (error) => {
      connectionError ??= error.message;
    },
    redisOptions: { retryStrategy: () => null },
  });
  try {
    await client.ping();
  } catch (error) {
    client.disconnect();
    return { reachable: false, reason: redact(connectionError ?? (error as Error).message) };
  }
  try {
    const [, appendonly = ''] = (await client.config('GET', 'appendonly')) as string[];
    const [, save = ''] = (await client.config('GET', 'save')) as string[];
    return { reachable: true, persistence: { appendonly, save } };
  } catch (error) {
    return { reachable: true, persistence: undefined, reason: redact((error as Error).message) };
  } finally {
    client.disconnect();
  }
}
