/**
 * Options of the end-to-end benchmark (bench/e2e.ts) and their command-line flags.
 */
import { Command } from 'commander';
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

/** The script's flags (bench/e2e.ts's header); values as commander hands them over, read by {@link endToEndOptions}. */
export function endToEndFlags(): Command {
  const d = DEFAULT_END_TO_END_OPTIONS;
  return new Command('bench/e2e.ts')
    .description('end to end through real Kafka and Redis (bench/e2e.sh runs it)')
    .option('--out <file>', 'JSON-lines file the results are appended to (required)')
    .option('--brokers <list>', 'host:port seeds (default KAFKA_BROKERS or 127.0.0.1:9092)')
    .option('--redis <url>', 'Redis URL (default REDIS_URL or redis://127.0.0.1:6379)')
    .option('--keys <n>', `active keys (default ${d.keys})`)
    .option('--messages <n>', `messages pre-filled for the maximum rate (default ${d.messages})`)
    .option('--seconds <s>', `length of each latency phase (default ${d.seconds})`)
    .option('--naive-messages <n>', `messages of the naive baseline (default ${d.naiveMessages})`)
    .option('--ceiling-messages <n>', `messages of Kafka's raw ceiling (default ${d.ceilingMessages})`)
    .option('--modes <list>', `delivery modes (default ${d.modes.join(',')})`)
    .option(
      '--fractions <list>',
      `latency phases' shares of the maximum rate (default ${d.fractions.join(',')})`,
    )
    .option('--partitions <n>', `input partitions (default ${d.partitions})`)
    .option('--words <n>', `words per text (default ${d.wordsPerText})`)
    .option('--memory-keys <n>', `keys of the memory part (default ${d.memoryKeys})`)
    .option('--feed-tick-ms <ms>', `the feed's send interval in the latency phases (default ${d.feedTickMs})`)
    .option('--skip <list>', 'parts left out: ceiling, kernel, naive, memory')
    .option(
      '--compare-backends <list>',
      `backends whose maximum rate is measured too (default ${d.compareBackends.join(',')})`,
    )
    .option('--engine-workers <n>', "the run's engine workers (default: the run's own)")
    .option('--target-latency-ms <ms>', "the run's latency goal (default: the run's own; 0 = none)");
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
