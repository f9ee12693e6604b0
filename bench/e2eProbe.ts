/**
 * The end-to-end benchmark's measuring consumer: it reads the input topic (for each message's producer
 * timestamp) and the output topic (read-committed, so exactly-once outputs count when their transaction
 * commits), joins them on the input's source position, and records when each output reached a consumer.
 * Latency is that arrival time minus the input's producer timestamp: what a downstream reader sees.
 */
import type { Consumer, Kafka } from 'kafkajs';
import { createKafkaClient } from '../pipeline/kafka/client.js';
import { round } from './format.js';

/** One output joined with its input. */
export interface Arrival {
  /** Producer timestamp of the input message (ms since the epoch). */
  sentAt: number;
  /** When the output reached this consumer (ms since the epoch). */
  receivedAt: number;
  /** Tokens of the input message, as the output reports them. */
  tokens: number;
}

/**
 * Nearest-rank percentile of ascending-sorted values (p in [0, 100]).
 * @example percentile([1, 2, 3, 4], 50) // 2
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * Maximum rate from output arrivals: the first arrival's batch starts the clock and is not counted.
 * @example maxRate(probe.arrivals) // { messages: 59000, tokens: 1180000, seconds: 19.2 }
 */
export function maxRate(arrivals: readonly Arrival[]): { messages: number; tokens: number; seconds: number } {
  const sorted = [...arrivals].sort((a, b) => a.receivedAt - b.receivedAt);
  const first = sorted[0].receivedAt;
  const counted = sorted.filter((a) => a.receivedAt > first);
  const seconds = (sorted[sorted.length - 1].receivedAt - first) / 1000;
  return { messages: counted.length, tokens: counted.reduce((n, a) => n + a.tokens, 0), seconds };
}

/**
 * Latency figures (ms) of the arrivals whose input was sent inside [from, to] (ms since the epoch).
 * @example latencies(probe.arrivals, start + 3000, end).p99_ms
 */
export function latencies(arrivals: readonly Arrival[], from: number, to: number) {
  const inWindow = arrivals.filter((a) => a.sentAt >= from && a.sentAt <= to);
  const ms = inWindow.map((a) => a.receivedAt - a.sentAt).sort((a, b) => a - b);
  return {
    messages: inWindow.length,
    p50_ms: percentile(ms, 50),
    p99_ms: percentile(ms, 99),
    p99_9_ms: percentile(ms, 99.9),
    max_ms: ms[ms.length - 1] ?? Number.NaN,
    mean_ms: round(ms.reduce((s, x) => s + x, 0) / Math.max(1, ms.length)),
    achieved_messages_per_s: round(inWindow.length / ((to - from) / 1000)),
  };
}

/** Reads both topics from the start and joins outputs to inputs by `partition:offset`. */
export class LatencyProbe {
  /** Joined outputs, in arrival order. */
  readonly arrivals: Arrival[] = [];
  /** Outputs seen (joined or not yet). */
  outputs = 0;
  private readonly sent = new Map<string, number>();
  /** Outputs whose input was not read yet: position → [receivedAt, tokens]. */
  private readonly waiting = new Map<string, [number, number]>();
  private readonly kafka: Kafka;
  private consumer?: Consumer;

  constructor(
    brokers: string[],
    private readonly inputTopic: string,
    private readonly outputTopic: string,
  ) {
    this.kafka = createKafkaClient({ brokers, clientId: 'rnnstream-bench-probe' });
  }

  /** Subscribes (a fresh group, from the beginning) and starts consuming; resolves once running. */
  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `rnnstream-bench-probe-${process.pid}-${Date.now()}`,
      maxWaitTimeInMs: 50,
      readUncommitted: false,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.inputTopic, this.outputTopic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 8,
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        if (batch.topic === this.inputTopic) {
          for (const m of batch.messages) this.onInput(`${batch.partition}:${m.offset}`, Number(m.timestamp));
        } else {
          for (const m of batch.messages) {
            const value = JSON.parse(m.value?.toString() ?? '{}') as {
              source?: { partition: number; offset: string };
              tokens?: number;
            };
            if (!value.source) continue;
            this.outputs++;
            this.onOutput(`${value.source.partition}:${value.source.offset}`, now, value.tokens ?? 0);
          }
        }
      },
    });
  }

  private onInput(position: string, sentAt: number): void {
    const early = this.waiting.get(position);
    if (early) {
      this.waiting.delete(position);
      this.arrivals.push({ sentAt, receivedAt: early[0], tokens: early[1] });
    } else {
      this.sent.set(position, sentAt);
    }
  }

  private onOutput(position: string, receivedAt: number, tokens: number): void {
    const sentAt = this.sent.get(position);
    if (sentAt === undefined) {
      this.waiting.set(position, [receivedAt, tokens]);
    } else {
      this.sent.delete(position);
      this.arrivals.push({ sentAt, receivedAt, tokens });
    }
  }

  /** Inputs read whose output has not arrived. */
  get pendingInputs(): number {
    return this.sent.size;
  }

  /** Resolves once `predicate()` holds (polled every 50 ms), or rejects after `timeoutMs`. */
  async until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(`e2e bench: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
