/**
 * `rnnstream run`: resolve the config, load the model, open the connectors, run until the input ends
 * (files) or a signal arrives (SIGINT/SIGTERM: drain in-flight batches, flush, commit, exit 0).
 */
import type { Server } from 'node:http';
import { ConfigError, RnnstreamError } from '../../core/errors.js';
import { checkRunParts, findingLine, throwFirstError } from '../checks.js';
import { maskSecrets, type RunConfig, resolveRunConfig } from '../config.js';
import { inputGroup, openDeadLetterSink, openSink, openSource, openStateStore } from '../connect.js';
import type { Sink, Source } from '../connectors.js';
import { createLogger, type Logger } from '../logger.js';
import { PipelineMetrics, serveMetrics } from '../metrics.js';
import { type LoadedModel, loadPipelineModel } from '../model.js';
import { resolveActiveNamespace } from '../replay/namespace.js';
import { runPipeline } from '../run.js';

/** Runs the streaming pipeline; resolves to the process exit code. */
export async function runCommand(flags: Record<string, unknown>): Promise<number> {
  const { config: configFile, ...rest } = flags as { config?: string } & Record<string, unknown>;
  const config = resolveRunConfig(rest, process.env, configFile);
  const log = createLogger(config.logLevel).child({ ns: 'run' });
  // Every part that cannot be opened stops the run here, in one line naming the option (exit code 2).
  const findings = await checkRunParts(config);
  throwFirstError(findings);
  for (const f of findings)
    if (f.severity === 'warn' && f.logInRun !== false) log.warn({ option: f.option }, findingLine(f));
  const loaded = await loadModel(config, log);
  try {
    return await runLoaded(config, loaded, log);
  } finally {
    // Also on a failed start (a bad URI, an unreachable store): the engine's worker threads must end.
    if (!loaded.bidirectional) loaded.model.engine.dispose();
  }
}

/** Loads the model package; one that cannot be loaded is a ConfigError naming `--model`. */
async function loadModel(config: RunConfig, log: Logger): Promise<LoadedModel> {
  try {
    return await loadPipelineModel({
      dir: config.model,
      backend: config.backend,
      maxTokens: config.maxTokens,
      engineWorkers: config.engineWorkers,
      stateDtype: config.stateDtype,
      log,
    });
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw error;
    if (error instanceof RnnstreamError && !(error instanceof ConfigError)) throw error;
    const what = error instanceof ConfigError ? '' : 'cannot load the model package: ';
    throw new ConfigError(
      `--model ${config.model ?? '(the shipped model)'}: ${what}${(error as Error).message} (give a model package folder, see docs/MODEL_PACKAGE.md)`,
      { cause: error },
    );
  }
}

/** Opens the connectors, runs the pipeline until the input ends or a signal, closes everything. */
async function runLoaded(config: RunConfig, loaded: LoadedModel, log: Logger): Promise<number> {
  if (loaded.bidirectional) {
    throw new ConfigError(
      `--model ${loaded.dir}: a bidirectional model needs the whole text (its backward direction reads from the end), so it cannot score a stream incrementally; use it with \`rnnstream replay\` or \`rnnstream score\``,
    );
  }
  const metrics = new PipelineMetrics();
  metrics.backend.set({ backend: loaded.backend }, 1);
  const connect = {
    inputFormat: config.inputFormat,
    maxInFlight: config.maxInFlight,
    maxValueBytes: config.maxValueBytes,
    exactlyOnce: config.exactlyOnce,
    log,
  };
  // A replay promoted with --promote moves the live namespace: follow its pointer (one GET at start).
  const stateUri = await resolveActiveNamespace(config.state);
  if (stateUri !== config.state)
    log.info({ state: maskSecrets(stateUri) }, 'state namespace follows the promoted replay');
  const store = await openStateStore(stateUri, loaded.schema);
  // The source calls these only once the pipeline reads it, after the sink below is open.
  let sink: Sink | undefined;
  const source = await openSource(config.in, connect, {
    onRevoke: (partitions) => {
      store.forgetPartitions?.(partitions);
      sink?.revoke?.(partitions);
      log.info({ partitions }, 'partitions revoked: their cached states dropped');
    },
    // A partition coming back may have been run by another worker meanwhile, and a late write of a batch
    // in flight at the revocation may have re-cached an old state: read its keys from the store again.
    // The exactly-once sink fences the partitions' previous owners before the source reads them.
    onAssign: (partitions) => {
      store.forgetPartitions?.(partitions);
      return sink?.assign?.(partitions);
    },
  });
  sink = await openSink(config.out, { ...connect, groupId: await inputGroup(config.in) });
  const fencing = sink.fenced$?.subscribe((partitions) => source.forfeit?.(partitions));
  const deadLetters = await openDeadLetterSink(config.dlq, connect);
  let server: Server | undefined;
  const running = runPipeline(
    { source, sink, deadLetters, store, model: loaded.model, log, metrics },
    {
      inputFormat: config.inputFormat,
      maxBatchRows: config.maxBatchRows,
      maxBatchTokens: config.maxBatchTokens,
      maxDelayMs: config.maxDelayMs,
      maxBatchesInFlight: config.maxBatchesInFlight,
      targetLatencyMs: config.targetLatencyMs,
      emit: config.emit,
      onBadState: config.onBadState,
      maxValueBytes: config.maxValueBytes,
      maxKeyBytes: config.maxKeyBytes,
    },
  );
  if (config.metricsPort !== undefined) {
    server = await serveMetrics(
      metrics,
      {
        alive: () => running.alive(),
        ready: async () => source.unhealthy?.() ?? (running.alive() && (await store.ping())),
      },
      config.metricsPort,
    );
    log.info({ port: (server.address() as { port: number }).port }, 'serving /metrics, /healthz, /readyz');
  }
  // Consumer lag (Kafka inputs) for /metrics and autoscaling, polled off the hot path.
  const lagTimer = config.metricsPort !== undefined ? await pollConsumerLag(source, metrics, log) : undefined;
  let stopping: NodeJS.Timeout | undefined;
  const onSignal = (signal: string) => {
    if (stopping) return;
    log.info({ signal }, 'signal received: draining');
    stopping = setTimeout(() => {
      log.error(
        { timeoutMs: config.shutdownTimeoutMs },
        'drain timed out: exiting without committing the rest',
      );
      process.exit(1);
    }, config.shutdownTimeoutMs);
    stopping.unref();
    void running.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  log.info(
    {
      in: maskSecrets(config.in),
      out: maskSecrets(config.out),
      state: maskSecrets(config.state),
      model: loaded.model.id,
    },
    'running',
  );
  try {
    const stats = await running.done;
    log.info({ ...stats, tokensPerSecond: Math.round(stats.tokens / Math.max(stats.seconds, 1e-9)) }, 'done');
    return 0;
  } finally {
    if (lagTimer) clearInterval(lagTimer);
    fencing?.unsubscribe();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.allSettled([source.close(), sink.close(), deadLetters.close(), store.close()]);
    server?.close();
    // After the connectors closed: the drain's bound covers closing them too.
    if (stopping) clearTimeout(stopping);
  }
}

/** Every 10 s, sets `rnnstream_consumer_lag` from the Kafka source's group offsets (no-op for files). */
async function pollConsumerLag(
  source: Source,
  metrics: PipelineMetrics,
  log: Logger,
): Promise<NodeJS.Timeout | undefined> {
  const { isKafkaSource } = await import('../kafka/connect.js');
  if (!isKafkaSource(source)) return undefined;
  const timer = setInterval(() => {
    source.lag().then(
      (lags) => {
        for (const p of lags)
          metrics.consumerLag.set({ topic: p.topic, partition: String(p.partition) }, p.lag);
      },
      (error: unknown) => log.debug({ err: error }, 'consumer lag poll failed'),
    );
  }, 10_000);
  timer.unref();
  return timer;
}
