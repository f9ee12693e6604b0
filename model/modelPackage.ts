/**
 * Model packages (docs/MODEL_PACKAGE.md): a folder with `rnnstream.json`, the weights (safetensors with
 * PyTorch names, or a TF.js LayersModel), the vocabulary and a model card. Loading validates every JSON
 * file with zod, refuses paths that leave the folder (symlinks included), and never evaluates code.
 */
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { ConfigError, ModelFormatError } from '../core/errors.js';
import { type RnnWeights, rnnWeightsFromStateDict } from './cells.js';
import { modelFingerprint } from './fingerprint.js';
import { Head } from './head.js';
import { readLayersModel } from './keras.js';
import { parseSafetensors, serializeSafetensors, type TensorMap } from './safetensors.js';
import { createStepEngine, type StepEngineOptions } from './stepEngine.js';
import { Tokenizer } from './tokenizer.js';
import type { HeadSpec, RnnConfig, StepEngine } from './types.js';

/** File name of the manifest inside a package folder. */
export const MANIFEST_FILE = 'rnnstream.json';

/** A path inside the package: relative, no `..` segments (checked again after resolving). */
const packagePath = z
  .string()
  .min(1)
  .refine(
    (p) => !isAbsolute(p) && !p.split(/[\\/]/).includes('..'),
    'must be a relative path inside the package',
  );

/** Schema of `rnnstream.json`. */
export const ManifestSchema = z.object({
  format: z.literal('rnnstream-model'),
  version: z.literal(1),
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash and underscore only (1–64 characters)'),
  network: z.object({
    cell: z.enum(['rnn', 'lstm', 'gru']),
    embed: z.number().int().positive(),
    hiddenSize: z.number().int().positive(),
    numLayers: z.number().int().positive(),
    bias: z.boolean().default(true),
    bidirectional: z.boolean().default(false),
  }),
  weights: z.object({ format: z.enum(['safetensors', 'layers']), path: packagePath }),
  tokenizer: z.object({
    vocab: packagePath,
    lowercase: z.boolean().default(true),
    maxTokens: z.number().int().positive().default(512),
    padId: z.number().int().nonnegative().default(0),
    oovId: z.number().int().nonnegative().default(1),
    split: z.enum(['words', 'social']).default('words'),
  }),
  head: z.object({ kind: z.enum(['sigmoid', 'softmax']), labels: z.array(z.string().min(1)).min(2) }),
  card: packagePath.optional(),
});

/** A validated manifest (defaults applied). */
export type Manifest = z.infer<typeof ManifestSchema>;

/** A loaded model package. */
export interface ModelPackage {
  dir: string;
  name: string;
  fingerprint: string;
  /** `name@fingerprint`, the output's `model` field. */
  id: string;
  manifest: Manifest;
  /** The recurrent network of one direction. */
  config: RnnConfig;
  /** Needs whole texts: refused by streaming (see {@link createStreamingEngine}). */
  bidirectional: boolean;
  /** Forward weights (with the embedding); `backward` for bidirectional networks. */
  weights: RnnWeights;
  backwardWeights?: RnnWeights;
  tokenizer: Tokenizer;
  head: Head;
}

/**
 * Resolves a path of the manifest inside the package folder, refusing anything that leaves it,
 * through `..` or through a symbolic link.
 */
async function insidePackage(dir: string, path: string, what: string): Promise<string> {
  const root = await realpath(dir);
  let target: string;
  try {
    target = await realpath(resolve(root, path));
  } catch (error) {
    throw new ConfigError(`model package ${dir}: ${what} "${path}" cannot be read`, { cause: error });
  }
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new ConfigError(`model package ${dir}: ${what} "${path}" leaves the package folder`);
  }
  return target;
}

/** Parses a JSON file of the package with a schema; errors name the file and the field. */
function parseJson<T>(bytes: Uint8Array, schema: z.ZodType<T>, file: string): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new ModelFormatError(`${file} is not valid JSON`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelFormatError(`${file} is invalid: ${issues}`);
  }
  return parsed.data;
}

const VocabSchema = z.array(z.string()).min(2);

/**
 * Loads and validates a model package folder.
 * @example const model = await loadModelPackage('models/sentiment'); console.log(model.id);
 */
export async function loadModelPackage(dir: string): Promise<ModelPackage> {
  const manifestPath = await insidePackage(dir, MANIFEST_FILE, 'manifest');
  const manifest = parseJson(await readFile(manifestPath), ManifestSchema, manifestPath);
  const { network } = manifest;
  const config: RnnConfig = {
    cell: network.cell,
    inputSize: network.embed,
    hiddenSize: network.hiddenSize,
    numLayers: network.numLayers,
    bias: network.bias,
  };
  const vocabPath = await insidePackage(dir, manifest.tokenizer.vocab, 'tokenizer.vocab');
  const vocabBytes = await readFile(vocabPath);
  const vocab = parseJson(vocabBytes, VocabSchema, vocabPath);

  const weightsPath = await insidePackage(dir, manifest.weights.path, 'weights.path');
  let tensors: TensorMap;
  let weightFiles: Uint8Array[];
  if (manifest.weights.format === 'safetensors') {
    const bytes = await readFile(weightsPath);
    tensors = parseSafetensors(bytes, weightsPath);
    weightFiles = [bytes];
  } else {
    const converted = await readLayersModel(weightsPath, (shard) =>
      insidePackage(dir, join(dirname(manifest.weights.path), shard), 'weight shard'),
    );
    const same =
      converted.config.cell === config.cell &&
      converted.config.inputSize === config.inputSize &&
      converted.config.hiddenSize === config.hiddenSize &&
      converted.config.numLayers === config.numLayers &&
      converted.config.bias === config.bias &&
      converted.bidirectional === network.bidirectional;
    if (!same) {
      throw new ModelFormatError(
        `${weightsPath}: the LayersModel is ${JSON.stringify({ ...converted.config, bidirectional: converted.bidirectional })}, ` +
          `but ${MANIFEST_FILE} network says ${JSON.stringify(network)}`,
      );
    }
    tensors = converted.tensors;
    weightFiles = converted.files;
  }

  const directions = network.bidirectional ? 2 : 1;
  const names = { prefix: 'rnn.', embedding: 'embedding.weight', directions } as const;
  const weights = rnnWeightsFromStateDict(tensors, config, names);
  // Both directions read the same embedding.
  const backwardWeights = network.bidirectional
    ? rnnWeightsFromStateDict(tensors, config, { ...names, suffix: '_reverse' })
    : undefined;
  const embeddingRows = weights.embedding?.shape[0];
  if (embeddingRows !== vocab.length) {
    throw new ModelFormatError(
      `tensor "embedding.weight" has ${embeddingRows} rows but ${manifest.tokenizer.vocab} holds ${vocab.length} tokens`,
    );
  }
  const headWeight = tensors.get('head.weight');
  if (!headWeight) throw new ModelFormatError(`tensor "head.weight" is missing in ${weightsPath}`);
  const head = new Head(manifest.head, headWeight, tensors.get('head.bias'));
  const width = config.hiddenSize * (network.bidirectional ? 2 : 1);
  if (head.inputSize !== width) {
    throw new ModelFormatError(
      `tensor "head.weight" has shape [${headWeight.shape}], expected [${headWeight.shape[0]}, ${width}]`,
    );
  }
  const tokenizer = new Tokenizer(vocab, manifest.tokenizer);
  const fingerprint = modelFingerprint({
    network: manifest.network,
    head: manifest.head,
    // Tokenizer rules other than the original ones change what the weights see: part of the identity.
    tokenizer: manifest.tokenizer.split === 'words' ? undefined : { split: manifest.tokenizer.split },
    weights: weightFiles,
    vocab: vocabBytes,
  });
  return {
    dir,
    name: manifest.name,
    fingerprint,
    id: `${manifest.name}@${fingerprint}`,
    manifest,
    config,
    bidirectional: network.bidirectional,
    weights,
    backwardWeights,
    tokenizer,
    head,
  };
}

/**
 * The incremental engine of a package, for streaming. A bidirectional model needs the whole text and is
 * refused with a {@link ConfigError}.
 * @example const engine = createStreamingEngine(await loadModelPackage('models/sentiment'));
 */
export function createStreamingEngine(model: ModelPackage, options: StepEngineOptions = {}): StepEngine {
  if (model.bidirectional) {
    throw new ConfigError(
      `model ${model.id} is bidirectional: it needs whole texts and cannot run incrementally; ` +
        'use replay/score on complete texts, or a unidirectional model for streaming',
    );
  }
  return createStepEngine(model.weights, model.config, options);
}

/** Encodes complete texts (both directions for bidirectional models). */
export interface WholeEncoder {
  /** Embedding width: H, or 2H for a bidirectional model. */
  readonly width: number;
  /** Last hidden state of each whole token sequence (bidirectional: forward and backward concatenated). */
  encodeTokens(rows: Int32Array[]): Promise<Float32Array[]>;
  /** Tokenizes (limits apply: {@link Tokenizer.encode}) and encodes whole texts. */
  encodeWhole(texts: string[]): Promise<Float32Array[]>;
  dispose(): void;
}

/** Splits a stacked network into one single-layer network per layer (deeper layers take vectors). */
function singleLayers(
  weights: RnnWeights,
  config: RnnConfig,
  width: number,
): { weights: RnnWeights; config: RnnConfig }[] {
  return weights.layers.map((layer, k) => ({
    weights: k === 0 ? { layers: [layer], embedding: weights.embedding } : { layers: [layer] },
    config: { ...config, numLayers: 1, inputSize: k === 0 ? config.inputSize : width },
  }));
}

/**
 * An encoder of whole texts, for replay and score. For a bidirectional network each layer runs forward
 * and over the reversed sequence, their outputs concatenated per step as the next layer's input; the
 * embedding is the last layer's forward and backward final states, concatenated (PyTorch's
 * `cat(h_n[-2], h_n[-1])`, Keras' `Bidirectional(merge_mode='concat')`).
 * @example const encoder = createWholeEncoder(model); const [embedding] = await encoder.encodeWhole(['great!']);
 */
export function createWholeEncoder(model: ModelPackage, options: StepEngineOptions = {}): WholeEncoder {
  const H = model.config.hiddenSize;
  const encodeWhole = (self: WholeEncoder) => (texts: string[]) =>
    self.encodeTokens(texts.map((text) => model.tokenizer.encode(text)));
  if (!model.bidirectional || !model.backwardWeights) {
    const engine = createStepEngine(model.weights, model.config, options);
    const encoder: WholeEncoder = {
      width: H,
      async encodeTokens(rows) {
        return (await engine.step(rows.map((tokens) => ({ tokens })))).map((r) => r.last);
      },
      encodeWhole: (texts) => encodeWhole(encoder)(texts),
      dispose: () => engine.dispose(),
    };
    return encoder;
  }
  const forward = singleLayers(model.weights, model.config, 2 * H).map((l) =>
    createStepEngine(l.weights, l.config, options),
  );
  const backward = singleLayers(model.backwardWeights, model.config, 2 * H).map((l) =>
    createStepEngine(l.weights, l.config, options),
  );
  const L = model.config.numLayers;
  /** Reverses the step order of `[steps * width]` rows. */
  const reverseSteps = <A extends Float32Array | Int32Array>(data: A, width: number): A => {
    const out = data.slice() as A;
    const steps = data.length / width;
    for (let t = 0; t < steps; t++)
      out.set(data.subarray(t * width, (t + 1) * width), (steps - 1 - t) * width);
    return out;
  };
  const encoder: WholeEncoder = {
    width: 2 * H,
    async encodeTokens(rows) {
      let inputs: { tokens?: Int32Array; inputs?: Float32Array; steps: number }[] = rows.map((tokens) => ({
        tokens,
        steps: tokens.length,
      }));
      const embeddings: Float32Array[] = rows.map(() => new Float32Array(2 * H));
      for (let l = 0; l < L; l++) {
        const wantOutputs = l < L - 1;
        const reversed = inputs.map((row) =>
          row.tokens
            ? { tokens: reverseSteps(row.tokens, 1) }
            : { inputs: reverseSteps(row.inputs as Float32Array, 2 * H) },
        );
        const [fwd, bwd] = await Promise.all([
          forward[l].step(
            inputs.map(({ tokens, inputs: x }) => (tokens ? { tokens } : { inputs: x })),
            { returnOutputs: wantOutputs },
          ),
          backward[l].step(reversed, { returnOutputs: wantOutputs }),
        ]);
        if (!wantOutputs) {
          fwd.forEach((r, i) => {
            embeddings[i].set(r.last, 0);
            embeddings[i].set(bwd[i].last, H);
          });
          break;
        }
        inputs = inputs.map((row, i) => {
          const f = fwd[i].outputs as Float32Array;
          const b = reverseSteps(bwd[i].outputs as Float32Array, H);
          const next = new Float32Array(row.steps * 2 * H);
          for (let t = 0; t < row.steps; t++) {
            next.set(f.subarray(t * H, (t + 1) * H), t * 2 * H);
            next.set(b.subarray(t * H, (t + 1) * H), t * 2 * H + H);
          }
          return { inputs: next, steps: row.steps };
        });
      }
      return embeddings;
    },
    encodeWhole: (texts) => encodeWhole(encoder)(texts),
    dispose: () => {
      for (const engine of [...forward, ...backward]) engine.dispose();
    },
  };
  return encoder;
}

/** What {@link writeModelPackage} writes. */
export interface ModelPackageContents {
  name: string;
  config: RnnConfig;
  bidirectional?: boolean;
  /**
   * State dict with the names of docs/MODEL_PACKAGE.md: `embedding.weight`, `rnn.weight_ih_l{k}`…
   * (`_reverse` too when bidirectional), `head.weight`, `head.bias`.
   */
  tensors: TensorMap;
  vocab: string[];
  head: HeadSpec;
  tokenizer?: { lowercase?: boolean; maxTokens?: number; split?: 'words' | 'social' };
  /** Markdown of MODEL_CARD.md (data, licences, hyper-parameters, metrics). */
  card?: string;
}

/**
 * Writes a safetensors model package into `dir` (created if needed), after checking that it loads;
 * returns the loaded package.
 * @example const model = await writeModelPackage('models/sentiment', { name: 'sentiment-gru', config, tensors, vocab, head });
 */
export async function writeModelPackage(dir: string, contents: ModelPackageContents): Promise<ModelPackage> {
  const { config } = contents;
  // Fail before writing anything when the tensors do not match the config.
  const directions = contents.bidirectional ? 2 : 1;
  const names = { prefix: 'rnn.', embedding: 'embedding.weight', directions } as const;
  rnnWeightsFromStateDict(contents.tensors, config, names);
  if (contents.bidirectional)
    rnnWeightsFromStateDict(contents.tensors, config, { ...names, suffix: '_reverse' });
  const manifest: Manifest = {
    format: 'rnnstream-model',
    version: 1,
    name: contents.name,
    network: {
      cell: config.cell,
      embed: config.inputSize,
      hiddenSize: config.hiddenSize,
      numLayers: config.numLayers,
      bias: config.bias,
      bidirectional: contents.bidirectional ?? false,
    },
    weights: { format: 'safetensors', path: 'weights.safetensors' },
    tokenizer: {
      vocab: 'vocab.json',
      lowercase: contents.tokenizer?.lowercase ?? true,
      maxTokens: contents.tokenizer?.maxTokens ?? 512,
      padId: 0,
      oovId: 1,
      split: contents.tokenizer?.split ?? 'words',
    },
    head: { kind: contents.head.kind, labels: [...contents.head.labels] },
    card: 'MODEL_CARD.md',
  };
  ManifestSchema.parse(manifest);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'weights.safetensors'), serializeSafetensors(contents.tensors));
  await writeFile(join(dir, 'vocab.json'), `${JSON.stringify(contents.vocab)}\n`);
  await writeFile(join(dir, 'MODEL_CARD.md'), contents.card ?? `# ${contents.name}\n`);
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return loadModelPackage(dir);
}
