/**
 * (c) End to end through the real Kafka broker and Redis: `rnnstream run` (Kafka in, Redis state, Kafka out)
 * fed by `rnnstream feed` with ~20-token texts over many keys, measured from outside by a consumer that
 * reads both topics (bench/e2eProbe.ts). Side by side in one run:
 * - Kafka's raw produce/consume rate on the same broker (the I/O ceiling, bench/kafkaCeiling.ts);
 * - the maximum rate: a pre-filled input topic drained as fast as the pipeline goes;
 * - latency p50/p99 with `feed` at 50% and 90% of that rate (the pipeline kept running, so warm);
 * - the batched kernel alone at the batch size the pipeline formed (same model shapes, same engine workers);
 * - the naive baseline (bench/naive.ts: eachMessage, Redis GET/SET per message, a step of one);
 * - resident memory of a run holding `--memory-keys` keys (one message each) with Redis state.
 * Each part is its own process; every result is one JSON line appended to `--out`.
 *
 * `node --import tsx bench/e2e.ts --brokers 127.0.0.1:9092 --redis redis://127.0.0.1:6379 --out F.jsonl
 *  [--keys 10000] [--messages 60000] [--seconds 20] [--naive-messages 3000] [--ceiling-messages 200000]
 *  [--modes at-least-once,exactly-once] [--fractions 0.1,0.5,0.9] [--partitions 8] [--engine-workers N]
 *  [--memory-keys 100000] [--skip ceiling,kernel,naive,memory] [--target-latency-ms N (0 = none)]
 *  [--feed-tick-ms 10 (the feed's send interval in the latency phases: short = a smooth live feed)]`
 */
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { defaultModelDir } from '../core/paths.js';
import { loadModelPackage } from '../model/modelPackage.js';
import { createKafkaClient } from '../pipeline/kafka/client.js';
import { ensureTopic } from '../pipeline/kafka/connect.js';
import { DEFAULT_RUN_OPTIONS } from '../pipeline/run.js';
import { type EndToEndOptions, endToEndFlags, endToEndOptions, type Mode } from './e2eOptions.js';
import { LatencyProbe, latencies, maxRate } from './e2eProbe.js';
import { freePort, RNNSTREAM, runJson, TSX, writeTexts } from './e2eProcesses.js';
import { messageStageMs, type RunTotals, RunUnderTest, stageMs } from './e2eRun.js';
import { parseFlags, runMain } from './flags.js';
import { round } from './format.js';

/** What the shipped model's shapes are, for the kernel comparison. */
interface ModelShape {
  cell: string;
  vocab: number;
  embed: number;
  hidden: number;
  layers: number;
}

async function shippedModelShape(): Promise<ModelShape> {
  const { config, tokenizer } = await loadModelPackage(defaultModelDir());
  return {
    cell: config.cell,
    vocab: tokenizer.size,
    embed: config.inputSize,
    hidden: config.hiddenSize,
    layers: config.numLayers,
  };
}

class EndToEnd {
  private readonly broker: string;
  private readonly texts: string;
  private readonly created: string[] = [];
  private readonly prefixes: string[] = [];
  /** The shipped model's shapes, read once for both modes' kernel runs. */
  private shape?: Promise<ModelShape>;

  constructor(
    private readonly o: EndToEndOptions,
    workdir: string,
  ) {
    this.broker = o.brokers.join(',');
    this.texts = join(workdir, 'texts.jsonl');
  }

  private async record(line: Record<string, unknown>): Promise<void> {
    process.stderr.write(`e2e: ${JSON.stringify(line)}\n`);
    await appendFile(this.o.out, `${JSON.stringify(line)}\n`);
  }

  private topic(name: string): string {
    const topic = `bench-e2e-${name}-${process.pid}-${Date.now().toString(36)}`;
    this.created.push(topic);
    return topic;
  }

  private feed(
    topic: string,
    args: string[],
    keys = this.o.keys,
  ): Promise<{ sent: number; seconds: number }> {
    return runJson([
      ...RNNSTREAM,
      'feed',
      '--to',
      `kafka://${this.broker}/${topic}?partitions=${this.o.partitions}`,
      '--keys',
      String(keys),
      '--texts',
      this.texts,
      '--json',
      ...args,
    ]);
  }

  async all(): Promise<void> {
    await writeTexts(this.texts, 5_000, this.o.wordsPerText);
    if (!this.o.skip.includes('ceiling')) await this.ceiling();
    for (const mode of this.o.modes) {
      await this.pipeline(mode);
      for (const backend of this.o.compareBackends) await this.maxOn(mode, backend);
    }
    if (!this.o.skip.includes('memory')) await this.memory();
    if (!this.o.skip.includes('naive')) await this.naive();
  }

  private async ceiling(): Promise<void> {
    const ceiling = await runJson<Record<string, unknown>>([
      ...TSX,
      'bench/kafkaCeiling.ts',
      '--brokers',
      this.broker,
      '--topic',
      this.topic('ceiling'),
      '--messages',
      String(this.o.ceilingMessages),
      '--keys',
      String(this.o.keys),
      '--partitions',
      String(this.o.partitions),
      '--json',
    ]);
    await this.record(ceiling);
  }

  /** Topics and a state prefix for one run, the input pre-filled and the output created. */
  private async prepare(name: string, keys: number, messages: number) {
    const input = this.topic(`in-${name}`);
    const output = this.topic(`out-${name}`);
    const prefix = `bench-e2e-${process.pid}-${name}:`;
    this.prefixes.push(prefix);
    // Pre-fill at a rate the broker takes in requests under its size limit.
    await this.feed(input, ['--rate', '50000', '--count', String(messages)], keys);
    // The probe subscribes to the output before the run creates it.
    await ensureTopic(
      createKafkaClient({ brokers: this.o.brokers, clientId: 'rnnstream-bench' }),
      output,
      this.o.partitions,
    );
    return { input, output, prefix };
  }

  /** `rnnstream run` over those topics, with Redis state under the prefix (and `--backend` when given). */
  private async startRun(mode: Mode, t: { input: string; output: string; prefix: string }, backend?: string) {
    const redis = new URL(this.o.redis);
    return new RunUnderTest(
      [
        '--in',
        `kafka://${this.broker}/${t.input}?group=${t.input}&fromBeginning=true`,
        '--out',
        `kafka://${this.broker}/${t.output}?partitions=${this.o.partitions}`,
        '--state',
        `redis://${redis.host}/0?prefix=${t.prefix}`,
        ...(mode === 'exactly-once' ? ['--exactly-once'] : []),
        ...(backend ? ['--backend', backend] : []),
        ...(this.o.engineWorkers ? ['--engine-workers', String(this.o.engineWorkers)] : []),
        ...(this.o.targetLatencyMs === undefined
          ? []
          : ['--target-latency-ms', String(this.o.targetLatencyMs)]),
      ],
      await freePort(),
    );
  }

  /** Stops the run (it must drain and exit 0) and the probe. */
  private async finish(run: RunUnderTest, probe: LatencyProbe, what: string): Promise<void> {
    const code = await run.stop();
    await probe.stop();
    if (code !== 0) throw new Error(`e2e: rnnstream run (${what}) exited with ${code} on SIGTERM`);
  }

  /** The maximum rate, then latency at fractions of it, of one `rnnstream run`. */
  private async pipeline(mode: Mode): Promise<void> {
    const topics = await this.prepare(mode, this.o.keys, this.o.messages);
    const probe = new LatencyProbe(this.o.brokers, topics.input, topics.output);
    await probe.start();
    const run = await this.startRun(mode, topics);
    try {
      await probe.until(
        () => run.alive() && probe.arrivals.length >= this.o.messages,
        900_000,
        'the pre-filled messages',
      );
      const max = maxRate(probe.arrivals);
      const totals = await run.scrape();
      const messagesPerS = max.messages / max.seconds;
      await this.record({
        bench: 'e2e',
        part: 'max',
        mode,
        keys: this.o.keys,
        messages: max.messages,
        tokens: max.tokens,
        seconds: round(max.seconds, 3),
        messages_per_s: round(messagesPerS),
        tokens_per_s: round(max.tokens / max.seconds),
        tokens_per_message: round(max.tokens / max.messages, 2),
        batches: totals.batches,
        rows_per_batch: round(totals.rows / Math.max(1, totals.batches)),
        tokens_per_batch: round(totals.tokens / Math.max(1, totals.batches)),
        ...stageMs(undefined, totals),
        peak_rss_mb: round(run.peakRssBytes / 2 ** 20),
      });
      if (!this.o.skip.includes('kernel')) await this.kernelAt(mode, totals);
      let expected = this.o.messages;
      for (const fraction of this.o.fractions) {
        const rate = Math.max(1, Math.round(fraction * messagesPerS));
        const before = await run.scrape();
        const from = Date.now();
        const fed = await this.feed(topics.input, [
          '--rate',
          String(rate),
          '--seconds',
          String(this.o.seconds),
          '--tick-ms',
          String(this.o.feedTickMs),
        ]);
        const to = Date.now();
        expected += fed.sent;
        await probe.until(
          () => run.alive() && probe.arrivals.length >= expected,
          120_000,
          `outputs at ${fraction}`,
        );
        const after = await run.scrape();
        // The first seconds warm the feed and the group's fetch sessions up; they are not counted.
        const warm = Math.min(3_000, (to - from) / 4);
        await this.record({
          bench: 'e2e',
          part: 'latency',
          mode,
          fraction,
          target_messages_per_s: rate,
          ...latencies(probe.arrivals, from + warm, to),
          rows_per_batch: round((after.rows - before.rows) / Math.max(1, after.batches - before.batches)),
          // Mean time per batch of each stage, from the run's own histograms (where latency goes).
          ...stageMs(before, after),
          // Mean time per message of each stage, from the Kafka timestamp on (pipeline/latency.ts).
          ...messageStageMs(before, after),
          max_delay_ms: DEFAULT_RUN_OPTIONS.maxDelayMs,
          target_latency_ms: this.o.targetLatencyMs ?? DEFAULT_RUN_OPTIONS.targetLatencyMs,
          feed_tick_ms: this.o.feedTickMs,
        });
      }
    } finally {
      await this.finish(run, probe, mode);
    }
  }

  /** The maximum rate alone on another backend: the same drain, for the engine's share of the total. */
  private async maxOn(mode: Mode, backend: string): Promise<void> {
    const topics = await this.prepare(`${mode}-${backend}`, this.o.keys, this.o.messages);
    const probe = new LatencyProbe(this.o.brokers, topics.input, topics.output);
    await probe.start();
    const run = await this.startRun(mode, topics, backend);
    try {
      await probe.until(
        () => run.alive() && probe.arrivals.length >= this.o.messages,
        900_000,
        `the pre-filled messages on ${backend}`,
      );
      const max = maxRate(probe.arrivals);
      const totals = await run.scrape();
      await this.record({
        bench: 'e2e',
        part: 'max',
        mode,
        backend,
        keys: this.o.keys,
        messages: max.messages,
        tokens: max.tokens,
        seconds: round(max.seconds, 3),
        messages_per_s: round(max.messages / max.seconds),
        tokens_per_s: round(max.tokens / max.seconds),
        tokens_per_message: round(max.tokens / max.messages, 2),
        batches: totals.batches,
        rows_per_batch: round(totals.rows / Math.max(1, totals.batches)),
        tokens_per_batch: round(totals.tokens / Math.max(1, totals.batches)),
        peak_rss_mb: round(run.peakRssBytes / 2 ** 20),
      });
    } finally {
      await this.finish(run, probe, `${mode} on ${backend}`);
    }
  }

  /** Resident memory of a run holding many keys (one message each) with Redis state. */
  private async memory(): Promise<void> {
    const keys = this.o.memoryKeys;
    const topics = await this.prepare('memory', keys, keys);
    const probe = new LatencyProbe(this.o.brokers, topics.input, topics.output);
    await probe.start();
    const run = await this.startRun('at-least-once', topics);
    try {
      await probe.until(() => run.alive() && probe.outputs >= keys, 900_000, `${keys} keys' outputs`);
      const totals = await run.scrape();
      await this.record({
        bench: 'e2e',
        part: 'memory',
        state: 'redis',
        keys,
        messages: probe.outputs,
        rss_mb: round(totals.rssBytes / 2 ** 20),
        peak_rss_mb: round(run.peakRssBytes / 2 ** 20),
        // Of the RSS: the main thread's V8 heap and buffers (engine workers and code are the rest).
        main_heap_mb: round(totals.heapBytes / 2 ** 20),
        main_external_mb: round(totals.externalBytes / 2 ** 20),
      });
    } finally {
      await this.finish(run, probe, 'memory');
    }
  }

  /** The kernel alone at the batch size and row length the pipeline formed, same shapes and workers. */
  private async kernelAt(mode: Mode, batches: RunTotals): Promise<void> {
    this.shape ??= shippedModelShape();
    const shape = await this.shape;
    const batch = Math.max(1, Math.round(batches.rows / batches.batches));
    const steps = Math.max(1, Math.round(batches.tokens / batches.rows));
    const kernel = await runJson<Record<string, unknown>>([
      ...TSX,
      'bench/cli.ts',
      'kernel',
      '--cell',
      shape.cell,
      '--vocab',
      String(shape.vocab),
      '--embed',
      String(shape.embed),
      '--hidden',
      String(shape.hidden),
      '--layers',
      String(shape.layers),
      '--batch',
      String(batch),
      '--steps',
      String(steps),
      '--seconds',
      '3',
      // The run's engine workers (default: one per core), so both sides use the same cores.
      '--engine-workers',
      String(this.o.engineWorkers ?? availableParallelism()),
      '--json',
    ]);
    await this.record({ ...kernel, context: `e2e ${mode}` });
  }

  private async naive(): Promise<void> {
    const input = this.topic('naive-in');
    const output = this.topic('naive-out');
    const prefix = `bench-e2e-${process.pid}-naive:`;
    this.prefixes.push(prefix);
    await this.feed(input, ['--rate', '50000', '--count', String(this.o.naiveMessages)]);
    const naive = await runJson<Record<string, unknown>>([
      ...TSX,
      'bench/naive.ts',
      '--brokers',
      this.broker,
      '--in',
      input,
      '--out',
      output,
      '--count',
      String(this.o.naiveMessages),
      '--redis',
      this.o.redis,
      '--prefix',
      prefix,
      '--json',
    ]);
    await this.record(naive);
  }

  /** Deletes the topics and state keys this run made. */
  async cleanUp(): Promise<void> {
    const admin = createKafkaClient({ brokers: this.o.brokers, clientId: 'rnnstream-bench' }).admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const topics = this.created.filter((t) => existing.has(t));
      if (topics.length > 0) await admin.deleteTopics({ topics });
    } finally {
      await admin.disconnect();
    }
    const redis = new Redis(this.o.redis, { lazyConnect: true });
    await redis.connect();
    try {
      for (const prefix of this.prefixes) {
        for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 })) {
          if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
        }
      }
    } finally {
      redis.disconnect();
    }
  }
}

/** Runs every part; results are appended to `options.out`. */
export async function benchEndToEnd(options: EndToEndOptions): Promise<void> {
  const workdir = await mkdtemp(join(tmpdir(), 'rnnstream-e2e-'));
  const bench = new EndToEnd(options, workdir);
  try {
    await bench.all();
  } finally {
    await bench.cleanUp().catch((error: unknown) => process.stderr.write(`e2e: clean-up failed: ${error}\n`));
    await rm(workdir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  runMain(() =>
    benchEndToEnd(endToEndOptions(parseFlags(endToEndFlags(), process.argv.slice(2)))).then(() => 0),
  );
