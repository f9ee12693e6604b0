/**
 * In-memory parts for benchmarking the pipeline without I/O: a source that generates keyed messages
 * (with the same in-flight budget and ack contract as the Kafka and file sources), a sink that only
 * counts, and a dead-letter sink that counts too.
 */
import { Subject } from 'rxjs';
import type { DeadLetter, SinkRecord, SourcePosition, SourceRecord } from '../core/contracts.js';
import type { DeadLetterSink, Sink, Source } from '../pipeline/connectors.js';
import { seededRandom } from './random.js';

/** Common English words: texts made of them tokenize to real ids with the shipped vocabulary too. */
export const BENCH_WORDS: readonly string[] = (
  'the a and to of i it is was this that in for you my not with but on have be so are film movie good ' +
  'great bad love like just really very all one can what about more time would there from they out ' +
  'even story if we no your much only well how best people some do see also first could had will make ' +
  'acting think never plot better because any way which made bit too little after worst again other ' +
  'thing character nice fun funny boring terrible awesome amazing awful perfect enjoy hate wonderful ' +
  'poor excellent waste beautiful stupid fine happy sad slow long short new old real'
).split(' ');

/** Options of {@link GeneratedSource}. */
export interface GeneratedSourceOptions {
  /** Distinct sequence keys; message i goes to key `i mod keys` (round robin, all keys active). */
  keys: number;
  /** Messages in all; the source completes after the last one is emitted. */
  messages: number;
  /** Words per message text. @default 20 */
  tokensPerMessage?: number;
  /** Partitions the keys are spread over (offsets count per partition, as in Kafka). @default 4 */
  partitions?: number;
  /** Un-acked messages before the source pauses (backpressure, as `--max-in-flight`). @default 10000 */
  maxInFlight?: number;
  /** Seed of the texts. @default 1 */
  seed?: number;
}

/** Defaults of {@link GeneratedSourceOptions}. */
export const DEFAULT_GENERATED_SOURCE_OPTIONS = {
  tokensPerMessage: 20,
  partitions: 4,
  maxInFlight: 10_000,
  seed: 1,
} as const;

const TOPIC = 'bench';

/**
 * A bounded {@link Source} of generated JSON messages `{"text": "…"}`. Values are built ahead (outside
 * the timed run) so the benchmark measures the pipeline, not the generator.
 * @example
 * const source = new GeneratedSource({ keys: 1000, messages: 20000 });
 * const run = runPipeline({ source, … }); await run.done;
 */
export class GeneratedSource implements Source {
  private readonly subject = new Subject<SourceRecord>();
  readonly records$ = this.subject.asObservable();
  private readonly records: SourceRecord[];
  private readonly options: Required<GeneratedSourceOptions>;
  /** Next offset to be acked, per partition (everything below is acked). */
  private readonly ackedUpTo: bigint[];
  private emitted = 0;
  private stopped = false;
  private pumping = false;

  constructor(options: GeneratedSourceOptions) {
    this.options = { ...DEFAULT_GENERATED_SOURCE_OPTIONS, ...options };
    const { keys, messages, tokensPerMessage, partitions, maxInFlight, seed } = this.options;
    for (const [name, value] of Object.entries({
      keys,
      messages,
      tokensPerMessage,
      partitions,
      maxInFlight,
    })) {
      if (!Number.isInteger(value) || value < 1)
        throw new RangeError(`${name} must be an integer ≥ 1, got ${value}`);
    }
    const next = seededRandom(seed);
    const offsets = new Array<number>(partitions).fill(0);
    this.ackedUpTo = new Array<bigint>(partitions).fill(0n);
    this.records = Array.from({ length: messages }, (_, i) => {
      const k = i % keys;
      const partition = k % partitions;
      const words = Array.from(
        { length: tokensPerMessage },
        () => BENCH_WORDS[Math.floor(next() * BENCH_WORDS.length)],
      );
      return {
        key: Buffer.from(`key-${k}`),
        value: Buffer.from(JSON.stringify({ text: words.join(' ') })),
        source: { topic: TOPIC, partition, offset: String(offsets[partition]++) },
      };
    });
  }

  /** Messages acked so far (all partitions). */
  get acked(): number {
    return this.ackedUpTo.reduce((n, upTo) => n + Number(upTo), 0);
  }

  /** Starts emitting (call after subscribing to `records$`; `runPipeline` does). */
  async start(): Promise<void> {
    this.pump();
  }

  async ack(positions: readonly SourcePosition[]): Promise<void> {
    // Acks are cumulative per partition (a position acks every earlier offset of its partition).
    for (const { partition, offset } of positions) {
      const upTo = BigInt(offset) + 1n;
      if (upTo > this.ackedUpTo[partition]) this.ackedUpTo[partition] = upTo;
    }
    // Resume on a later turn: emitting from inside the pipeline's ack would re-enter its operators.
    setImmediate(() => this.pump());
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.subject.complete();
  }

  async close(): Promise<void> {
    await this.stop();
  }

  /** Emits while under the in-flight budget; completes after the last message. */
  private pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    try {
      const { messages, maxInFlight } = this.options;
      while (this.emitted < messages && this.emitted - this.acked < maxInFlight && !this.stopped) {
        this.subject.next(this.records[this.emitted++]);
      }
      if (this.emitted === messages) void this.stop();
    } finally {
      this.pumping = false;
    }
  }
}

/** A {@link Sink} that only counts what it is given. */
export class CountingSink implements Sink {
  records = 0;
  writes = 0;

  async write(records: readonly SinkRecord[]): Promise<void> {
    this.records += records.length;
    this.writes++;
  }

  async close(): Promise<void> {}
}

/** A {@link DeadLetterSink} that counts, and keeps the first few reasons for the report. */
export class CountingDeadLetters implements DeadLetterSink {
  count = 0;
  readonly reasons: string[] = [];

  async write(dead: readonly DeadLetter[]): Promise<void> {
    this.count += dead.length;
    for (const d of dead) if (this.reasons.length < 5) this.reasons.push(`${d.stage}: ${d.reason}`);
  }

  async close(): Promise<void> {}
}
