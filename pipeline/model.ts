/**
 * Loads a model package for the pipeline: selects the backend, builds the tokenizer (with the run's token
 * limit), the head, the state schema its records are checked against, and either the incremental step
 * engine (a streaming model) or the encoder of whole texts (a bidirectional model, or `wholeText`).
 */

import { ConfigError } from '../core/errors.js';
import { defaultModelDir } from '../core/paths.js';
import { type BackendName, selectBackend } from '../model/backend.js';
import {
  createStreamingEngine,
  createWholeEncoder,
  loadModelPackage,
  type ModelPackage,
  type WholeEncoder,
} from '../model/modelPackage.js';
import { createParallelEngine } from '../model/parallelEngine.js';
import { Tokenizer } from '../model/tokenizer.js';
import type { Logger } from './logger.js';
import type { WholeTextModel } from './replay/wholeText.js';
import type { PipelineModel } from './run.js';
import type { StateSchema } from './state/record.js';

/** What every loaded model has, whichever way it scores. */
interface LoadedModelBase {
  dir: string;
  package: ModelPackage;
  schema: StateSchema;
  /** The backend in use. */
  backend: string;
  /** Frees the engine or the encoder (tensors, worker threads). */
  dispose(): void;
}

/** A model that streams: its incremental step engine carries each key's state between messages. */
export interface LoadedStreamingModel extends LoadedModelBase {
  kind: 'streaming';
  model: PipelineModel;
}

/** A model that scores whole texts (bidirectional, or asked for with `wholeText`): it keeps no state. */
export interface LoadedWholeTextModel extends LoadedModelBase {
  kind: 'wholeText';
  model: WholeTextModel;
  encoder: WholeEncoder;
}

/** A model ready for the pipeline: narrow on `kind`. */
export type LoadedModel = LoadedStreamingModel | LoadedWholeTextModel;

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** Model package folder. @default the shipped model (models/sentiment) */
  dir?: string;
  /** @default 'auto' */
  backend?: BackendName;
  /** Overrides the package's tokens-per-message limit. */
  maxTokens?: number;
  /** Engine worker threads over disjoint rows of each batch (wasm runs on one core each). @default 1 */
  engineWorkers?: number;
  /** State records in float16 (half the bytes) or float32. @default 'float32' */
  stateDtype?: 'float32' | 'float16';
  /** Score whole texts even with a unidirectional model (`score`). @default false */
  wholeText?: boolean;
  log: Logger;
}

/** Why `run` (and everything that streams) refuses a bidirectional model, naming `--model`. */
export function bidirectionalRefusal(dir: string): string {
  return `--model ${dir}: a bidirectional model needs the whole text (its backward direction reads from the end), so it cannot score a stream incrementally; use it with \`rnnstream replay\` or \`rnnstream score\``;
}

/**
 * Loads the package, picks the backend and builds a streaming model, or a whole-text one for a
 * bidirectional package (or with `wholeText`).
 * @example const loaded = await loadModel({ log }); if (loaded.kind === 'streaming') runPipeline({ model: loaded.model, … });
 */
export function loadModel(options: LoadModelOptions & { wholeText: true }): Promise<LoadedWholeTextModel>;
export function loadModel(options: LoadModelOptions): Promise<LoadedModel>;
export async function loadModel(options: LoadModelOptions): Promise<LoadedModel> {
  const dir = options.dir ?? defaultModelDir();
  // The package first: a folder that is not one is reported before the backend starts (and logs).
  const pkg = await loadModelPackage(dir);
  const choice = await selectBackend(options.backend ?? 'auto', options.log);
  const tokenizer =
    options.maxTokens === undefined
      ? pkg.tokenizer
      : new Tokenizer(pkg.tokenizer.vocab, { ...pkg.tokenizer.options, maxTokens: options.maxTokens });
  const base = {
    dir,
    package: pkg,
    backend: choice.backend,
    schema: {
      fingerprint: pkg.fingerprint,
      cell: pkg.config.cell,
      layers: pkg.config.numLayers,
      hidden: pkg.config.hiddenSize,
      dtype: options.stateDtype ?? 'float32',
    } satisfies StateSchema,
  };
  const tokenize = (text: string) => tokenizer.encode(text);
  const predict = (hidden: Float32Array[]) => pkg.head.predict(hidden);
  let loaded: LoadedModel;
  if (pkg.bidirectional || options.wholeText) {
    const encoder = createWholeEncoder(pkg);
    const model: WholeTextModel = {
      id: pkg.id,
      tokenize,
      encodeTokens: (rows) => encoder.encodeTokens(rows),
      predict,
    };
    loaded = { ...base, kind: 'wholeText', model, encoder, dispose: () => encoder.dispose() };
  } else {
    const workers = options.engineWorkers ?? 1;
    const engine =
      workers > 1
        ? await createParallelEngine(pkg.weights, pkg.config, {
            workers,
            backend: choice.backend as BackendName,
          })
        : createStreamingEngine(pkg);
    const model: PipelineModel = { id: pkg.id, tokenize, engine, predict };
    loaded = { ...base, kind: 'streaming', model, dispose: () => engine.dispose() };
  }
  options.log.info(
    {
      model: pkg.id,
      dir,
      backend: choice.backend,
      cell: pkg.config.cell,
      layers: pkg.config.numLayers,
      hidden: pkg.config.hiddenSize,
      kind: loaded.kind,
    },
    'model loaded',
  );
  return loaded;
}

/**
 * Loads a model that streams (what `run`, its tests and benchmarks need); a bidirectional package is a
 * {@link ConfigError} naming `--model`.
 * @example const { model, schema } = await loadPipelineModel({ log });
 */
export async function loadPipelineModel(
  options: Omit<LoadModelOptions, 'wholeText'>,
): Promise<LoadedStreamingModel> {
  const loaded = await loadModel(options);
  if (loaded.kind === 'streaming') return loaded;
  loaded.dispose();
  throw new ConfigError(bidirectionalRefusal(loaded.dir));
}
