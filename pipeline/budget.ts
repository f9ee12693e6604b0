/**
 * An in-flight budget counted in messages and bytes: what bounds a source's memory whatever the input
 * rate. A reader takes budget before it hands a record downstream and the pipeline gives it back on ack.
 * Every source uses it: Kafka (messages and bytes), files, and the test and benchmark sources (messages).
 */

/** Limits of a {@link Budget}. */
export interface BudgetOptions {
  /**
   * Most records in flight (read, not yet acked).
   * @default 10000
   */
  maxMessages?: number;
  /**
   * Most bytes (keys + values) in flight.
   * @default 67108864 (64 MiB)
   */
  maxBytes?: number;
}

/** Defaults of {@link BudgetOptions}. */
export const DEFAULT_BUDGET_OPTIONS: Required<BudgetOptions> = {
  maxMessages: 10_000,
  maxBytes: 64 * 1024 * 1024,
};

/**
 * Counts records and bytes in flight against fixed limits.
 *
 * One record larger than `maxBytes` is still let through when nothing else is in flight: refusing it
 * would stall the source for ever.
 *
 * @example
 * const budget = new Budget({ maxMessages: 100 });
 * await budget.acquire(1, value.length);
 * // … later, once the record is durable:
 * budget.release(1, value.length);
 */
export class Budget {
  readonly maxMessages: number;
  readonly maxBytes: number;
  #messages = 0;
  #bytes = 0;
  #waiters = new Set<() => void>();

  constructor(options: BudgetOptions = {}) {
    const { maxMessages, maxBytes } = { ...DEFAULT_BUDGET_OPTIONS, ...options };
    if (!Number.isInteger(maxMessages) || maxMessages < 1) {
      throw new RangeError(`maxMessages must be a positive integer, got ${maxMessages}`);
    }
    if (!Number.isFinite(maxBytes) || maxBytes < 1) {
      throw new RangeError(`maxBytes must be a positive number, got ${maxBytes}`);
    }
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
  }

  /** Records currently in flight. */
  get messages(): number {
    return this.#messages;
  }

  /** Bytes currently in flight. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether `messages` records of `bytes` bytes fit now. */
  fits(messages: number, bytes: number): boolean {
    if (this.#messages === 0) return true;
    return this.#messages + messages <= this.maxMessages && this.#bytes + bytes <= this.maxBytes;
  }

  /** Takes the budget if it fits now; returns whether it did. */
  tryAcquire(messages: number, bytes: number): boolean {
    if (!this.fits(messages, bytes)) return false;
    this.#messages += messages;
    this.#bytes += bytes;
    return true;
  }

  /**
   * Takes the budget, waiting for releases while it does not fit. Rejects with the signal's reason
   * when `signal` aborts first.
   */
  async acquire(messages: number, bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire(messages, bytes)) return;
    if (!(await this.take(messages, bytes, signal))) signal?.throwIfAborted();
  }

  /**
   * Takes the budget, waiting for releases while it does not fit; resolves `false` (taking nothing) once
   * `signal` is aborted, also when it already was — how a stopped source gives up reading.
   *
   * @example
   * for await (const record of records) {
   *   if (!(await budget.take(1, 0, stopped.signal))) break;
   *   subject.next(record);
   * }
   */
  async take(messages: number, bytes: number, signal?: AbortSignal): Promise<boolean> {
    while (!signal?.aborted) {
      if (this.tryAcquire(messages, bytes)) return true;
      await this.released(signal);
    }
    return false;
  }

  /** Callers waiting in {@link released}. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Gives budget back and wakes every waiter (each re-checks whether it fits). */
  release(messages: number, bytes: number): void {
    this.#messages = Math.max(0, this.#messages - messages);
    this.#bytes = Math.max(0, this.#bytes - bytes);
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next release (or when `signal` aborts, resolving too: callers re-check their own state). */
  released(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.#waiters.delete(wake);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(wake);
    });
  }
}
