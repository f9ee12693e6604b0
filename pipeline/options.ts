/**
 * The one mapping from a resolved {@link RunConfig} to the options of the parts `run` and `replay` build:
 * the model loader, the connectors, the streaming pipeline and the whole-text pipeline. A replay differs
 * only where it is a throughput job (no latency goal); its larger batches come from its config defaults
 * (`resolveReplayConfig`), not from here.
 */
import type { RunConfig } from './config.js';
import type { ConnectOptions } from './connect.js';
import type { Logger } from './logger.js';
import type { LoadModelOptions } from './model.js';
import type { WholeTextOptions } from './replay/wholeText.js';
import type { RunOptions } from './run.js';

/** The options of every part a command builds from its config. */
export interface ConfigOptions {
  model: LoadModelOptions;
  connect: ConnectOptions;
  /** The streaming pipeline ({@link runPipeline}). */
  pipeline: RunOptions;
  /** The whole-text pipeline of a bidirectional model (`runWholeTextPipeline`). */
  wholeText: WholeTextOptions;
}

/** What {@link optionsFromConfig} needs besides the config. */
export interface OptionsFromConfigContext {
  log: Logger;
  /** `replay` runs without a latency goal (batches cut by their limits only). @default 'run' */
  mode?: 'run' | 'replay';
}

/**
 * Maps a config to the options of the model, the connectors and the pipelines.
 * @example const { model, connect, pipeline } = optionsFromConfig(resolveRunConfig(flags), { log });
 */
export function optionsFromConfig(
  config: RunConfig,
  { log, mode = 'run' }: OptionsFromConfigContext,
): ConfigOptions {
  const wholeText: WholeTextOptions = {
    inputFormat: config.inputFormat,
    maxBatchRows: config.maxBatchRows,
    maxDelayMs: config.maxDelayMs,
    emit: config.emit,
    maxValueBytes: config.maxValueBytes,
    maxKeyBytes: config.maxKeyBytes,
  };
  return {
    model: {
      dir: config.model,
      backend: config.backend,
      maxTokens: config.maxTokens,
      engineWorkers: config.engineWorkers,
      stateDtype: config.stateDtype,
      log,
    },
    connect: {
      inputFormat: config.inputFormat,
      maxInFlight: config.maxInFlight,
      maxValueBytes: config.maxValueBytes,
      exactlyOnce: config.exactlyOnce,
      log,
    },
    pipeline: {
      ...wholeText,
      maxBatchTokens: config.maxBatchTokens,
      maxBatchesInFlight: config.maxBatchesInFlight,
      // A replay is a throughput job: no latency goal.
      targetLatencyMs: mode === 'replay' ? 0 : config.targetLatencyMs,
      onBadState: config.onBadState,
    },
    wholeText,
  };
}
