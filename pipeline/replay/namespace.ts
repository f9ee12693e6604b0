/**
 * State namespaces of replays and the pointer that says which one live workers read.
 *
 * A state URI's `prefix` P is the *base* namespace. A replay named N writes its states under
 * `${base}~${N}:` where `base` is P without its trailing `:` — a sibling of P, not a child, so a live
 * sequence key can never collide with a replay's keys and `state drop` of P leaves replays alone.
 * The pointer `${base}~active` (one Redis string, outside every namespace) holds the prefix live
 * workers should use; `--promote` sets it with one `SET`, so a reader sees the old or the new value,
 * never a mix. A worker resolves it once at start ({@link resolveActiveNamespace}).
 */
import type { Cluster, Redis } from 'ioredis';
import { ConfigError } from '../../core/errors.js';
import { wrapRedisError } from '../state/redisErrors.js';
import {
  connectRedis,
  parseStateUri,
  type RedisConnectOptions,
  type RedisTarget,
  redactor,
} from '../state/stateUri.js';

/** Names a replay may take: they become part of Redis keys and of a consumer group id. */
const NAMESPACE_NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** The base of a prefix: without its trailing `:` (`rnnstream:` → `rnnstream`). */
export function basePrefix(prefix: string): string {
  return prefix.endsWith(':') ? prefix.slice(0, -1) : prefix;
}

/**
 * The default name of a replay started at `now`: `replay-YYYYMMDDTHHMMSSZ`.
 * @example defaultReplayName(new Date('2025-01-02T03:04:05Z')) // 'replay-20250102T030405Z'
 */
export function defaultReplayName(now: Date = new Date()): string {
  return `replay-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/** Checks a `--namespace` name (letters, digits, `.`, `_`, `-`). */
export function checkReplayName(name: string): string {
  if (!NAMESPACE_NAME.test(name)) {
    throw new ConfigError(
      `--namespace "${name}": use 1 to 100 letters, digits, '.', '_' or '-' (it becomes part of Redis keys and a consumer group id)`,
    );
  }
  return name;
}

/**
 * The prefix of replay `name` over the base prefix `prefix`.
 * @example replayPrefix('rnnstream:', 'replay-1') // 'rnnstream~replay-1:'
 */
export function replayPrefix(prefix: string, name: string): string {
  return `${basePrefix(prefix)}~${checkReplayName(name)}:`;
}

/** The Redis key of the active-namespace pointer of a base prefix. */
export function pointerKey(prefix: string): string {
  return `${basePrefix(prefix)}~active`;
}

/** The Redis key (a hash) of a replay's progress: input, end offsets, file positions, status. */
export function checkpointKey(prefix: string, name: string): string {
  return `${basePrefix(prefix)}~${checkReplayName(name)}~replay`;
}

/**
 * The same state URI with another `prefix` parameter (everything else kept as written).
 * @example withStatePrefix('redis://h:6379/0?ttl=60', 'a~b:') // 'redis://h:6379/0?ttl=60&prefix=a%7Eb%3A'
 */
export function withStatePrefix(uri: string, prefix: string): string {
  const query = uri.indexOf('?');
  const base = query >= 0 ? uri.slice(0, query) : uri;
  const params = new URLSearchParams(query >= 0 ? uri.slice(query + 1) : '');
  params.set('prefix', prefix);
  return `${base}?${params.toString()}`;
}

/** The Redis target of a state URI, or a {@link ConfigError} naming `what` needs it. */
export function redisTargetOf(uri: string, what: string): RedisTarget {
  const target = parseStateUri(uri);
  if (target.kind !== 'redis') {
    throw new ConfigError(
      `${what} needs a redis:// state URI (--state): a memory: store ends with its process`,
    );
  }
  return target;
}

/** Runs `use` with a short-lived client of the target, mapping Redis errors to rnnstream errors. */
export async function withRedis<T>(
  target: RedisTarget,
  what: string,
  use: (client: Redis | Cluster) => Promise<T>,
  options: RedisConnectOptions = {},
): Promise<T> {
  const client = connectRedis(target, options);
  try {
    return await use(client);
  } catch (error) {
    throw wrapRedisError(error, `${what} (${target.redacted})`, redactor(target));
  } finally {
    client.disconnect();
  }
}

/**
 * Makes `prefix` the namespace live workers read, in one atomic `SET` of the pointer; resolves to the
 * prefix it replaces (`undefined` when none was set).
 * @example await promoteNamespace('redis://127.0.0.1:6379/0?prefix=prod:', 'prod~replay-1:')
 */
export async function promoteNamespace(
  stateUri: string,
  prefix: string,
  options: RedisConnectOptions = {},
): Promise<string | undefined> {
  const target = redisTargetOf(stateUri, '--promote');
  return withRedis(
    target,
    'promoting the replay namespace',
    async (client) => {
      // SET … GET (Redis ≥ 6.2): the switch and the read of what it replaced are one command.
      const previous = (await client.call('SET', pointerKey(target.prefix), prefix, 'GET')) as string | null;
      return previous ?? undefined;
    },
    options,
  );
}

/** The prefix the pointer of the URI's base prefix names, or `undefined` when nothing was promoted. */
export async function activeNamespace(
  stateUri: string,
  options: RedisConnectOptions = {},
): Promise<string | undefined> {
  const target = redisTargetOf(stateUri, 'reading the active namespace');
  return withRedis(
    target,
    'reading the active namespace',
    async (client) => (await client.get(pointerKey(target.prefix))) ?? undefined,
    options,
  );
}

/**
 * The state URI a live worker should use: for a Redis URI whose base prefix has a promoted replay,
 * the same URI with the promoted prefix; otherwise the URI unchanged (memory stores, nothing promoted).
 * `run` calls it once at start: one GET. A promotion takes effect as workers restart (a rolling restart).
 *
 * @example const stateUri = await resolveActiveNamespace(config.state);
 */
export async function resolveActiveNamespace(
  stateUri: string,
  options: RedisConnectOptions = {},
): Promise<string> {
  if (parseStateUri(stateUri).kind !== 'redis') return stateUri;
  const active = await activeNamespace(stateUri, options);
  return active === undefined ? stateUri : withStatePrefix(stateUri, active);
}
