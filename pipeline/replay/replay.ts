/**
 * Batch reprocessing: a topic range or files through the same model and operators as `run`
 * ({@link runPipeline}), into a fresh state namespace, resumable, with progress; optionally promoted to
 * the namespace live workers read. A bidirectional model scores each message as a whole text instead
 * ({@link runWholeTextPipeline}): it keeps no state.
 */
import { readFileSync } from 'node:fs';
import type { SourcePosition } from '../../core/contracts.js';
import { ConfigError } from '../../core/errors.js';
import type { BackendName } from '../../model/backend.js';
import { createWholeEncoder, type WholeEncoder } from '../../model/modelPackage.js';
import { envName, type RunConfig, resolveRunConfig } from '../config.js';
import { type ConnectOptions, filePath, openDeadLetterSink, openSink, openStateStore } from '../connect.js';
import type { Source, StateStore } from '../connectors.js';
import type { KafkaSource } from '../kafka/source.js';
import type { Logger } from '../logger.js';
import type { PipelineMetrics } from '../metrics.js';
import { loadPipelineModel } from '../model.js';
import { runPipeline } from '../run.js';
import { emptyStats, type RunningPipeline, type RunStats } from '../running.js';
import { connectRedis, parseStateUri, redactUri } from '../state/stateUri.js';
import {
  type CheckpointData,
  NoCheckpoint,
  RedisCheckpoint,
  type ReplayCheckpoint,
  type ReplayInputSpec,
} from './checkpoint.js';
import { countRecords, expandInputs, fileFormat, ReplayFileSource, splitFileOffset } from './fileInput.js';
import { describeStart, type KafkaStart, parseFromOffsets, parseFromTime, parseStart } from './kafkaRange.js';
import {
  basePrefix,
  checkpointKey,
  checkReplayName,
  defaultReplayName,
  promoteNamespace,
  replayPrefix,
  withStatePrefix,
} from './namespace.js';
import { createProgress } from './progress.js';
import { runWholeTextPipeline } from './wholeText.js';

/** What `replay` adds to the run options. */
export interface ReplayRequest {
  /** Input files or globs (besides, or instead of, `--in file:…`). */
  files?: string[];
  /** Kafka: start at the earliest offsets (the default when no start is given). */
  fromBeginning?: boolean;
  /** Kafka: `P:O,…` start offsets; unlisted partitions are not read. */
  fromOffset?: string;
  /** Kafka: start at the first record at or after this ISO time (or epoch ms). */
  fromTime?: string;
  /** Kafka: stop at the end offsets taken at start (false: keep following the topic). @default true */
  toEnd?: boolean;
  /** Make the rebuilt namespace the one live workers read, once the replay completed. */
  promote?: boolean;
  /** The replay's name: its namespace is `${base}~${name}:`; the same name resumes it. @default replay-<UTC time> */
  namespace?: string;
}

/** Replay batching defaults: throughput over latency. */
export const REPLAY_BATCH_DEFAULTS = { maxBatchRows: 4096, maxBatchTokens: 65536, maxDelayMs: 50 } as const;

const RUN_BATCH_DEFAULTS = { maxBatchRows: 1024, maxBatchTokens: 16384, maxDelayMs: 5 } as const;

/**
 * The run config for a replay: as `run` resolves it, with the replay's larger batches wherever flags,
 * env (`RNNSTREAM_…`) and the config file leave them unset.
 */
export function resolveReplayConfig(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  configFile?: string,
): RunConfig {
  const config = resolveRunConfig(flags, env, configFile);
  let fromFile: Record<string, unknown> = {};
  const file = configFile ?? env.RNNSTREAM_CONFIG;
  if (file) fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(REPLAY_BATCH_DEFAULTS) as (keyof typeof REPLAY_BATCH_DEFAULTS)[]) {
    const given = flags[key] !== undefined || (env[envName(key)] ?? '') !== '' || fromFile[key] !== undefined;
    if (!given && config[key] === RUN_BATCH_DEFAULTS[key]) config[key] = REPLAY_BATCH_DEFAULTS[key];
  }
  return config;
}

/** Options of {@link startReplay}. */
export interface StartReplayOptions {
  config: RunConfig;
  request: ReplayRequest;
  log: Logger;
  metrics?: PipelineMetrics;
  /** Progress bar (true) or log lines (false). @default process.stderr.isTTY */
  progressTty?: boolean;
  /** Interval of progress log lines. @default 5000 */
  progressIntervalMs?: number;
  /** The clock for the default replay name. @default new Date() */
  now?: Date;
}

/** How a replay ended. */
export interface ReplayResult {
  /** The replay's name (`--namespace`). */
  name: string;
  /** The state URI it wrote (the base URI for a memory store). */
  stateUri: string;
  /** Its namespace prefix (Redis state only). */
  prefix?: string;
  stats: RunStats;
  /** Everything up to the end was read and is durable (false: stopped early; re-run to resume). */
  completed: boolean;
  /** It continued an earlier, interrupted run. */
  resumed: boolean;
  /** The namespace was promoted; `previous` is the prefix it replaced. */
  promoted: boolean;
  previous?: string;
  /** The model's `name@fingerprint`. */
  model: string;
}

/** A started replay. */
export interface RunningReplay {
  name: string;
  stateUri: string;
  prefix?: string;
  done: Promise<ReplayResult>;
  /** Stops reading; what was read drains, is checkpointed, and `done` resolves with `completed: false`. */
  stop(): Promise<void>;
  /** Whether the replay has not failed (`/healthz`): false once its pipeline or its finishing step failed. */
  alive(): boolean;
  /** Whether it is alive and its state store answers (`/readyz`). */
  ready(): Promise<boolean>;
}

type ReplaySource = Source & { start?(): Promise<void> };

/** Where the replay reads from, resolved. */
type Input =
  | { kind: 'files'; paths: string[] }
  | { kind: 'kafka'; uri: string; start: KafkaStart | undefined };

async function resolveInput(config: RunConfig, request: ReplayRequest): Promise<Input> {
  const kafka = config.in.startsWith('kafka://') || config.in.startsWith('kafkas://');
  const starts = [request.fromBeginning, request.fromOffset, request.fromTime].filter(
    (v) => v !== undefined && v !== false,
  );
  if (starts.length > 1) throw new ConfigError('give one of --from-beginning, --from-offset, --from-time');
  if (kafka) {
    if (request.files?.length)
      throw new ConfigError('--files and a Kafka --in cannot be combined: replay one input');
    let start: KafkaStart | undefined;
    if (request.fromOffset !== undefined)
      start = { kind: 'offsets', offsets: parseFromOffsets(request.fromOffset) };
    else if (request.fromTime !== undefined)
      start = { kind: 'time', timestamp: parseFromTime(request.fromTime) };
    else if (request.fromBeginning) start = { kind: 'beginning' };
    return { kind: 'kafka', uri: config.in, start };
  }
  if (starts.length > 0)
    throw new ConfigError('--from-beginning, --from-offset and --from-time apply to a Kafka --in');
  const patterns = [...(request.files ?? [])];
  const path = config.in === '-' ? undefined : filePath(config.in);
  if (config.in !== '-' && path === undefined) {
    throw new ConfigError(
      `--in "${config.in}": replay reads file:PATH (globs allowed), --files GLOB… or kafka://…`,
    );
  }
  if (path !== undefined) patterns.unshift(path);
  if (patterns.length === 0) {
    throw new ConfigError(
      'replay needs an input: --in file:PATH, --files GLOB… or --in kafka://HOST:PORT/TOPIC',
    );
  }
  return { kind: 'files', paths: await expandInputs(patterns) };
}

/**
 * Starts a replay: resolves the input and the namespace, loads the model, resumes from the checkpoint
 * when the namespace has one, and runs the pipeline to the end (files, or Kafka end offsets).
 *
 * @example
 * const replay = await startReplay({ config: resolveReplayConfig(flags), request: { promote: true }, log });
 * const result = await replay.done;
 */
export async function startReplay(options: StartReplayOptions): Promise<RunningReplay> {
  const { config, request, log, metrics } = options;
  const input = await resolveInput(config, request);
  const name = checkReplayName(request.namespace ?? defaultReplayName(options.now));
  const target = parseStateUri(config.state);
  const durable = target.kind === 'redis';
  if (request.promote && !durable) {
    throw new ConfigError(
      '--promote needs a redis:// state URI (--state): a memory: store ends with the replay',
    );
  }
  const prefix = durable ? replayPrefix(target.prefix, name) : undefined;
  const stateUri = prefix ? withStatePrefix(config.state, prefix) : config.state;
  const toClose: { close(): Promise<void> | void }[] = [];
  const closeAll = () => Promise.allSettled(toClose.reverse().map(async (c) => c.close()));

  try {
    const loaded = await loadPipelineModel({
      dir: config.model,
      backend: config.backend as BackendName,
      maxTokens: config.maxTokens,
      engineWorkers: config.engineWorkers,
      stateDtype: config.stateDtype,
      log,
    });
    const modelId = loaded.model.id;
    if (loaded.bidirectional && request.promote) {
      throw new ConfigError(
        `--promote: model ${modelId} is bidirectional and keeps no state (each text is scored whole): there is no namespace to promote`,
      );
    }
    const checkpoint: ReplayCheckpoint =
      target.kind === 'redis'
        ? new RedisCheckpoint(
            connectRedis(target, { onError: (e) => log.debug({ err: e.message }, 'redis') }),
            checkpointKey(target.prefix, name),
            log,
          )
        : new NoCheckpoint();
    toClose.push(checkpoint);
    const prior = await checkpoint.load();
    const spec: ReplayInputSpec =
      input.kind === 'kafka'
        ? { kind: 'kafka', topic: (await import('../kafka/uri.js')).parseKafkaUri(input.uri).topic }
        : { kind: 'files', paths: input.paths, format: config.inputFormat };
    if (prior) checkSameReplay(name, prior, spec, modelId);
    const resumed = prior !== undefined;
    const base: Omit<ReplayResult, 'stats' | 'completed' | 'promoted'> = {
      name,
      stateUri,
      prefix,
      resumed,
      model: modelId,
    };
    log.info(
      {
        name,
        state: redactUri(stateUri),
        input: spec,
        model: modelId,
        resumed,
        bidirectional: loaded.bidirectional,
      },
      resumed ? 'replay resuming from its checkpoint' : 'replay starting',
    );

    if (prior?.status === 'done') {
      log.info({ name, finishedAt: prior.finishedAt }, 'replay already complete: nothing to read');
      if (!loaded.bidirectional) loaded.model.engine.dispose();
      const done = finishReplay(
        { ...base, stats: emptyStats(), completed: true },
        { request, baseStateUri: config.state, log },
      ).finally(closeAll);
      return { name, stateUri, prefix, done, stop: async () => {}, ...replayHealth(done) };
    }

    const connect: ConnectOptions = {
      inputFormat: config.inputFormat,
      maxInFlight: config.maxInFlight,
      maxValueBytes: config.maxValueBytes,
      exactlyOnce: config.exactlyOnce,
      log,
    };
    let source: ReplaySource;
    let total: number | undefined;
    let initial = 0;
    let groupId: string | undefined;
    let kafkaSource: KafkaSource | undefined;
    if (input.kind === 'files') {
      const resumeAfter = prior?.files ?? new Map<number, bigint>();
      const counts = await Promise.all(
        input.paths.map((p) => countRecords(p, fileFormat(p, config.inputFormat))),
      );
      total = counts.reduce((a, b) => a + b, 0);
      initial = counts.reduce((sum, n, i) => {
        const last = resumeAfter.get(i);
        return last === undefined ? sum : sum + Math.min(n, Number(splitFileOffset(last).line + 1n));
      }, 0);
      source = new ReplayFileSource({
        paths: input.paths,
        format: config.inputFormat,
        maxInFlight: config.maxInFlight,
        maxLineBytes: config.maxValueBytes * 4 + 4096,
        resumeAfter,
      });
      if (!prior) await checkpoint.begin({ input: spec, model: modelId });
    } else {
      const opened = await openKafkaRange({
        uri: input.uri,
        config,
        log,
        name,
        base: durable ? basePrefix(target.prefix) : 'memory',
        start: prior?.start ? parseStart(prior.start) : (input.start ?? { kind: 'beginning' }),
        prior,
        toEnd: request.toEnd ?? true,
      });
      if (prior?.start && input.start && describeStart(input.start) !== prior.start) {
        log.warn(
          { name, start: prior.start },
          'resuming: the start of the first run applies, not the one given now',
        );
      }
      source = opened.source;
      kafkaSource = opened.source;
      groupId = opened.groupId;
      total = opened.remaining;
      toClose.push(source);
      if (!prior) {
        await checkpoint.begin({
          input: spec,
          model: modelId,
          start: describeStart(opened.start),
          stopAt: opened.stopAt,
        });
      }
    }
    if (input.kind === 'files') toClose.push(source);

    const sink = await openSink(config.out, { ...connect, groupId });
    toClose.push(sink);
    const deadLetters = await openDeadLetterSink(config.dlq, connect);
    toClose.push(deadLetters);
    let store: StateStore | undefined;
    let encoder: WholeEncoder | undefined;
    if (loaded.bidirectional) {
      encoder = createWholeEncoder(loaded.package);
      const e = encoder;
      toClose.push({ close: () => e.dispose() });
    } else {
      store = await openStateStore(stateUri, loaded.schema);
      toClose.push(store);
      toClose.push({ close: () => loaded.model.engine.dispose() });
    }

    const progress = createProgress({
      total,
      initial,
      log,
      tty: options.progressTty,
      logIntervalMs: options.progressIntervalMs,
    });
    const tracked = trackAcks(source, async (positions) => {
      progress.advance(positions.length);
      await checkpoint.advance(positions);
    });
    let stopRequested = false;
    const batching = {
      inputFormat: config.inputFormat,
      maxBatchRows: config.maxBatchRows,
      maxDelayMs: config.maxDelayMs,
      maxBatchesInFlight: config.maxBatchesInFlight,
      // A replay is a throughput job: no latency goal.
      targetLatencyMs: 0,
      emit: config.emit,
      maxValueBytes: config.maxValueBytes,
      maxKeyBytes: config.maxKeyBytes,
    };
    let running: RunningPipeline;
    if (encoder) {
      const e = encoder;
      running = runWholeTextPipeline(
        {
          source: tracked,
          sink,
          deadLetters,
          log,
          model: {
            id: modelId,
            tokenize: (text) => loaded.model.tokenize(text),
            encodeTokens: (rows) => e.encodeTokens(rows),
            predict: (hidden) => loaded.model.predict(hidden),
          },
        },
        batching,
      );
    } else {
      running = runPipeline(
        { source: tracked, sink, deadLetters, store: store as StateStore, model: loaded.model, log, metrics },
        { ...batching, maxBatchTokens: config.maxBatchTokens, onBadState: config.onBadState },
      );
    }

    const done = (async () => {
      let completed = false;
      try {
        const stats = await running.done;
        // A bounded Kafka read completes only at its end offsets; a followed topic only by a stop.
        completed = !stopRequested && (kafkaSource ? kafkaSource.reachedEnd() : true);
        progress.stop(completed);
        log.info(
          {
            name,
            ...stats,
            messagesPerSecond: Math.round(stats.messagesIn / Math.max(stats.seconds, 1e-9)),
            tokensPerSecond: Math.round(stats.tokens / Math.max(stats.seconds, 1e-9)),
            completed,
          },
          completed ? 'replay complete' : `replay stopped: re-run with --namespace ${name} to resume`,
        );
        if (completed) await checkpoint.finish();
        return await finishReplay(
          { ...base, stats, completed },
          { request, baseStateUri: config.state, log },
        );
      } finally {
        if (!completed) progress.stop(false);
        await closeAll();
      }
    })();
    return {
      name,
      stateUri,
      prefix,
      done,
      ...replayHealth(done, running, store),
      async stop() {
        stopRequested = true;
        await running.stop();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** `alive` and `ready` of a replay: its `done` has not rejected, its pipeline has not failed, its store answers. */
function replayHealth(
  done: Promise<unknown>,
  running?: RunningPipeline,
  store?: StateStore,
): Pick<RunningReplay, 'alive' | 'ready'> {
  let failed = false;
  done.catch(() => {
    failed = true;
  });
  const alive = () => !failed && (running?.alive() ?? true);
  return { alive, ready: async () => alive() && (store ? await store.ping() : true) };
}

/** Promotes a completed replay's namespace when asked (`request.promote`), in `baseStateUri`'s database. */
async function finishReplay(
  result: Omit<ReplayResult, 'promoted'>,
  { request, baseStateUri, log }: { request: ReplayRequest; baseStateUri: string; log: Logger },
): Promise<ReplayResult> {
  const { completed } = result;
  if (!completed || !request.promote || !result.prefix) {
    if (request.promote && !completed)
      log.warn({ name: result.name }, 'not promoted: the replay did not complete');
    return { ...result, completed, promoted: false };
  }
  const previous = await promoteNamespace(baseStateUri, result.prefix);
  log.info(
    { name: result.name, active: result.prefix, previous },
    'namespace promoted: live workers read it from their next start',
  );
  return { ...result, completed, promoted: true, previous };
}

function checkSameReplay(name: string, prior: CheckpointData, spec: ReplayInputSpec, model: string): void {
  if (JSON.stringify(prior.input) !== JSON.stringify(spec)) {
    throw new ConfigError(
      `--namespace ${name} is a replay of ${JSON.stringify(prior.input)}, not of ${JSON.stringify(spec)}: resume it with the same input, or pick another --namespace`,
    );
  }
  if (prior.model !== model) {
    throw new ConfigError(
      `--namespace ${name} was replayed with model ${prior.model}, not ${model}: its states would mix two models; pick another --namespace`,
    );
  }
}

/** A source whose acks also report to `onAck` (after the source took them). */
function trackAcks(
  source: ReplaySource,
  onAck: (positions: readonly SourcePosition[]) => Promise<void>,
): ReplaySource {
  return {
    records$: source.records$,
    async ack(positions) {
      await source.ack(positions);
      await onAck(positions);
    },
    stop: () => source.stop(),
    close: () => source.close(),
    start: source.start ? () => (source.start as () => Promise<void>).call(source) : undefined,
  };
}

async function openKafkaRange(options: {
  uri: string;
  config: RunConfig;
  log: Logger;
  name: string;
  base: string;
  start: KafkaStart;
  prior: CheckpointData | undefined;
  toEnd: boolean;
}): Promise<{
  source: KafkaSource;
  groupId: string;
  start: KafkaStart;
  stopAt?: Map<number, string>;
  remaining?: number;
}> {
  const { parseKafkaUri } = await import('../kafka/uri.js');
  const { createKafkaClient, kafkaLogger } = await import('../kafka/client.js');
  const { KafkaSource } = await import('../kafka/source.js');
  const { planKafkaRange } = await import('./kafkaRange.js');
  const parsed = parseKafkaUri(options.uri);
  const log = kafkaLogger(options.log);
  const kafka = createKafkaClient(parsed.connection, { logger: log });
  // A private group per replay: its committed offsets are the replay's progress.
  const groupId = `rnnstream-replay.${options.base}.${options.name}`;
  const plan = await planKafkaRange({
    kafka,
    topic: parsed.topic,
    groupId,
    start: options.start,
    resume: options.prior !== undefined,
    stopAt: options.prior?.stopAt ?? (options.toEnd ? true : undefined),
  });
  options.log.info(
    {
      topic: parsed.topic,
      groupId,
      starts: Object.fromEntries(plan.starts),
      stopAt: plan.stopAt ? Object.fromEntries(plan.stopAt) : 'follow',
      remaining: plan.remaining,
      resumedPartitions: plan.resumed,
    },
    'replay range',
  );
  const source = new KafkaSource({
    kafka,
    topic: parsed.topic,
    groupId,
    offsetReset: 'earliest',
    stopAt: plan.stopAt,
    partitionsConsumedConcurrently: parsed.concurrency,
    maxInFlightMessages: options.config.maxInFlight,
    commitViaSink: options.config.exactlyOnce,
    logger: log,
  });
  return { source, groupId, start: options.start, stopAt: plan.stopAt, remaining: plan.remaining };
}
