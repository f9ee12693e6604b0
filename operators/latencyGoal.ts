/**
 * The latency goal of `microBatch`: predicts when a batch would be durable if emitted now, from the learned
 * stage costs ({@link BatchCostEstimate}) and the batches already in flight, so the batcher can cut a batch
 * before waiting longer would break the goal. Pure arithmetic on times given by the caller (the
 * operator's scheduler clock), no I/O.
 */
import type { BatchCostEstimate } from './batchCost.js';

/** A latency goal for `microBatch`. */
export interface LatencyGoal {
  /**
   * Milliseconds from a message's arrival at the batcher to its output being durable that each batch is
   * planned to meet (a p99 goal: the learned costs carry a margin over their means).
   */
  targetMs: number;
  /** Stage costs learned by the pipeline. */
  cost: BatchCostEstimate;
  /**
   * Called for each emitted batch that is predicted to miss the goal however it is cut: the worker is
   * overloaded. Batches then grow to their limits again (the most throughput), and the caller says so.
   */
  onOverload?: (miss: LatencyGoalMiss) => void;
}

/** An emitted batch predicted to miss the goal. */
export interface LatencyGoalMiss {
  seq: number;
  rows: number;
  tokens: number;
  /** Predicted milliseconds from the batch's oldest message's arrival to its output being durable. */
  predictedMs: number;
  targetMs: number;
}

/**
 * Tracks the batches in flight as a queue in front of one engine: each loads (overlapping the engine),
 * then steps when the engine is free, then stores and sinks.
 *
 * @example
 * const plan = new LatencyPlan(goal.cost, 2);
 * if (plan.doneAt(now, rows + 1, tokens + t) > oldest + goal.targetMs) cut();
 */
export class LatencyPlan {
  /** When the engine is predicted to have stepped every in-flight batch. */
  #engineFreeAt = Number.NEGATIVE_INFINITY;
  /** Emitted batches whose state is not stored yet. */
  readonly #unstored = new Set<number>();
  /** Seq → when each batch holding room is predicted to give it back (stored, or written). */
  readonly #leavesAt = new Map<number, number>();

  /**
   * @param roomUntil when a batch gives its room back: once its state is `stored`, or its outputs
   *   `written` (microBatch's `written$`).
   */
  constructor(
    private readonly cost: BatchCostEstimate,
    private readonly maxInFlight: number,
    private readonly roomUntil: 'stored' | 'written' = 'stored',
  ) {}

  /** When a batch of this size would be durable if emitted as soon as there is room, from `now`. */
  doneAt(now: number, rows: number, tokens: number): number {
    return this.#plan(this.#emitAt(now), rows, tokens).doneAt;
  }

  /** Records a batch emitted at `now`; returns when it is predicted to be durable. */
  emitted(seq: number, now: number, rows: number, tokens: number): number {
    const plan = this.#plan(now, rows, tokens);
    this.#engineFreeAt = plan.steppedAt;
    this.#unstored.add(seq);
    this.#leavesAt.set(seq, this.roomUntil === 'stored' ? plan.storedAt : plan.writtenAt);
    return plan.doneAt;
  }

  /** A batch's state was stored at `now`. */
  stored(seq: number, now: number): void {
    this.#unstored.delete(seq);
    // Nothing left to step: the engine is idle now, whatever was predicted. Otherwise busy at least until now.
    this.#engineFreeAt = this.#unstored.size === 0 ? now : Math.max(this.#engineFreeAt, now);
  }

  /** A batch gave its room back. */
  roomFreed(seq: number): void {
    this.#leavesAt.delete(seq);
  }

  /** Now, or when the first batch holding room is predicted to give it back when `maxInFlight` hold it. */
  #emitAt(now: number): number {
    if (this.#leavesAt.size < this.maxInFlight) return now;
    let first = Number.POSITIVE_INFINITY;
    for (const at of this.#leavesAt.values()) first = Math.min(first, at);
    return Math.max(now, first);
  }

  #plan(emitAt: number, rows: number, tokens: number) {
    const c = this.cost.estimate(rows, tokens);
    const steppedAt = Math.max(emitAt + c.load, this.#engineFreeAt) + c.step;
    const storedAt = steppedAt + c.store;
    const writtenAt = storedAt + c.sink;
    // The queue ahead is planned on the means; the margin covers this batch's own slowness once.
    return { steppedAt, storedAt, writtenAt, doneAt: writtenAt + c.margin };
  }
}
