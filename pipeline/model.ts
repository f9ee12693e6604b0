/**
 * Loads a model package for the pipeline: selects the backend, builds the streaming engine, the head and
 * the tokenizer (with the run's token limit), and the state schema its records are checked against.
 */

import { defaultModelDir } from '../core/paths.js';
import { type BackendName, selectBackend } from '../model/backend.js';
import { createStreamingEngine, loadModelPackage, type ModelPackage } from '../model/modelPackage.js';
import { createParallelEngine } from '../model/parallelEngine.js';
import { Tokenizer } from '../model/tokenizer.js';
import type { Logger } from './logger.js';
import type { PipelineModel } from './run.js';
import type { StateSchema } from './state/record.js';

/** A model ready for the pipeline. */
export interface LoadedModel {
  dir: string;
  package: ModelPackage;
  /** `undefined` for a bidirectional model (it cannot stream). */
  model: PipelineModel;
  bidirectional: boolean;
  schema: StateSchema;
  /** The TF.js backend in use. */
  backend: string;
}

/** Options of {@link loadPipelineModel}. */
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
  log: Logger;
}

/**
 * Loads the package, picks the backend and builds what `run` needs. A bidirectional model loads (so the
 * caller can refuse it with a clear message) but gets no streaming engine.
 * @example const { model, schema } = await loadPipelineModel({ log });
 */
export async function loadPipelineModel(options: LoadModelOptions): Promise<LoadedModel> {
  const dir = options.dir ?? defaultModelDir();
  // The package first: a folder that is not one is reported before the backend starts (and logs).
  const pkg = await loadModelPackage(dir);
  const choice = await selectBackend(options.backend ?? 'auto', options.log);
  const tokenizer =
    options.maxTokens === undefined
      ? pkg.tokenizer
      : new Tokenizer(pkg.tokenizer.vocab, { ...pkg.tokenizer.options, maxTokens: options.maxTokens });
  const schema: StateSchema = {
    fingerprint: pkg.fingerprint,
    cell: pkg.config.cell,
    layers: pkg.config.numLayers,
    hidden: pkg.config.hiddenSize,
    dtype: options.stateDtype ?? 'float32',
  };
  const workers = options.engineWorkers ?? 1;
  const engine = pkg.bidirectional
    ? undefined
    : workers > 1
      ? await createParallelEngine(pkg.weights, pkg.config, {
          workers,
          backend: choice.backend as BackendName,
        })
      : createStreamingEngine(pkg);
  const model: PipelineModel = {
    id: pkg.id,
    tokenize: (text) => tokenizer.encode(text),
    get engine() {
      if (!engine) throw new Error(`model ${pkg.id} is bidirectional and has no streaming engine`);
      return engine;
    },
    predict: (hidden) => pkg.head.predict(hidden),
  };
  options.log.info(
    {
      model: pkg.id,
      dir,
      backend: choice.backend,
      cell: pkg.config.cell,
      layers: pkg.config.numLayers,
      hidden: pkg.config.hiddenSize,
    },
    'model loaded',
  );
  return { dir, package: pkg, model, bidirectional: pkg.bidirectional, schema, backend: choice.backend };
}
