/**
 * Final states of a run and of its reference: an uninterrupted pass through the embedded pipeline into a
 * Redis prefix, and comparisons of every key's stored state between two prefixes.
 */
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import type { LoadedState, SinkRecord, SourceRecord } from '../../core/contracts.js';
import { loadModelPackage } from '../../model/modelPackage.js';
import { rootLogger } from '../../pipeline/logger.js';
import type { LoadedStreamingModel } from '../../pipeline/model.js';
import { runPipeline } from '../../pipeline/run.js';
import { decodeRecord, type StateSchema } from '../../pipeline/state/record.js';
import { createStateStore } from '../../pipeline/state/stateUri.js';
import { ArrayDeadLetterSink, ArraySink, ArraySource } from '../fixtures/memoryConnectors.js';
import { withTimeout } from './timeout.js';

/**
 * Runs `records` once, uninterrupted, through the embedded pipeline into a Redis prefix: the reference
 * every faulted run is compared with.
 */
export async function referencePass(
  loaded: LoadedStreamingModel,
  records: SourceRecord[],
  stateUri: string,
): Promise<{ outputs: SinkRecord[] }> {
  const store = createStateStore(stateUri, loaded.schema);
  const sink = new ArraySink();
  try {
    const run = runPipeline(
      {
        source: new ArraySource(records, 4_000),
        sink,
        deadLetters: new ArrayDeadLetterSink(),
        store,
        model: loaded.model,
        log: rootLogger(),
      },
      {},
    );
    await withTimeout(run.done, 240_000, 'reference pass');
    return { outputs: sink.records };
  } finally {
    await store.close();
  }
}

/** How two prefixes' final states compare. */
export interface StateComparison {
  keys: number;
  /** Keys missing or unusable on either side. */
  missing: string[];
  /** Keys whose fence or token count differ. */
  bookkeeping: string[];
  /** Largest absolute difference of any state value. */
  maxAbsDiff: number;
  /** Any NaN or Infinity on either side. */
  nonFinite: number;
}

/** Adds what `x` and `y` (one key's states in two runs) say to `result`. */
function compareKey(result: StateComparison, key: string, x?: LoadedState, y?: LoadedState): void {
  if (x?.kind !== 'ok' || y?.kind !== 'ok') {
    result.missing.push(key);
    return;
  }
  if (
    x.stored.fence.partition !== y.stored.fence.partition ||
    x.stored.fence.offset !== y.stored.fence.offset ||
    x.stored.totalTokens !== y.stored.totalTokens
  ) {
    result.bookkeeping.push(key);
  }
  const pairs: [Float32Array | undefined, Float32Array | undefined][] = [
    [x.stored.state.h, y.stored.state.h],
    [x.stored.state.c, y.stored.state.c],
  ];
  for (const [u, v] of pairs) {
    if (!u || !v) continue;
    for (let i = 0; i < u.length; i++) {
      if (!Number.isFinite(u[i]) || !Number.isFinite(v[i])) result.nonFinite++;
      result.maxAbsDiff = Math.max(result.maxAbsDiff, Math.abs(u[i] - v[i]));
    }
  }
}

/** Loads `keys` from two Redis prefixes (fresh stores, no cache) and compares state values and fences. */
export async function compareStates(
  loaded: LoadedStreamingModel,
  uriA: string,
  uriB: string,
  keys: readonly string[],
): Promise<StateComparison> {
  const a = createStateStore(uriA, loaded.schema);
  const b = createStateStore(uriB, loaded.schema);
  try {
    const result: StateComparison = {
      keys: keys.length,
      missing: [],
      bookkeeping: [],
      maxAbsDiff: 0,
      nonFinite: 0,
    };
    for (let at = 0; at < keys.length; at += 1_000) {
      const chunk = keys.slice(at, at + 1_000);
      const [sa, sb] = await Promise.all([a.load(chunk), b.load(chunk)]);
      for (const key of chunk) compareKey(result, key, sa.get(key), sb.get(key));
    }
    return result;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** Asserts that every key has a usable state equal to the reference one (fence, tokens, values). */
export function assertStatesEqual(states: StateComparison): void {
  assert.deepEqual(states.missing, [], 'keys without a usable state');
  assert.deepEqual(states.bookkeeping, [], 'keys whose fence or token count differ from the reference');
  assert.equal(states.nonFinite, 0);
  assert.ok(states.maxAbsDiff <= 1e-6, `max |state - reference| = ${states.maxAbsDiff}`);
}

/** The state schema of a model package (what its records are checked against). */
export async function stateSchemaOf(modelDir: string): Promise<StateSchema> {
  const pkg = await loadModelPackage(modelDir);
  return {
    fingerprint: pkg.fingerprint,
    cell: pkg.config.cell,
    layers: pkg.config.numLayers,
    hidden: pkg.config.hiddenSize,
    dtype: 'float32',
  };
}

/** The raw stored record of each key under `prefix` (absent keys are missing from the map). */
export async function readRawStates(
  redis: Redis,
  prefix: string,
  keys: readonly string[],
): Promise<Map<string, Buffer>> {
  const values = keys.length === 0 ? [] : await redis.mgetBuffer(...keys.map((k) => prefix + k));
  const out = new Map<string, Buffer>();
  keys.forEach((key, i) => {
    const value = values[i];
    if (value) out.set(key, value);
  });
  return out;
}

/** The decoded stored state of each key under `prefix`. */
export async function readStates(
  redis: Redis,
  prefix: string,
  keys: readonly string[],
  schema: StateSchema,
): Promise<Map<string, LoadedState>> {
  const raw = await readRawStates(redis, prefix, keys);
  return new Map([...raw].map(([key, bytes]) => [key, decodeRecord(schema, bytes)]));
}

/** The largest absolute difference between two vectors (Infinity when their lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/**
 * Compares the states of `keys` in two namespaces: every key must be a usable state in both, with the
 * same token count and `h` (and `c`) within `tolerance`. Returns a list of differences (empty = equal).
 */
export function diffStates(
  keys: readonly string[],
  actual: ReadonlyMap<string, LoadedState>,
  expected: ReadonlyMap<string, LoadedState>,
  tolerance: number,
): string[] {
  const problems: string[] = [];
  for (const key of keys) {
    const a = actual.get(key);
    const e = expected.get(key);
    if (a?.kind !== 'ok' || e?.kind !== 'ok') {
      problems.push(`${key}: actual ${a?.kind ?? 'absent'}, expected ${e?.kind ?? 'absent'}`);
      continue;
    }
    if (a.stored.totalTokens !== e.stored.totalTokens) {
      problems.push(`${key}: totalTokens ${a.stored.totalTokens} ≠ ${e.stored.totalTokens}`);
    }
    const dh = maxAbsDiff(a.stored.state.h, e.stored.state.h);
    if (!(dh <= tolerance)) problems.push(`${key}: h differs by ${dh}`);
    if (a.stored.state.c || e.stored.state.c) {
      const dc = maxAbsDiff(a.stored.state.c ?? [], e.stored.state.c ?? []);
      if (!(dc <= tolerance)) problems.push(`${key}: c differs by ${dc}`);
    }
  }
  return problems;
}
