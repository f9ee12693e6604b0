/**
 * A steady background load on an input topic, so that a fault hits a worker while inputs keep arriving.
 */
import { Partitioners, type Producer } from 'kafkajs';
import type { FeedMessage } from './feeds.js';
import { testKafka } from './kafka.js';
import { delay } from './timeout.js';

/**
 * Produces a feed at a steady rate in the background (one request per `batch` messages), so that a
 * fault hits a worker under load. Per-key order is the feed's order.
 *
 * @example
 * const load = await LoadProducer.start(brokers, topic, feed, 2_000);
 * …
 * const produced = await load.stop();
 */
export class LoadProducer {
  produced = 0;
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();
  #error: unknown;

  private constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly feed: readonly FeedMessage[],
  ) {}

  static async start(
    brokers: string[],
    topic: string,
    feed: readonly FeedMessage[],
    perSecond: number,
    batch = 100,
  ): Promise<LoadProducer> {
    const producer = testKafka(brokers, 'rnnstream-test-load', {
      retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 },
    }).producer({ createPartitioner: Partitioners.DefaultPartitioner, maxInFlightRequests: 1 });
    await producer.connect();
    const load = new LoadProducer(producer, topic, feed);
    load.#loop = load.#run(perSecond, batch).catch((error: unknown) => {
      load.#error = error;
    });
    return load;
  }

  async #run(perSecond: number, batch: number): Promise<void> {
    const started = Date.now();
    while (!this.#stopped && this.produced < this.feed.length) {
      const messages = this.feed.slice(this.produced, this.produced + batch);
      await this.producer.send({ topic: this.topic, messages, acks: -1 });
      this.produced += messages.length;
      // Keep to the rate on average: sleep until this many messages are due.
      const due = started + (this.produced / perSecond) * 1000;
      await delay(Math.max(0, due - Date.now()));
    }
  }

  /** True once the whole feed was sent. */
  get finished(): boolean {
    return this.produced >= this.feed.length;
  }

  /** Stops producing; resolves to how many messages were produced (rejects if a send failed). */
  async stop(): Promise<number> {
    this.#stopped = true;
    await this.#loop;
    await this.producer.disconnect().catch(() => undefined);
    if (this.#error) throw this.#error;
    return this.produced;
  }
}
