/**
 * A replay's progress, kept beside its namespace in one Redis hash (`checkpointKey`), so that a replay
 * re-run with the same `--namespace` continues where it stopped:
 * - `input`, `model`, `start`: what the replay reads and with which model (a re-run must match);
 * - `stopAt`: the Kafka end offsets taken when it first started (a resumed replay stops at the same place);
 * - `file:<index>`: for files, the offset of the last line (or CSV row) of each file whose state and
 *   output are durable;
 *   for Kafka the replay's own consumer group holds that position (its committed offsets);
 * - `status`: `running` or `done`.
 */
import type { Cluster, Redis } from 'ioredis';
import type { SourcePosition } from '../../core/contracts.js';
import type { Logger } from '../logger.js';
import { wrapRedisError } from '../state/redisErrors.js';
import { splitFileOffset } from './fileInput.js';

/** What a replay reads, as stored in its checkpoint (compared on resume). */
export type ReplayInputSpec =
  | { kind: 'kafka'; topic: string }
  | { kind: 'files'; paths: string[]; format: 'json' | 'text' };

/** What a checkpoint holds. */
export interface CheckpointData {
  input: ReplayInputSpec;
  model: string;
  /** The start flags of the first run (Kafka), as given. */
  start?: string;
  /** Kafka: partition → end offset (exclusive) taken when the replay first started. */
  stopAt?: Map<number, string>;
  /** Files: file index → offset of the last line done. */
  files: Map<number, bigint>;
  status: 'running' | 'done';
  startedAt?: string;
  finishedAt?: string;
}

/** Where a replay keeps its progress. */
export interface ReplayCheckpoint {
  /** Whether a re-run can resume from it (false for in-process state: it is gone with the process). */
  readonly durable: boolean;
  load(): Promise<CheckpointData | undefined>;
  /** Records a fresh replay's input, model and end offsets (status `running`). */
  begin(data: Omit<CheckpointData, 'files' | 'status'>): Promise<void>;
  /** Records positions whose state and output are durable (called with each ack, in order per file). */
  advance(positions: readonly SourcePosition[]): Promise<void>;
  finish(): Promise<void>;
  close(): Promise<void>;
}

/** A checkpoint that keeps nothing (memory state: nothing to resume). */
export class NoCheckpoint implements ReplayCheckpoint {
  readonly durable = false;
  async load(): Promise<undefined> {
    return undefined;
  }
  async begin(): Promise<void> {}
  async advance(): Promise<void> {}
  async finish(): Promise<void> {}
  async close(): Promise<void> {}
}

/** The checkpoint hash of a replay in Redis. */
export class RedisCheckpoint implements ReplayCheckpoint {
  readonly durable = true;

  /**
   * @param client a client the checkpoint owns (closed by `close`)
   * @param key the hash's key (`checkpointKey(prefix, name)`)
   */
  constructor(
    private readonly client: Redis | Cluster,
    readonly key: string,
    private readonly log?: Logger,
  ) {}

  async load(): Promise<CheckpointData | undefined> {
    const fields = await this.guard('reading the replay checkpoint', () => this.client.hgetall(this.key));
    if (!fields.input) return undefined;
    const files = new Map<number, bigint>();
    for (const [name, value] of Object.entries(fields)) {
      if (name.startsWith('file:')) files.set(Number(name.slice(5)), BigInt(value));
    }
    return {
      input: JSON.parse(fields.input) as ReplayInputSpec,
      model: fields.model ?? '',
      start: fields.start,
      stopAt: fields.stopAt
        ? new Map(
            Object.entries(JSON.parse(fields.stopAt) as Record<string, string>).map(([p, o]) => [
              Number(p),
              o,
            ]),
          )
        : undefined,
      files,
      status: fields.status === 'done' ? 'done' : 'running',
      startedAt: fields.startedAt,
      finishedAt: fields.finishedAt,
    };
  }

  async begin(data: Omit<CheckpointData, 'files' | 'status'>): Promise<void> {
    const fields: Record<string, string> = {
      input: JSON.stringify(data.input),
      model: data.model,
      status: 'running',
      startedAt: data.startedAt ?? new Date().toISOString(),
    };
    if (data.start !== undefined) fields.start = data.start;
    if (data.stopAt) fields.stopAt = JSON.stringify(Object.fromEntries(data.stopAt));
    await this.guard('writing the replay checkpoint', () => this.client.hset(this.key, fields));
  }

  async advance(positions: readonly SourcePosition[]): Promise<void> {
    if (positions.length === 0) return;
    // Only file positions: a Kafka replay's consumer group commits its own offsets.
    const last = new Map<string, string>();
    for (const p of positions) {
      if (p.topic.startsWith('file:')) last.set(`file:${splitFileOffset(BigInt(p.offset)).file}`, p.offset);
    }
    if (last.size === 0) return;
    try {
      await this.guard('writing the replay checkpoint', () =>
        this.client.hset(this.key, Object.fromEntries(last)),
      );
    } catch (error) {
      // The next ack writes a later position; a resume from an older one only re-reads fenced lines.
      this.log?.warn(
        { err: (error as Error).message },
        'replay checkpoint not written (the next one covers it)',
      );
    }
  }

  async finish(): Promise<void> {
    await this.guard('writing the replay checkpoint', () =>
      this.client.hset(this.key, { status: 'done', finishedAt: new Date().toISOString() }),
    );
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw wrapRedisError(error, what);
    }
  }
}
