/**
 * Options of the end-to-end benchmark (bench/e2e.ts) and their command-line flags.
 */

import { ConfigError } from '../core/errors.js';
import { BACKEND_NAMES } from '../model/backendNames.js';
import { type Flags, numberFlag } from './flags.js';

export type Mode = 'at-least-once' | 'exactly-once';

/** Options of {@link benchEndToEnd}. */
export interface EndToEndOptions {
  brokers: string[];
  redis: string;
  /** JSON-lines file the results are appended to. */
  out: string;
  keys: number;
  /** Messages pre-filled for the maximum-rate part. */
  messages: number;
  /** Length of each latency phase. */
  seconds: number;
  naiveMessages: number;
  ceilingMessages: number;
  modes: Mode[];
  fractions: number[];
  partitions: number;
  wordsPerText: number;
  /** Keys held by the memory part (one message each). */
  memoryKeys: number;
  /** Parts left out: `ceiling`, `kernel`, `naive`, `memory` (the modes are chosen by `modes`). */
  skip: string[];
  /** `--engine-workers` of the run (default: the run's own default, one per core). */
  engineWorkers?: number;
  /** Milliseconds between the feed's sends in the latency phases (`rnnstream feed --tick-ms`). */
  feedTickMs: number;
  /** `--target-latency-ms` of the run (default: the run's own default; 0 = no goal). */
  targetLatencyMs?: number;
  /**
   * Backends whose maximum rate is measured too, per mode, beside the run's default backend (a drain
   * of the same pre-filled topic size, no latency phases): the engine's share of end-to-end speed.
   */
  compareBackends: string[];
}

/** Defaults of {@link EndToEndOptions}. */
export const DEFAULT_END_TO_END_OPTIONS = {
  keys: 10_000,
  messages: 60_000,
  seconds: 20,
  naiveMessages: 3_000,
  ceilingMessages: 200_000,
  modes: ['at-least-once', 'exactly-once'] as Mode[],
  fractions: [0.1, 0.5, 0.9],
  partitions: 8,
  wordsPerText: 20,
  memoryKeys: 100_000,
  feedTickMs: 10,
  compareBackends: ['wasm'],
};

function listFlag<T extends string>(flags: Flags, name: string, fallback: T[], allowed?: readonly T[]): T[] {
  const raw = flags[name];
  if (typeof raw !== 'string') return fallback;
  const items = raw.split(',').filter((s) => s !== '') as T[];
  for (const item of items) {
    if (allowed && !allowed.includes(item))
      throw new ConfigError(`--${name}: "${item}" is not one of ${allowed.join(', ')}`);
  }
  return items;
}

/** Options from command-line flags. */
export function endToEndOptions(flags: Flags): EndToEndOptions {
  const d = DEFAULT_END_TO_END_OPTIONS;
  if (typeof flags.out !== 'string') throw new ConfigError('--out FILE.jsonl is required');
  const fractions = listFlag(flags, 'fractions', d.fractions.map(String)).map(Number);
  if (fractions.some((f) => !(f > 0 && f <= 1))) throw new ConfigError('--fractions: numbers in (0, 1]');
  return {
    brokers: String(flags.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    redis: String(flags.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
    out: flags.out,
    keys: numberFlag(flags, 'keys', d.keys),
    messages: numberFlag(flags, 'messages', d.messages),
    seconds: numberFlag(flags, 'seconds', d.seconds),
    naiveMessages: numberFlag(flags, 'naiveMessages', d.naiveMessages),
    ceilingMessages: numberFlag(flags, 'ceilingMessages', d.ceilingMessages),
    modes: listFlag(flags, 'modes', d.modes, ['at-least-once', 'exactly-once']),
    fractions,
    partitions: numberFlag(flags, 'partitions', d.partitions),
    wordsPerText: numberFlag(flags, 'words', d.wordsPerText),
    memoryKeys: numberFlag(flags, 'memoryKeys', d.memoryKeys),
    feedTickMs: numberFlag(flags, 'feedTickMs', d.feedTickMs),
    skip: listFlag(flags, 'skip', [], ['ceiling', 'kernel', 'naive', 'memory']),
    compareBackends: listFlag(flags, 'compareBackends', d.compareBackends, BACKEND_NAMES),
    engineWorkers: flags.engineWorkers === undefined ? undefined : numberFlag(flags, 'engineWorkers', 1),
    targetLatencyMs:
      flags.targetLatencyMs === undefined ? undefined : numberFlag(flags, 'targetLatencyMs', 0),
  };
}
