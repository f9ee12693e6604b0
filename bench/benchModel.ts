/**
 * The model the pipeline and memory benchmarks run: the shipped package when it is there, otherwise
 * random weights of a stated size behind a real tokenizer and head, so every stage does its real work.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultModelDir } from '../core/paths.js';
import { activeBackendName, type BackendName } from '../model/backend.js';
import type { RnnWeights } from '../model/cells.js';
import { Head } from '../model/head.js';
import { loadModelPackage, MANIFEST_FILE } from '../model/modelPackage.js';
import { createParallelEngine } from '../model/parallelEngine.js';
import { createStepEngine } from '../model/stepEngine.js';
import { Tokenizer } from '../model/tokenizer.js';
import type { CellKind, RnnConfig, StepEngine } from '../model/types.js';
import type { PipelineModel } from '../pipeline/run.js';
import type { StateSchema } from '../pipeline/state/record.js';
import { BENCH_WORDS } from './memorySource.js';
import { randomWeights, seededRandom } from './random.js';

/** Size of the random model used when no package is shipped (or `model: 'random'`). */
export interface RandomModelSize {
  /** @default 'gru' */
  cell?: CellKind;
  /** @default 20000 */
  vocab?: number;
  /** @default 64 */
  embed?: number;
  /** @default 128 */
  hidden?: number;
  /** @default 1 */
  layers?: number;
  /** @default 1 */
  seed?: number;
}

/** Defaults of {@link RandomModelSize}: the shape docs/MODEL_PACKAGE.md gives for the shipped model. */
export const DEFAULT_RANDOM_MODEL_SIZE: Required<RandomModelSize> = {
  cell: 'gru',
  vocab: 20000,
  embed: 64,
  hidden: 128,
  layers: 1,
  seed: 1,
};

/** The network's shape, as `bench kernel` takes it (to time the kernel alone at the pipeline's batch). */
export interface BenchModelShape {
  cell: CellKind;
  vocab: number;
  embed: number;
  hidden: number;
  layers: number;
}

/** A model ready for `runPipeline`, its state schema, its shape, and one line saying what it is. */
export interface BenchModel {
  model: PipelineModel;
  schema: StateSchema;
  shape: BenchModelShape;
  description: string;
}

const shapeOf = (config: RnnConfig, vocab: number): BenchModelShape => ({
  cell: config.cell,
  vocab,
  embed: config.inputSize,
  hidden: config.hiddenSize,
  layers: config.numLayers,
});

/**
 * Loads the model of a pipeline benchmark: `auto` = the shipped package if present, else random weights;
 * `random` = always random; anything else is a package folder. Call after `selectBackend`.
 * @example const { model, schema, description } = await loadBenchModel('auto');
 */
export async function loadBenchModel(
  which: string,
  size: RandomModelSize = {},
  engineWorkers = 1,
): Promise<BenchModel> {
  // Engine worker threads as `run --engine-workers` (model/parallelEngine.ts); 1 = the engine in this thread.
  const engineFor = async (weights: RnnWeights, config: RnnConfig) =>
    engineWorkers > 1
      ? createParallelEngine(weights, config, {
          workers: engineWorkers,
          backend: activeBackendName() as BackendName,
        })
      : createStepEngine(weights, config);
  let dir: string | undefined;
  if (which === 'auto') {
    try {
      const shipped = defaultModelDir();
      if (existsSync(join(shipped, MANIFEST_FILE))) dir = shipped;
    } catch {
      // No package root with models/ (e.g. a stripped checkout): fall back to random weights.
    }
  } else if (which !== 'random') {
    dir = which;
  }
  if (dir) {
    const pkg = await loadModelPackage(dir);
    const { config } = pkg;
    return {
      model: {
        id: pkg.id,
        tokenize: (text) => pkg.tokenizer.encode(text),
        engine: await engineFor(pkg.weights, pkg.config),
        predict: (hs) => pkg.head.predict(hs),
      },
      schema: {
        fingerprint: pkg.fingerprint,
        cell: config.cell,
        layers: config.numLayers,
        hidden: config.hiddenSize,
        dtype: 'float32',
      },
      shape: shapeOf(config, pkg.tokenizer.size),
      description: `${pkg.id} (${describe(config, pkg.tokenizer.size)})`,
    };
  }
  return randomBenchModel(size, engineFor);
}

/** `gru 1×128, embed 64, vocab 20000`. */
function describe(config: RnnConfig, vocab: number): string {
  return `${config.cell} ${config.numLayers}×${config.hiddenSize}, embed ${config.inputSize}, vocab ${vocab}`;
}

/**
 * A random-weight model with a real tokenizer (the benchmark's words plus filler up to `vocab`) and a
 * sigmoid head; `engineFor` builds its engine (in this thread by default).
 * @example const { model } = await randomBenchModel({ hidden: 32, vocab: 500 });
 */
export async function randomBenchModel(
  size: RandomModelSize = {},
  engineFor: (weights: RnnWeights, config: RnnConfig) => StepEngine | Promise<StepEngine> = createStepEngine,
): Promise<BenchModel> {
  const s = { ...DEFAULT_RANDOM_MODEL_SIZE, ...size };
  const config: RnnConfig = {
    cell: s.cell,
    inputSize: s.embed,
    hiddenSize: s.hidden,
    numLayers: s.layers,
    bias: true,
  };
  const words = ['<pad>', '<unk>', ...BENCH_WORDS];
  if (s.vocab < words.length)
    throw new RangeError(`vocab must be ≥ ${words.length} (the benchmark's words), got ${s.vocab}`);
  const vocab = [...words, ...Array.from({ length: s.vocab - words.length }, (_, i) => `filler${i}`)];
  const tokenizer = new Tokenizer(vocab);
  const next = seededRandom(s.seed + 100);
  const headWeight = Float32Array.from({ length: s.hidden }, () => (2 * next() - 1) / Math.sqrt(s.hidden));
  const head = new Head(
    { kind: 'sigmoid', labels: ['negative', 'positive'] },
    { shape: [1, s.hidden], data: headWeight },
  );
  const fingerprint = 'bbbbbbbbbbbb0000';
  return {
    model: {
      id: `bench-random@${fingerprint}`,
      tokenize: (text) => tokenizer.encode(text),
      engine: await engineFor(randomWeights(config, s.vocab, s.seed), config),
      predict: (hs) => head.predict(hs),
    },
    schema: { fingerprint, cell: s.cell, layers: s.layers, hidden: s.hidden, dtype: 'float32' },
    shape: shapeOf(config, s.vocab),
    description: `random weights (${describe(config, s.vocab)})`,
  };
}
