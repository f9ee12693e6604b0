/**
 * The naive baseline of the end-to-end benchmark (issue 6): the consumer a newcomer writes without
 * rnnstream's batching. kafkajs `eachMessage`, and per message: parse, tokenize, Redis GET of the key's
 * state, one engine step over a batch of one, the head, Redis SET, and one `producer.send`. It scores
 * like the pipeline (same model, same state arithmetic) and shows what micro-batching buys.
 *
 * `node --import tsx bench/naive.ts --brokers H:P --in TOPIC --out TOPIC --count N [--redis URL]
 * [--prefix P] [--group G] [--model DIR] [--backend NAME] [--timeout-ms MS] [--json]`
 */

import { Command, Option } from 'commander';
import { Redis } from 'ioredis';
import { Partitioners } from 'kafkajs';
import type { RnnState } from '../core/contracts.js';
import { ConfigError } from '../core/errors.js';
import { BACKEND_HELP, BACKEND_NAMES, type BackendName } from '../model/backendNames.js';
import { createKafkaClient, kafkaLogger } from '../pipeline/kafka/client.js';
import { ensureTopic } from '../pipeline/kafka/connect.js';
import { parseKafkaUri } from '../pipeline/kafka/uri.js';
import { type Logger, rootLogger } from '../pipeline/logger.js';
import { loadPipelineModel } from '../pipeline/model.js';
import { choiceFlag, type Flags, numberFlag, parseFlags, printResult, runMain } from './flags.js';

/** Options of {@link runNaive}. */
export interface NaiveOptions {
  /** `host:port` seeds of the Kafka cluster. */
  brokers: string[];
  /** Input topic of JSON messages `{"text", "id"?}`, keyed by sequence key. */
  input: string;
  /** Output topic (created when missing). */
  output: string;
  /** Messages to process; the run ends after the `count`-th. */
  count: number;
  /** @default 'redis://127.0.0.1:6379' */
  redis?: string;
  /** Redis key prefix of the states. @default 'naive:' */
  prefix?: string;
  /** Consumer group (reads from the beginning when new). @default a fresh `rnnstream-naive-…` group */
  group?: string;
  /** Model package folder. @default the shipped model (models/sentiment) */
  model?: string;
  /** @default 'auto' */
  backend?: BackendName;
  /** Deadline for `count` messages to be processed, in ms (a short topic fails instead of hanging). @default 600000 */
  timeoutMs?: number;
  /** @default the root logger, namespace `naive` */
  log?: Logger;
}

/** Defaults of {@link NaiveOptions} (`group` is made fresh per run). */
export const DEFAULT_NAIVE_OPTIONS = {
  redis: 'redis://127.0.0.1:6379',
  prefix: 'naive:',
  backend: 'auto' as BackendName,
  timeoutMs: 600_000,
};

/** What {@link runNaive} measured. */
export interface NaiveResult {
  bench: 'naive';
  messages: number;
  tokens: number;
  /** From the start of the first message to the end of the last (model load and group join excluded). */
  seconds: number;
  messages_per_s: number;
  tokens_per_s: number;
  backend: string;
}

/** The key's state as raw float32 bytes: `h`, then `c` for an LSTM. */
function encodeState(state: RnnState): Buffer {
  const h = Buffer.from(state.h.buffer, state.h.byteOffset, state.h.byteLength);
  return state.c
    ? Buffer.concat([h, Buffer.from(state.c.buffer, state.c.byteOffset, state.c.byteLength)])
    : h;
}

function decodeState(bytes: Buffer, size: number, lstm: boolean, key: string): RnnState {
  const values = lstm ? 2 * size : size;
  if (bytes.length !== values * 4) {
    throw new Error(`state of ${key} is ${bytes.length} bytes, expected ${values * 4} (another model's?)`);
  }
  // Copied: a Buffer from ioredis may sit at an offset that is not a multiple of 4.
  const floats = new Float32Array(new Uint8Array(bytes).buffer);
  return lstm ? { h: floats.slice(0, size), c: floats.slice(size) } : { h: floats };
}

/**
 * Consumes `count` messages one at a time and scores each with its own Redis round trips, step and send.
 * @example const { messages_per_s } = await runNaive({ brokers: ['127.0.0.1:9092'], input: 'in', output: 'out', count: 20000 });
 */
export async function runNaive(options: NaiveOptions): Promise<NaiveResult> {
  const o = {
    ...DEFAULT_NAIVE_OPTIONS,
    ...options,
    group: options.group ?? `rnnstream-naive-${process.pid}-${Date.now().toString(36)}`,
  };
  if (!Number.isInteger(o.count) || o.count < 1)
    throw new ConfigError(`--count must be an integer ≥ 1, got ${o.count}`);
  if (o.brokers.length === 0) throw new ConfigError('--brokers must name at least one host:port');
  const log = o.log ?? rootLogger().child({ ns: 'naive' });
  // Parsed as a URI for its checks and the TLS/SASL settings from the environment.
  const { connection } = parseKafkaUri(`kafka://${o.brokers.join(',')}/${o.input}`);
  parseKafkaUri(`kafka://${o.brokers.join(',')}/${o.output}`);

  // A bidirectional model is refused there (it cannot stream).
  const loaded = await loadPipelineModel({ dir: o.model, backend: o.backend, log });
  const { model, schema } = loaded;
  const engine = model.engine;
  const size = schema.layers * schema.hidden;
  const lstm = schema.cell === 'lstm';

  const redis = new Redis(o.redis, { lazyConnect: true });
  const kafka = createKafkaClient(connection, { logger: kafkaLogger(log) });
  const consumer = kafka.consumer({ groupId: o.group });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  let timer: NodeJS.Timeout | undefined;
  try {
    // The first step allocates the backend's buffers: not part of the timed run (as in the pipeline bench).
    await engine.step([{ tokens: model.tokenize('the movie was good') }]);
    await redis.connect();
    await ensureTopic(kafka, o.output);
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [o.input], fromBeginning: true });

    let processed = 0;
    let tokens = 0;
    let started = 0;
    let ended = 0;
    let finish: () => void = () => {};
    let fail: (error: unknown) => void = () => {};
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) fail(payload.error);
    });
    timer = setTimeout(
      () =>
        fail(
          new Error(`naive: ${processed} of ${o.count} messages from ${o.input} within ${o.timeoutMs} ms`),
        ),
      o.timeoutMs,
    );
    timer.unref();

    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (processed >= o.count) return;
        if (started === 0) started = performance.now();
        try {
          const value = JSON.parse(message.value?.toString() ?? 'null') as {
            text: string;
            id?: string;
            key?: string;
          };
          const key = message.key?.toString() ?? value.key;
          if (key === undefined) throw new Error(`message ${partition}:${message.offset} has no key`);
          const ids = model.tokenize(value.text);
          const stored = await redis.getBuffer(`${o.prefix}${key}`);
          const state = stored === null ? null : decodeState(stored, size, lstm, key);
          const [result] = await engine.step([{ tokens: ids, state }]);
          const [prediction] = model.predict([result.last]);
          await redis.set(`${o.prefix}${key}`, encodeState(result.state));
          const output = {
            key,
            id: value.id,
            sentiment: { label: prediction.label, score: prediction.score },
            tokens: ids.length,
            source: { partition, offset: message.offset },
          };
          await producer.send({
            topic: o.output,
            acks: -1,
            messages: [{ key, value: JSON.stringify(output) }],
          });
          tokens += ids.length;
          processed++;
          if (processed === o.count) {
            ended = performance.now();
            finish();
          }
        } catch (error) {
          // kafkajs would retry the message forever: end the run with the error instead.
          fail(error);
          throw error;
        }
      },
    });
    await done;
    const seconds = (ended - started) / 1000;
    return {
      bench: 'naive',
      messages: processed,
      tokens,
      seconds,
      messages_per_s: processed / seconds,
      tokens_per_s: tokens / seconds,
      backend: loaded.backend,
    };
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await redis.quit().catch(() => redis.disconnect());
    engine.dispose();
  }
}

/** CLI entry: runs the baseline with flags as in the file's header; resolves to the exit code. */
export async function naiveCommand(flags: Flags): Promise<number> {
  const required = (name: string): string => {
    const value = flags[name];
    if (typeof value !== 'string')
      throw new ConfigError(`--${name} is required (naive --brokers H:P --in T --out T --count N)`);
    return value;
  };
  const d = DEFAULT_NAIVE_OPTIONS;
  const result = await runNaive({
    brokers: required('brokers').split(','),
    input: required('in'),
    output: required('out'),
    count: numberFlag(flags, 'count', 0),
    redis: typeof flags.redis === 'string' ? flags.redis : d.redis,
    prefix: typeof flags.prefix === 'string' ? flags.prefix : d.prefix,
    group: typeof flags.group === 'string' ? flags.group : undefined,
    model: typeof flags.model === 'string' ? flags.model : undefined,
    backend: choiceFlag(flags, 'backend', BACKEND_NAMES, d.backend),
    timeoutMs: numberFlag(flags, 'timeoutMs', d.timeoutMs),
  });
  printResult(result, flags.json === true);
  return 0;
}

/** The script's flags (as in the file's header). */
export function naiveFlags(): Command {
  return new Command('bench/naive.ts')
    .description('the naive baseline: eachMessage, Redis GET/SET and a step of one per message')
    .option('--brokers <list>', 'host:port seeds of the Kafka cluster (required)')
    .option('--in <topic>', 'input topic (required)')
    .option('--out <topic>', 'output topic (required)')
    .option('--count <n>', 'messages to process (required)')
    .option('--redis <url>', 'Redis URL')
    .option('--prefix <p>', 'state key prefix')
    .option('--group <id>', 'consumer group')
    .option('--model <dir>', 'model package folder')
    .addOption(new Option('--backend <name>', BACKEND_HELP).choices(BACKEND_NAMES))
    .option('--timeout-ms <ms>', 'give up after this long')
    .option('--json', 'last line is a JSON object');
}

if (import.meta.url === `file://${process.argv[1]}`)
  runMain(() => naiveCommand(parseFlags(naiveFlags(), process.argv.slice(2))));
