/**
 * The range of a topic a replay reads: where each partition starts (`--from-beginning`, `--from-offset`,
 * `--from-time`, or where an interrupted replay stopped) and where it ends (`--to-end`: the end offsets
 * taken when the replay first started). Start positions are written as the replay consumer group's
 * offsets before it joins (kafkajs `admin.setOffsets`), so the group's committed offsets are the one
 * record of progress: a resumed replay simply continues from them.
 */
import type { Admin, Kafka } from 'kafkajs';
import { ConfigError } from '../../core/errors.js';
import { toKafkaError } from '../kafka/client.js';

/** Where a replay of a topic starts (for partitions the replay group has not read yet). */
export type KafkaStart =
  | { kind: 'beginning' }
  /** Partition → first offset to read; partitions not listed are not read. */
  | { kind: 'offsets'; offsets: Map<number, string> }
  /** The first record at or after this time (ms since epoch). */
  | { kind: 'time'; timestamp: number };

/**
 * Parses `--from-offset P:O,…`.
 * @example parseFromOffsets('0:120,1:98') // Map { 0 => '120', 1 => '98' }
 */
export function parseFromOffsets(text: string): Map<number, string> {
  const offsets = new Map<number, string>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^(\d+):(\d+)$/.exec(part);
    if (!match) {
      throw new ConfigError(`--from-offset "${text}": expected PARTITION:OFFSET[,…], e.g. 0:120,1:98`);
    }
    const partition = Number(match[1]);
    if (offsets.has(partition))
      throw new ConfigError(`--from-offset "${text}": partition ${partition} is given twice`);
    offsets.set(partition, BigInt(match[2]).toString());
  }
  if (offsets.size === 0) throw new ConfigError('--from-offset: give at least one PARTITION:OFFSET');
  return offsets;
}

/**
 * Parses `--from-time` (an ISO 8601 date-time, or milliseconds since the epoch).
 * @example parseFromTime('2025-01-01T00:00:00Z') // 1735689600000
 */
export function parseFromTime(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigError(
      `--from-time "${text}": expected an ISO date-time (2025-01-01T00:00:00Z) or epoch ms`,
    );
  }
  return value;
}

/** Describes a start for the checkpoint (a resumed replay re-reads it from there). */
export function describeStart(start: KafkaStart): string {
  if (start.kind === 'beginning') return 'beginning';
  if (start.kind === 'time') return `time:${start.timestamp}`;
  return `offsets:${[...start.offsets].map(([p, o]) => `${p}:${o}`).join(',')}`;
}

/** The inverse of {@link describeStart}. */
export function parseStart(text: string): KafkaStart {
  if (text.startsWith('time:')) return { kind: 'time', timestamp: Number(text.slice(5)) };
  if (text.startsWith('offsets:')) return { kind: 'offsets', offsets: parseFromOffsets(text.slice(8)) };
  return { kind: 'beginning' };
}

/** What {@link planKafkaRange} decided. */
export interface KafkaRangePlan {
  /** Partition → end offset (exclusive), when the replay stops at the end. */
  stopAt?: Map<number, string>;
  /** Partition → where reading starts (committed by a previous run, or the start asked for). */
  starts: Map<number, string>;
  /** Records left to read (an upper bound: compacted or transactional topics have gaps), when bounded. */
  remaining?: number;
  /** Partitions continuing from an earlier run's committed offset. */
  resumed: number[];
}

/** Options of {@link planKafkaRange}. */
export interface PlanKafkaRangeOptions {
  kafka: Kafka;
  topic: string;
  /** The replay's own consumer group. */
  groupId: string;
  start: KafkaStart;
  /** Continue from the group's committed offsets where it has some. */
  resume: boolean;
  /** Stop at the end: these end offsets (from a checkpoint), or `true` to take them now. */
  stopAt?: Map<number, string> | true;
}

/**
 * Decides the range and writes the start offsets of partitions not yet read as the group's offsets.
 * The group must have no running member (a replay group is private to its replay).
 */
export async function planKafkaRange(options: PlanKafkaRangeOptions): Promise<KafkaRangePlan> {
  const { kafka, topic, groupId, start, resume } = options;
  const admin = kafka.admin();
  try {
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    const stopAt =
      options.stopAt === true
        ? new Map(ends.map((e) => [e.partition, e.high]))
        : options.stopAt
          ? new Map(options.stopAt)
          : undefined;
    const committed = resume ? await committedOffsets(admin, groupId, topic) : new Map<number, bigint>();
    const wanted = await startOffsets(admin, topic, start);
    const starts = new Map<number, string>();
    const toSet: { partition: number; offset: string }[] = [];
    const resumed: number[] = [];
    let remaining = 0n;
    for (const { partition, low, high } of ends) {
      const at = committed.get(partition);
      let from: bigint;
      if (at !== undefined && at >= 0n) {
        from = at;
        resumed.push(partition);
      } else {
        const asked = wanted.get(partition);
        from = asked === undefined || asked < 0n ? BigInt(high) : asked;
        if (from < BigInt(low)) from = BigInt(low);
        if (from > BigInt(high)) from = BigInt(high);
        toSet.push({ partition, offset: from.toString() });
      }
      starts.set(partition, from.toString());
      const stop = stopAt?.get(partition);
      if (stop !== undefined && BigInt(stop) > from) remaining += BigInt(stop) - from;
    }
    if (toSet.length > 0) await admin.setOffsets({ groupId, topic, partitions: toSet });
    return { stopAt, starts, remaining: stopAt ? Number(remaining) : undefined, resumed };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw toKafkaError(error, `planning the replay of ${topic}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const result = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((result[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
}

/** Partition → first offset to read for a fresh start; `-1` = none (read nothing of it). */
async function startOffsets(admin: Admin, topic: string, start: KafkaStart): Promise<Map<number, bigint>> {
  if (start.kind === 'beginning') {
    return new Map((await admin.fetchTopicOffsets(topic)).map((e) => [e.partition, BigInt(e.low)]));
  }
  if (start.kind === 'offsets') return new Map([...start.offsets].map(([p, o]) => [p, BigInt(o)]));
  // A partition with no record at or after the time answers its end offset: nothing to read there.
  const found = await admin.fetchTopicOffsetsByTimestamp(topic, start.timestamp);
  return new Map(found.map((e) => [e.partition, BigInt(e.offset)]));
}
