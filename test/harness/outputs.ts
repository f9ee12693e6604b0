/**
 * Reading a worker's outputs: a live watcher of an output topic that counts outputs per input position (so
 * a test can act at an output count and, at the end, tell lost inputs from doubled ones), and helpers over
 * parsed outputs.
 */
import { type Consumer, logLevel } from 'kafkajs';
import type { OutputMessage } from '../../core/contracts.js';
import { type ConsumedMessage, testKafka, toConsumedMessage } from './kafka.js';
import { uniqueName } from './names.js';
import { withTimeout } from './timeout.js';

/** What one output message says about where its input came from. */
export interface SeenOutput {
  key: string | null;
  /** `partition:offset` of the input. */
  position: string;
  replayed: boolean;
  /** The output itself. */
  value: OutputMessage;
}

/** Options of {@link OutputWatcher.start}. */
export interface WatchOptions {
  /** @default 'read_uncommitted' */
  isolation?: 'read_committed' | 'read_uncommitted';
  /** Keep every message in `messages` and `outputs`; with `false` only the counts are kept. @default true */
  keep?: boolean;
}

/**
 * A live consumer of an output topic from its beginning (a fresh group): it counts outputs per input
 * position and keeps the messages, while the test waits on conditions over them.
 *
 * @example
 * const watcher = await OutputWatcher.start(brokers, out, { keep: false });
 * await watcher.waitForDistinct(20_000, 120_000);
 */
export class OutputWatcher {
  /** Outputs per input position (`partition:offset`). */
  readonly perPosition = new Map<string, number>();
  /** The messages read, in arrival order (kept ones only). */
  readonly messages: ConsumedMessage[] = [];
  /** The messages read, parsed (kept ones only). */
  readonly outputs: SeenOutput[] = [];
  total = 0;
  replayed = 0;
  readonly #waiters = new Set<() => void>();
  #failure: unknown;

  private constructor(
    private readonly consumer: Consumer,
    readonly topic: string,
  ) {}

  /** Starts reading `topic` from the beginning with a fresh group. */
  static async start(brokers: string[], topic: string, options: WatchOptions = {}): Promise<OutputWatcher> {
    const { isolation = 'read_uncommitted', keep = true } = options;
    const consumer = testKafka(brokers, 'rnnstream-test-watcher', {
      logLevel: logLevel.NOTHING,
      // Enough retries to ride over a broker restart (test/fault/brokerRestart.test.ts).
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2_000 },
    }).consumer({
      groupId: uniqueName('watch'),
      readUncommitted: isolation === 'read_uncommitted',
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
    const watcher = new OutputWatcher(consumer, topic);
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) watcher.#fail(payload.error);
    });
    await withTimeout(
      (async () => {
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              watcher.#add(toConsumedMessage(batch.topic, batch.partition, message), keep);
            }
            watcher.#wake();
          },
        });
      })(),
      30_000,
      `watching topic ${topic} (Kafka at ${brokers.join(',')})`,
    );
    return watcher;
  }

  /** Input positions with at least one output. */
  get distinct(): number {
    return this.perPosition.size;
  }

  /** Outputs beyond the first per input position. */
  get duplicates(): number {
    return this.total - this.perPosition.size;
  }

  /** Waits until `condition` holds (checked on every batch read), failing if the consumer crashed. */
  async waitFor(condition: () => boolean, what: string | (() => string), timeoutMs = 60_000): Promise<void> {
    let wake: () => void = () => undefined;
    try {
      await withTimeout(
        new Promise<void>((resolveWait, reject) => {
          wake = () => {
            if (this.#failure) reject(this.#failure);
            else if (condition()) resolveWait();
          };
          this.#waiters.add(wake);
          wake();
        }),
        timeoutMs,
        () => `${this.topic}: waiting for ${typeof what === 'function' ? what() : what}; ${this.total} read`,
      );
    } finally {
      this.#waiters.delete(wake);
    }
  }

  /** Waits until at least `count` messages were read. */
  waitForCount(count: number, timeoutMs = 60_000): Promise<void> {
    return this.waitFor(() => this.total >= count, `${count} messages`, timeoutMs);
  }

  /** Resolves once `count` distinct input positions have an output. */
  waitForDistinct(count: number, timeoutMs = 60_000): Promise<void> {
    return this.waitFor(
      () => this.distinct >= count,
      () => `${this.distinct} of ${count} inputs seen`,
      timeoutMs,
    );
  }

  /** Waits until every one of `inputs` (consumed input messages) has an output. */
  waitForInputs(inputs: readonly ConsumedMessage[], timeoutMs = 60_000): Promise<void> {
    const wanted = [...new Set(positionsOf(inputs))];
    return this.waitFor(
      () => wanted.every((at) => this.perPosition.has(at)),
      () => `outputs of ${wanted.length} inputs`,
      timeoutMs,
    );
  }

  /** Stops reading and leaves the group. */
  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }

  #add(message: ConsumedMessage, keep: boolean): void {
    let value: OutputMessage;
    try {
      value = parseOutput(message);
    } catch (error) {
      this.#fail(error);
      return;
    }
    const position = `${value.source.partition}:${value.source.offset}`;
    this.total++;
    if (value.replayed) this.replayed++;
    this.perPosition.set(position, (this.perPosition.get(position) ?? 0) + 1);
    if (keep) {
      this.messages.push(message);
      this.outputs.push({ key: message.key, position, replayed: value.replayed === true, value });
    }
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    this.#wake();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** Parses a consumed output message (the contract of core/contracts.ts `OutputMessage`). */
export function parseOutput(message: ConsumedMessage): OutputMessage {
  if (message.value === null)
    throw new Error(`output at ${message.partition}:${message.offset} has no value`);
  const value = JSON.parse(message.value) as OutputMessage;
  if (typeof value?.source !== 'object' || value.source === null)
    throw new Error(`output at ${message.partition}:${message.offset} names no source: ${message.value}`);
  return value;
}

/** `partition:offset` of each consumed message: the identity an output's `source` must match. */
export function positionsOf(consumed: readonly ConsumedMessage[]): string[] {
  return consumed.map((m) => `${m.partition}:${m.offset}`);
}

/** Input positions with no output at all (lost). */
export function lostInputs(watcher: OutputWatcher, positions: readonly string[]): string[] {
  return positions.filter((p) => !watcher.perPosition.has(p));
}

/** Groups parsed outputs by sequence key, keeping their order of arrival. */
export function outputsByKey(outputs: readonly OutputMessage[]): Map<string, OutputMessage[]> {
  const byKey = new Map<string, OutputMessage[]>();
  for (const output of outputs) {
    const list = byKey.get(output.key) ?? [];
    list.push(output);
    byKey.set(output.key, list);
  }
  return byKey;
}

/** How many outputs each source position (`partition:offset`) got. */
export function countBySource(outputs: readonly OutputMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { source } of outputs) {
    const at = `${source.partition}:${source.offset}`;
    counts.set(at, (counts.get(at) ?? 0) + 1);
  }
  return counts;
}
