/**
 * Batch reprocessing: a topic range or files through the same model and operators as `run`
 * ({@link runPipeline}), into a fresh state namespace, resumable, with progress; optionally promoted to
 * the namespace live workers read. A bidirectional model scores each message as a whole text instead
 * ({@link runWholeTextPipeline}): it keeps no state.
 *
 * {@link startReplay} runs four steps: resolve (input, name, namespace: no I/O but the globs), open (the
 * model, the checkpoint, the input, the sinks and the store), run (the pipeline the model calls for) and
 * finish (checkpoint, log, promotion, close).
 */
import { readFileSync } from 'node:fs';
import type { SourcePosition } from '../../core/contracts.js';
import { ConfigError } from '../../core/errors.js';
import { envName, type RunConfig, resolveRunConfig } from '../config.js';
import { openDeadLetterSink, openSink, openStateStore } from '../connect.js';
import type { DeadLetterSink, Sink, StateStore } from '../connectors.js';
import type { Logger } from '../logger.js';
import type { PipelineMetrics } from '../metrics.js';
import {
  type LoadedModel,
  type LoadedStreamingModel,
  type LoadedWholeTextModel,
  loadModel,
} from '../model.js';
import { type ConfigOptions, optionsFromConfig } from '../options.js';
import { runPipeline } from '../run.js';
import { emptyStats, type RunningPipeline, type RunStats } from '../running.js';
import { connectRedis, parseStateUri, redactUri, type StateTarget } from '../state/stateUri.js';
import {
  type CheckpointData,
  NoCheckpoint,
  RedisCheckpoint,
  type ReplayCheckpoint,
  type ReplayInputSpec,
} from './checkpoint.js';
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
import {
  inputSpec,
  type OpenedInput,
  openInput,
  type ReplayInput,
  type ReplaySource,
  resolveInput,
} from './replayInput.js';
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

/** The replay a request names, resolved (step 1): what it reads and where its state goes. */
interface ReplayPlan {
  name: string;
  input: ReplayInput;
  /** The `--state` target; its prefix is the namespace base. */
  target: StateTarget;
  /** The state URI the replay writes (its own namespace for Redis, the base URI for memory). */
  stateUri: string;
  /** Its namespace prefix (Redis state only). */
  prefix?: string;
}

/** Step 1: the input, the name and the namespace; a request that cannot run is a ConfigError. */
async function resolveReplay({ config, request, now }: StartReplayOptions): Promise<ReplayPlan> {
  const input = await resolveInput(config, request);
  const name = checkReplayName(request.namespace ?? defaultReplayName(now));
  const target = parseStateUri(config.state);
  if (request.promote && target.kind !== 'redis') {
    throw new ConfigError(
      '--promote needs a redis:// state URI (--state): a memory: store ends with the replay',
    );
  }
  const prefix = target.kind === 'redis' ? replayPrefix(target.prefix, name) : undefined;
  const stateUri = prefix ? withStatePrefix(config.state, prefix) : config.state;
  return { name, input, target, stateUri, prefix };
}

/** What closes when a replay ends (or fails to start), last opened first. */
class Closers {
  readonly #items: { close(): Promise<void> | void }[] = [];

  add<T extends { close(): Promise<void> | void }>(item: T): T {
    this.#items.push(item);
    return item;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.#items.reverse().map(async (c) => c.close()));
  }
}

/** A replay whose checkpoint is open (step 2a). */
interface OpenReplay {
  checkpoint: ReplayCheckpoint;
  prior: CheckpointData | undefined;
  /** What the checkpoint records as the input. */
  spec: ReplayInputSpec;
  /** The result's fields known before it runs. */
  base: Omit<ReplayResult, 'stats' | 'completed' | 'promoted'>;
}

/** Step 2a: the checkpoint, read and checked against this request (same input, same model). */
async function openCheckpoint(
  plan: ReplayPlan,
  loaded: LoadedModel,
  { config, request, log }: StartReplayOptions,
  closers: Closers,
): Promise<OpenReplay> {
  const { name, target, stateUri, prefix } = plan;
  const modelId = loaded.model.id;
  if (loaded.kind === 'wholeText' && request.promote) {
    throw new ConfigError(
      `--promote: model ${modelId} is bidirectional and keeps no state (each text is scored whole): there is no namespace to promote`,
    );
  }
  const checkpoint: ReplayCheckpoint = closers.add(
    target.kind === 'redis'
      ? new RedisCheckpoint(
          connectRedis(target, { onError: (e) => log.debug({ err: e.message }, 'redis') }),
          checkpointKey(target.prefix, name),
          log,
        )
      : new NoCheckpoint(),
  );
  const prior = await checkpoint.load();
  const spec = await inputSpec(plan.input, config.inputFormat);
  if (prior) checkSameReplay(name, prior, spec, modelId);
  const resumed = prior !== undefined;
  log.info(
    {
      name,
      state: redactUri(stateUri),
      input: spec,
      model: modelId,
      resumed,
      bidirectional: loaded.package.bidirectional,
    },
    resumed ? 'replay resuming from its checkpoint' : 'replay starting',
  );
  return { checkpoint, prior, spec, base: { name, stateUri, prefix, resumed, model: modelId } };
}

/** A model and what it scores with: the state store of a streaming model. */
type Scoring =
  | { kind: 'streaming'; loaded: LoadedStreamingModel; store: StateStore }
  | { kind: 'wholeText'; loaded: LoadedWholeTextModel };

/** The open parts of a replay (step 2b). */
interface ReplayParts {
  input: OpenedInput;
  sink: Sink;
  deadLetters: DeadLetterSink;
  scoring: Scoring;
}

/** Step 2b: the input (a fresh replay's checkpoint begins with it), the sinks and the state store. */
async function openParts(
  plan: ReplayPlan,
  open: OpenReplay,
  loaded: LoadedModel,
  { config, request, log }: StartReplayOptions,
  { connect }: ConfigOptions,
  closers: Closers,
): Promise<ReplayParts> {
  const { checkpoint, prior, spec } = open;
  const input = await openInput(plan.input, {
    config,
    log,
    name: plan.name,
    base: plan.target.kind === 'redis' ? basePrefix(plan.target.prefix) : 'memory',
    prior,
    toEnd: request.toEnd ?? true,
  });
  closers.add(input.source);
  if (!prior) await checkpoint.begin({ input: spec, model: loaded.model.id, ...input.begin });
  const sink = closers.add(await openSink(config.out, { ...connect, groupId: input.groupId }));
  const deadLetters = closers.add(await openDeadLetterSink(config.dlq, connect));
  const scoring: Scoring =
    loaded.kind === 'streaming'
      ? { kind: 'streaming', loaded, store: closers.add(await openStateStore(plan.stateUri, loaded.schema)) }
      : { kind: 'wholeText', loaded };
  return { input, sink, deadLetters, scoring };
}

/** Step 3: the pipeline the model calls for, over a source whose acks advance progress and checkpoint. */
function startPipeline(
  { input, sink, deadLetters, scoring }: ReplayParts,
  onAck: (positions: readonly SourcePosition[]) => Promise<void>,
  options: ConfigOptions,
  metrics: PipelineMetrics | undefined,
): RunningPipeline {
  const { log } = options.model;
  const source = trackAcks(input.source, onAck);
  if (scoring.kind === 'wholeText') {
    const { model } = scoring.loaded;
    return runWholeTextPipeline({ source, sink, deadLetters, log, model }, options.wholeText);
  }
  const { store, loaded } = scoring;
  return runPipeline(
    { source, sink, deadLetters, store, model: loaded.model, log, metrics },
    options.pipeline,
  );
}

/** Step 3, run: the pipeline to its end (or a stop), then step 4, then everything closes. */
function runReplay(
  plan: ReplayPlan,
  open: OpenReplay,
  parts: ReplayParts,
  options: StartReplayOptions,
  configOptions: ConfigOptions,
  closers: Closers,
): RunningReplay {
  const { name, stateUri, prefix } = plan;
  const { log } = options;
  const progress = createProgress({
    total: parts.input.total,
    initial: parts.input.initial,
    log,
    tty: options.progressTty,
    logIntervalMs: options.progressIntervalMs,
  });
  const onAck = async (positions: readonly SourcePosition[]) => {
    progress.advance(positions.length);
    await open.checkpoint.advance(positions);
  };
  const running = startPipeline(parts, onAck, configOptions, options.metrics);
  let stopRequested = false;
  const done = (async () => {
    let completed = false;
    try {
      const stats = await running.done;
      // A bounded Kafka read completes only at its end offsets; a followed topic only by a stop.
      completed = !stopRequested && (parts.input.kafka ? parts.input.kafka.reachedEnd() : true);
      progress.stop(completed);
      logEnd(name, { stats, completed }, log);
      return await finishReplay(open, { stats, completed }, options);
    } finally {
      if (!completed) progress.stop(false);
      await closers.closeAll();
    }
  })();
  const store = parts.scoring.kind === 'streaming' ? parts.scoring.store : undefined;
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
}

/** How a run of the pipeline ended. */
interface ReplayEnd {
  stats: RunStats;
  /** Everything up to the end was read and is durable. */
  completed: boolean;
}

function logEnd(name: string, { stats, completed }: ReplayEnd, log: Logger): void {
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
}

/**
 * Step 4: marks a replay that completed now as done in its checkpoint, and promotes a completed
 * replay's namespace when asked (`request.promote`), in the `--state` database.
 */
async function finishReplay(
  open: OpenReplay,
  { stats, completed }: ReplayEnd,
  { request, config, log }: Pick<StartReplayOptions, 'request' | 'config' | 'log'>,
): Promise<ReplayResult> {
  const result = { ...open.base, stats, completed };
  const { name } = result;
  if (completed && open.prior?.status !== 'done') await open.checkpoint.finish();
  if (!completed || !request.promote || !result.prefix) {
    if (request.promote && !completed) log.warn({ name }, 'not promoted: the replay did not complete');
    return { ...result, promoted: false };
  }
  const previous = await promoteNamespace(config.state, result.prefix);
  log.info(
    { name, active: result.prefix, previous },
    'namespace promoted: live workers read it from their next start',
  );
  return { ...result, promoted: true, previous };
}

/** A replay whose checkpoint says it completed: nothing to read, only step 4 (promotion) to do. */
function alreadyComplete(
  plan: ReplayPlan,
  open: OpenReplay,
  options: StartReplayOptions,
  closers: Closers,
): RunningReplay {
  const { name, stateUri, prefix } = plan;
  options.log.info({ name, finishedAt: open.prior?.finishedAt }, 'replay already complete: nothing to read');
  const done = finishReplay(open, { stats: emptyStats(), completed: true }, options).finally(() =>
    closers.closeAll(),
  );
  return { name, stateUri, prefix, done, stop: async () => {}, ...replayHealth(done) };
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
  const plan = await resolveReplay(options);
  const configOptions = optionsFromConfig(options.config, { log: options.log, mode: 'replay' });
  const closers = new Closers();
  try {
    const loaded = await loadModel(configOptions.model);
    closers.add({ close: () => loaded.dispose() });
    const open = await openCheckpoint(plan, loaded, options, closers);
    if (open.prior?.status === 'done') return alreadyComplete(plan, open, options, closers);
    const parts = await openParts(plan, open, loaded, options, configOptions, closers);
    return runReplay(plan, open, parts, options, configOptions, closers);
  } catch (error) {
    await closers.closeAll();
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
