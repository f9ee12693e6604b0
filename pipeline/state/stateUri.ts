/**
 * State store URIs and the factory that turns one into a store:
 * - `memory:` or `memory:?maxKeys=N&ttl=SECONDS` — the in-process store (embedded default);
 * - `redis://[user:pass@]HOST[:PORT][/DB][?prefix=P&ttl=SECONDS&cacheKeys=N]`, `rediss://…` for TLS;
 * - `redis+cluster://[user:pass@]H:P,H:P[/][?prefix=P&ttl=SECONDS&cacheKeys=N]` (`rediss+cluster://` for TLS).
 * Passwords never reach logs or error messages: print URIs through {@link redactUri}.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from '../../core/errors.js';
import { MemoryStateStore, type MemoryStoreOptions } from './memoryStore.js';
import type { StateSchema } from './record.js';
import { DEFAULT_REDIS_STORE_OPTIONS, RedisStateStore, type RedisStoreOptions } from './redisStore.js';

/** A parsed `memory:` URI. */
export interface MemoryTarget {
  kind: 'memory';
  maxKeys?: number;
  ttlMs?: number;
}

/** A parsed `redis…://` URI. */
export interface RedisTarget {
  kind: 'redis';
  cluster: boolean;
  tls: boolean;
  /** One node, or the Cluster's seed nodes. */
  nodes: { host: string; port: number }[];
  db: number;
  username?: string;
  password?: string;
  prefix: string;
  ttlMs: number;
  cacheMaxKeys: number;
  /** The URI with its password replaced by `***`. */
  redacted: string;
}

/** What a state URI says. */
export type StateTarget = MemoryTarget | RedisTarget;

const SCHEMES = ['memory:', 'redis://', 'rediss://', 'redis+cluster://', 'rediss+cluster://'];

/**
 * Replaces the password of a URI (userinfo `user:pass@`, or a `password=` parameter) with `***`.
 *
 * @example redactUri('redis://app:s3cret@db:6379/0') // 'redis://app:***@db:6379/0'
 */
export function redactUri(uri: string): string {
  return uri
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_m, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
    })
    .replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/**
 * Parses a state store URI, with errors that name what to change.
 *
 * @example parseStateUri('redis://127.0.0.1:6379/0?prefix=prod:&ttl=3600')
 */
export function parseStateUri(uri: string): StateTarget {
  const safe = redactUri(uri);
  const scheme = SCHEMES.find((s) => uri.toLowerCase().startsWith(s));
  if (!scheme) {
    throw new ConfigError(
      `state URI "${safe}": unknown scheme; use one of ${SCHEMES.map((s) => `${s}…`).join(', ')}`,
    );
  }
  const rest = uri.slice(scheme.length);
  const query = rest.indexOf('?');
  const params = new URLSearchParams(query >= 0 ? rest.slice(query + 1) : '');
  const body = query >= 0 ? rest.slice(0, query) : rest;
  const number = (name: string, min: number): number | undefined => {
    const raw = params.get(name);
    if (raw === null) return undefined;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(value) || value < min) {
      throw new ConfigError(`state URI "${safe}": ${name} must be an integer ≥ ${min}, got "${raw}"`);
    }
    return value;
  };
  const allowOnly = (allowed: string[]) => {
    for (const name of params.keys()) {
      if (!allowed.includes(name)) {
        throw new ConfigError(
          `state URI "${safe}": unknown parameter "${name}" (allowed: ${allowed.join(', ')})`,
        );
      }
    }
  };

  if (scheme === 'memory:') {
    if (body.replace(/^\/\//, '') !== '')
      throw new ConfigError(`state URI "${safe}": write memory: or memory:?maxKeys=N&ttl=S`);
    allowOnly(['maxKeys', 'ttl']);
    const ttl = number('ttl', 0);
    return {
      kind: 'memory',
      maxKeys: number('maxKeys', 1),
      ttlMs: ttl === undefined ? undefined : ttl * 1000,
    };
  }

  allowOnly(['prefix', 'ttl', 'cacheKeys']);
  const cluster = scheme.includes('+cluster');
  const slash = body.indexOf('/');
  const authority = slash >= 0 ? body.slice(0, slash) : body;
  const path = slash >= 0 ? body.slice(slash + 1) : '';
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hosts = at >= 0 ? authority.slice(at + 1) : authority;
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? userinfo.slice(0, colon) : userinfo) || undefined;
    password = colon >= 0 ? decodeURIComponent(userinfo.slice(colon + 1)) || undefined : undefined;
  }
  const nodes = hosts.split(',').map((h) => parseHostPort(h, safe));
  if (!cluster && nodes.length > 1) {
    throw new ConfigError(`state URI "${safe}": several hosts need the redis+cluster:// scheme`);
  }
  let db = 0;
  if (path !== '') {
    db = Number(path);
    if (!/^\d+$/.test(path))
      throw new ConfigError(`state URI "${safe}": the database must be a number, got "${path}"`);
    if (cluster && db !== 0) throw new ConfigError(`state URI "${safe}": Redis Cluster has only database 0`);
  }
  const prefix = params.get('prefix') ?? DEFAULT_REDIS_STORE_OPTIONS.prefix;
  if (prefix === '')
    throw new ConfigError(`state URI "${safe}": prefix must not be empty (it is the namespace)`);
  const ttl = number('ttl', 0);
  return {
    kind: 'redis',
    cluster,
    tls: scheme.startsWith('rediss'),
    nodes,
    db,
    username,
    password,
    prefix,
    ttlMs: ttl === undefined ? DEFAULT_REDIS_STORE_OPTIONS.ttlMs : ttl * 1000,
    cacheMaxKeys: number('cacheKeys', 0) ?? DEFAULT_REDIS_STORE_OPTIONS.cacheMaxKeys,
    redacted: safe,
  };
}

function parseHostPort(text: string, safe: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d+))?$/i.exec(text);
  if (!match) throw new ConfigError(`state URI "${safe}": expected HOST[:PORT], got "${text}"`);
  const port = match[3] === undefined ? 6379 : Number(match[3]);
  if (port < 1 || port > 65535) throw new ConfigError(`state URI "${safe}": port ${port} is out of 1…65535`);
  return { host: match[1] ?? match[2], port };
}

/** Connection tuning shared by the stores and the state tools. */
export interface RedisConnectOptions {
  /**
   * A command fails after this long, so a hung Redis surfaces as a TransientError the pipeline retries.
   * @default 5000
   */
  commandTimeoutMs?: number;
  /** @default 5000 */
  connectTimeoutMs?: number;
  /** Called with connection errors ioredis reports between commands (for logs; messages are redacted). */
  onError?: (error: Error) => void;
  /** Extra ioredis options (tests); they win over the URI's. */
  redisOptions?: RedisOptions;
}

/** Defaults of {@link RedisConnectOptions}. */
export const DEFAULT_REDIS_CONNECT_OPTIONS = { commandTimeoutMs: 5000, connectTimeoutMs: 5000 } as const;

/**
 * Opens an ioredis client (`Redis` or `Cluster`) for a parsed target. It connects lazily on the first
 * command and keeps reconnecting in the background; each command fails fast (one retry, a timeout) so
 * the pipeline's bounded retry decides what happens.
 */
export function connectRedis(target: RedisTarget, options: RedisConnectOptions = {}): Redis | Cluster {
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_CONNECT_OPTIONS.commandTimeoutMs;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_OPTIONS.connectTimeoutMs;
  const base: RedisOptions = {
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 3000),
    ...options.redisOptions,
  };
  const redact = redactor(target);
  const client: Redis | Cluster = target.cluster
    ? new Cluster(target.nodes, {
        lazyConnect: true,
        redisOptions: base,
        slotsRefreshTimeout: connectTimeoutMs,
        clusterRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 3000),
      } satisfies ClusterOptions)
    : new Redis({ ...base, host: target.nodes[0].host, port: target.nodes[0].port, db: target.db });
  // Without a listener ioredis prints every reconnect failure itself; route them to the logger instead.
  client.on('error', (error: Error) => {
    options.onError?.(new Error(redact(error.message)));
  });
  return client;
}

/** A function that replaces the target's password in a text with `***`. */
export function redactor(target: RedisTarget): (text: string) => string {
  const secret = target.password;
  return secret ? (text) => text.split(secret).join('***') : (text) => text;
}

/** Options of {@link createStateStore} beyond what the URI says. */
export interface CreateStateStoreOptions extends RedisConnectOptions {
  /** Writer generation stored in every record. @default 0 */
  generation?: number;
  /** Clock of the memory store (tests). @default Date.now */
  now?: MemoryStoreOptions['now'];
  /** Redis store tuning; the URI's prefix, ttl and cacheKeys win. */
  redisStore?: Pick<RedisStoreOptions, 'maxKeysPerCall'>;
}

/**
 * Builds the state store a URI names. A Redis store connects lazily: call `ping()` to check it at start.
 *
 * @example
 * const store = createStateStore(config.state ?? 'memory:', { fingerprint, cell: 'gru', layers: 1, hidden: 128, dtype: 'float32' });
 */
export function createStateStore(
  uri: string,
  schema: StateSchema,
  options: CreateStateStoreOptions = {},
): MemoryStateStore | RedisStateStore {
  const target = parseStateUri(uri);
  if (target.kind === 'memory') {
    return new MemoryStateStore(schema, {
      maxKeys: target.maxKeys,
      ttlMs: target.ttlMs,
      generation: options.generation,
      now: options.now,
    });
  }
  return new RedisStateStore(connectRedis(target, options), schema, {
    ...options.redisStore,
    prefix: target.prefix,
    ttlMs: target.ttlMs,
    cacheMaxKeys: target.cacheMaxKeys,
    generation: options.generation,
    label: target.redacted,
    redact: redactor(target),
  });
}
