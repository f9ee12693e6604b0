/**
 * `rnnstream train`: trains Embedding → stacked RNN/LSTM/GRU → Dense on labelled texts with TF.js, and
 * writes a complete model package (safetensors in PyTorch layout, vocabulary, head, model card) that the
 * serving engine loads as is. Deterministic given the seed: weights are initialised, examples shuffled
 * and augmented, and dropout masks drawn from one seeded generator on the host.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../core/errors.js';
import { selectBackend } from '../backend.js';
import { readWordVectors } from '../data/glove.js';
import { inferHead, inferHeadOfFiles, labelIndex } from '../data/labels.js';
import { type LabelledText, type ReadOptions, readLabelledFiles } from '../data/readers.js';
import { type FoldChoice, type SplitName, splitByFold, splitByText } from '../data/split.js';
import { computeMetrics, type Metrics } from '../eval/metrics.js';
import { scoreTokens } from '../eval/score.js';
import { loadModelPackage, type ModelPackage, writeModelPackage } from '../modelPackage.js';
import { buildVocabulary, type SplitRules, Tokenizer } from '../tokenizer.js';
import type { CellKind, HeadSpec } from '../types.js';
import { renderTrainCard } from './card.js';
import {
  type AugmentOptions,
  DEFAULT_AUGMENT_OPTIONS,
  type Example,
  epochExamples,
  type LabelledBatch,
  makeBatches,
} from './examples.js';
import { meanOverMembers } from './members.js';
import { TrainableNetwork } from './network.js';
import type { PretrainedSpec } from './pretrainedInput.js';
import { baseTable, lexiconValence, PRIOR_COLUMNS, pretrainedVocabulary } from './priors.js';
import { createProgress, type EpochFigures, type ProgressMode, type ProgressReporter } from './progress.js';
import { SeededRandom } from './random.js';
import { WeightAverage } from './weightAverage.js';

/** Options of {@link train} (the `rnnstream train` flags). */
export interface TrainOptions extends ReadOptions, AugmentOptions {
  /** Labelled CSV/TSV/JSON-lines files. */
  data: string[];
  /** Output package folder. */
  out: string;
  /** @default 'gru' */
  cell?: CellKind;
  /** Stacked recurrent layers. @default 1 */
  layers?: number;
  /** Hidden size H. @default 128 */
  hidden?: number;
  /**
   * An ensemble of this many cells of H / members units each, trained side by side on their own losses and
   * folded into one cell of H units (model/train/members.ts). @default 1
   */
  members?: number;
  /** With members: each reads its own `embed / members` input columns (fully separate members). @default false */
  separateInputs?: boolean;
  /** Embedding size E. @default 64 */
  embed?: number;
  /** Most epochs (early stopping usually ends sooner). @default 12 */
  epochs?: number;
  /** Seed of every random choice. @default 42 */
  seed?: number;
  /** Explicit label set (softmax head in this order); other labels are errors. @default inferred */
  labels?: string[];
  /** Package name. @default `sentiment-${cell}` for binary labels, `classifier-${cell}` otherwise */
  name?: string;
  /** @default 64 */
  batchSize?: number;
  /** Adam learning rate. @default 0.003 */
  learningRate?: number;
  /** Gradients are rescaled so their global L2 norm is at most this. @default 5 */
  clipNorm?: number;
  /** Epochs without a better validation accuracy before stopping. @default 3 */
  patience?: number;
  /** Fraction of embedded values dropped in training. @default 0.2 */
  embedDropout?: number;
  /** Fraction of the final hidden state dropped before the head in training. @default 0.3 */
  outputDropout?: number;
  /**
   * Decay of a moving average of the weights (model/train/weightAverage.ts) that validation, early
   * stopping and the saved package use instead of the last step's weights. 0 turns it off. @default 0
   */
  weightAverage?: number;
  /** Least count of a training token to enter the vocabulary. @default 2 */
  minCount?: number;
  /** Largest vocabulary. @default 20000 */
  maxVocab?: number;
  /** TF.js backend for training (see the report in MODEL_CARD.md). @default 'wasm' */
  backend?: 'wasm' | 'cpu';
  /** @default 'auto' */
  progress?: ProgressMode;
  /** Extra Markdown appended to the generated card. */
  cardExtra?: string;
  /** Tokenizer rules (written to the package). @default 'words' */
  split?: SplitRules;
  /**
   * Data cache holding GloVe vectors (`make data`): the input starts from them, over the training
   * vocabulary plus GloVe's most frequent words up to `maxVocab` (model/train/pretrainedInput.ts).
   * @default undefined (a plain embedding learnt from scratch)
   */
  glove?: string;
  /** With `glove`: add the VADER and AFINN valence of each token as fixed input columns. @default true */
  priors?: boolean;
  /** With `glove`: how fast the vectors may move, relative to the other weights (0 freezes them). @default 0.1 */
  deltaScale?: number;
  /** Times each data file's training texts are repeated per epoch (one per `data` file). @default all 1 */
  dataWeights?: number[];
  /** Hold out one cross-validation fold as the test set instead of the 80/10/10 split. @default undefined */
  fold?: FoldChoice;
  /**
   * Model packages to distil from: each epoch's examples (augmented as trained) are scored by every teacher
   * through the serving engine, and the mean of their class probabilities is a soft target beside the label
   * (Hinton et al. 2015). A teacher must have this run's vocabulary and labels, i.e. be trained on the same
   * data with the same vocabulary options (any seed, width or cell). @default none
   */
  teachers?: string[];
  /** With teachers: the label's share of the loss, the teachers' mean taking the rest. @default 0.5 */
  labelWeight?: number;
  /**
   * Called after each epoch with the test figures (through the serving engine) of the weights kept so
   * far: what a run with `epochs` set to that epoch reports, since training is deterministic for a seed.
   * The package in `out` is written and the test split scored after each improving epoch.
   */
  onEpoch?: (report: EpochTest) => Promise<void> | void;
}

/** What {@link TrainOptions.onEpoch} is told after an epoch. */
export interface EpochTest {
  epoch: number;
  /** The epoch whose weights are kept so far. */
  bestEpoch: number;
  /** Training seconds until the end of this epoch. */
  seconds: number;
  test: Metrics;
  /** The test figures of each data file's texts (same order as `options.data`). */
  testByFile: Metrics[];
}

/** Defaults of {@link TrainOptions} (besides data and out). */
export const DEFAULT_TRAIN_OPTIONS = {
  cell: 'gru' as CellKind,
  layers: 1,
  hidden: 128,
  members: 1,
  separateInputs: false,
  embed: 64,
  epochs: 12,
  seed: 42,
  batchSize: 64,
  learningRate: 0.003,
  clipNorm: 5,
  patience: 3,
  embedDropout: 0.2,
  outputDropout: 0.3,
  weightAverage: 0,
  minCount: 2,
  maxVocab: 20000,
  backend: 'wasm' as 'wasm' | 'cpu',
  progress: 'auto' as ProgressMode,
  split: 'words' as SplitRules,
  priors: true,
  deltaScale: 0.1,
  labelWeight: 0.5,
  ...DEFAULT_AUGMENT_OPTIONS,
};

/** The resolved options of a run (what the card reports). */
export type ResolvedTrainOptions = typeof DEFAULT_TRAIN_OPTIONS & TrainOptions;

/** What {@link train} returns. */
export interface TrainResult {
  /** The saved package, loaded back. */
  model: ModelPackage;
  options: ResolvedTrainOptions;
  head: HeadSpec;
  vocabSize: number;
  /** Texts per split. */
  sizes: Record<SplitName, number>;
  history: EpochFigures[];
  /** Epoch whose weights were kept. */
  bestEpoch: number;
  /** Metrics of the saved package through the serving engine. */
  validation: Metrics;
  test: Metrics;
  /** The test figures of each data file's texts (same order as `options.data`). */
  testByFile: Metrics[];
  /** With `glove`: rows whose vectors training could correct (the training texts' tokens). */
  trainedRows?: number;
  /** Largest |p_train − p_serve| over validation and test texts (training forward vs engine). */
  servingDifference: number;
  trainSeconds: number;
  backend: string;
}

/** Checks option values, naming the option to change. */
function validate(o: ResolvedTrainOptions): void {
  const positiveInt = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1)
      throw new ConfigError(`--${name} must be a positive integer, got ${value}`);
  };
  positiveInt('layers', o.layers);
  positiveInt('hidden', o.hidden);
  positiveInt('embed', o.embed);
  positiveInt('members', o.members);
  if (o.hidden % o.members !== 0)
    throw new ConfigError(`--members must divide --hidden (${o.hidden}), got ${o.members}`);
  if (o.separateInputs && o.embed % o.members !== 0)
    throw new ConfigError(`separateInputs: --members must divide --embed (${o.embed}), got ${o.members}`);
  positiveInt('epochs', o.epochs);
  positiveInt('batch-size', o.batchSize);
  if (!['rnn', 'lstm', 'gru'].includes(o.cell))
    throw new ConfigError(`--cell must be rnn, lstm or gru, got ${o.cell}`);
  if (!Number.isInteger(o.seed)) throw new ConfigError(`--seed must be an integer, got ${o.seed}`);
  if (!(o.clipNorm > 0)) throw new ConfigError(`clipNorm must be positive, got ${o.clipNorm}`);
  if (!o.out) throw new ConfigError('--out DIR is required');
  if (o.dataWeights && o.dataWeights.length !== o.data.length)
    throw new ConfigError(`dataWeights has ${o.dataWeights.length} entries for ${o.data.length} data files`);
  if (!(o.deltaScale >= 0)) throw new ConfigError(`deltaScale must be 0 or more, got ${o.deltaScale}`);
  if (!(o.weightAverage >= 0 && o.weightAverage < 1))
    throw new ConfigError(`weightAverage must be 0 (off) or a decay below 1, got ${o.weightAverage}`);
  if (!(o.labelWeight >= 0 && o.labelWeight <= 1))
    throw new ConfigError(`--label-weight must be between 0 and 1, got ${o.labelWeight}`);
}

/** Logits → class probabilities. */
function probabilities(logits: tf.Tensor2D, sigmoid: boolean): number[][] {
  const data = tf.tidy(() => (sigmoid ? tf.sigmoid(logits) : tf.softmax(logits))).arraySync() as number[][];
  return sigmoid ? data.map(([p]) => [1 - p, p]) : data;
}

/** The training network's probabilities for examples, in their order. */
function predict(net: TrainableNetwork, examples: readonly Example[], batchSize: number): number[][] {
  const sigmoid = net.shape.outputs === 1;
  const indexed = examples.map((e, i) => ({ ...e, label: i }));
  const out: number[][] = new Array(examples.length);
  for (const { batch, labels } of makeBatches(indexed, batchSize * 4)) {
    const probs = tf.tidy(() => probabilities(net.logits(batch), sigmoid));
    labels.forEach((index, k) => {
      out[index] = probs[k];
    });
  }
  return out;
}

/** Mean cross-entropy of logits against (hard or soft) targets: sigmoid `[rows, 1]` or softmax `[rows, C]`. */
const crossEntropy = (targets: tf.Tensor, logits: tf.Tensor2D, sigmoid: boolean) =>
  (sigmoid
    ? tf.losses.sigmoidCrossEntropy(targets, logits)
    : tf.losses.softmaxCrossEntropy(targets, logits)) as tf.Scalar;

/** One optimisation step; returns the batch's loss and accuracy. */
function trainStep(
  net: TrainableNetwork,
  optimizer: tf.Optimizer,
  { batch, labels, soft }: LabelledBatch,
  o: ResolvedTrainOptions,
  random: SeededRandom,
): { loss: number; correct: number } {
  const sigmoid = net.shape.outputs === 1;
  return tf.tidy(() => {
    let predicted: ArrayLike<number> = [];
    const { value, grads } = tf.variableGrads(() => {
      // Each member's loss (the mean over members), and the accuracy of their mean, the served logit.
      const perMember = net.memberLogits(batch, { embed: o.embedDropout, output: o.outputDropout, random });
      const logits = meanOverMembers(perMember, o.members);
      const targets = labels.flatMap((label) => new Array<number>(o.members).fill(label));
      // Read inside: variableGrads disposes every intermediate tensor when it returns.
      predicted = sigmoid
        ? Array.from(logits.dataSync(), (l) => (l > 0 ? 1 : 0))
        : logits.argMax(1).dataSync();
      const loss = crossEntropy(
        sigmoid
          ? tf.tensor2d(targets, [targets.length, 1])
          : tf.oneHot(tf.tensor1d(targets, 'int32'), net.shape.outputs),
        perMember,
        sigmoid,
      );
      if (!soft) return loss;
      // Distillation: the teachers' mean probabilities as a second, soft target (each member's).
      const softTargets = soft.flatMap((p) => new Array<number[]>(o.members).fill(sigmoid ? [p[1]] : p));
      const softLoss = crossEntropy(tf.tensor2d(softTargets), perMember, sigmoid);
      const a = o.labelWeight;
      return tf.add(tf.mul(loss, a), tf.mul(softLoss, 1 - a)) as tf.Scalar;
    }, net.variables());
    // Clip by global norm (exploding gradients of recurrent networks): g ← g · min(1, clip / ‖g‖₂).
    const names = Object.keys(grads);
    const norm = Math.sqrt(
      names.reduce((sum, n) => sum + (tf.sum(tf.square(grads[n])).dataSync()[0] as number), 0),
    );
    const scale = norm > o.clipNorm ? o.clipNorm / norm : 1;
    optimizer.applyGradients(
      scale === 1 ? grads : Object.fromEntries(names.map((n) => [n, tf.mul(grads[n], scale)])),
    );
    const correct = labels.filter((label, i) => predicted[i] === label).length;
    return { loss: value.dataSync()[0], correct };
  });
}

/** Reads, labels and splits the data; errors name the file and line. */
export async function splitTrainingData(o: ResolvedTrainOptions) {
  const rows = await readLabelledFiles(o.data, o);
  const head: HeadSpec = o.labels
    ? o.labels.length === 2 && inferHead(o.labels).kind === 'sigmoid'
      ? inferHead(o.labels)
      : { kind: 'softmax', labels: [...o.labels] }
    : inferHeadOfFiles(o.data.map((file) => rows.filter((r) => r.file === file).map((r) => r.label)));
  const labelled = rows.map((r) => ({ ...r, cls: labelIndex(r.label, head, r) }));
  const split = o.fold ? splitByFold(labelled, o.fold) : splitByText(labelled);
  if (split.train.length === 0) throw new ConfigError(`no training texts in ${o.data.join(', ')}`);
  const repeats = (r: LabelledText) => o.dataWeights?.[o.data.indexOf(r.file)] ?? 1;
  const weightedTrain = split.train.flatMap((r) => Array.from({ length: repeats(r) }, () => r));
  return { head, split, weightedTrain };
}

/** The vocabulary and, with `glove`, the pretrained input's fixed table. */
export async function vocabularyOf(o: ResolvedTrainOptions, texts: string[]) {
  if (!o.glove) {
    const vocab = buildVocabulary(texts, { minCount: o.minCount, maxSize: o.maxVocab, split: o.split });
    return { vocab, pretrained: undefined };
  }
  const glove = await readWordVectors(o.glove);
  const valence = o.priors ? lexiconValence(o.split) : new Map();
  const { vocab, trainedRows } = pretrainedVocabulary(texts, glove, valence, {
    split: o.split,
    minCount: o.minCount,
    maxSize: o.maxVocab,
  });
  const pretrained: PretrainedSpec = {
    base: baseTable(vocab, glove, o.priors ? valence : undefined),
    width: glove.dims + (o.priors ? PRIOR_COLUMNS.length : 0),
    vectorWidth: glove.dims,
    trainedRows,
    deltaScale: o.deltaScale,
  };
  return { vocab, pretrained };
}

type Split = Record<SplitName, (LabelledText & { cls: number })[]>;

/** The teacher packages, checked to share this run's vocabulary, tokenizer rules and labels. */
async function loadTeachers(
  o: ResolvedTrainOptions,
  vocab: string[],
  head: HeadSpec,
): Promise<ModelPackage[]> {
  const teachers: ModelPackage[] = [];
  for (const dir of o.teachers ?? []) {
    const teacher = await loadModelPackage(dir);
    const sameVocab =
      teacher.tokenizer.vocab.length === vocab.length &&
      teacher.tokenizer.vocab.every((t, i) => t === vocab[i]);
    const sameLabels = JSON.stringify(teacher.head.spec.labels) === JSON.stringify(head.labels);
    if (!sameVocab || teacher.manifest.tokenizer.split !== o.split || !sameLabels)
      throw new ConfigError(
        `--teacher ${dir}: its ${sameLabels ? 'vocabulary or tokenizer' : 'labels'} differ from this run's; ` +
          'a teacher must be trained on the same data with the same vocabulary options',
      );
    teachers.push(teacher);
  }
  return teachers;
}

/** Sets each example's soft target: the mean of the teachers' class probabilities for its ids. */
async function attachSoftTargets(examples: Example[], teachers: readonly ModelPackage[]): Promise<void> {
  if (teachers.length === 0) return;
  const scored = await Promise.all(
    teachers.map((t) =>
      scoreTokens(
        t,
        examples.map((e) => e.ids),
      ),
    ),
  );
  examples.forEach((e, i) => {
    const sum = scored[0].probs[i].map((_, c) => scored.reduce((n, s) => n + s.probs[i][c], 0));
    e.soft = sum.map((v) => v / teachers.length);
  });
}

/** The package of the network's current weights, written to `o.out`, loaded back and scoring val and test. */
async function saveAndScore(
  o: ResolvedTrainOptions,
  net: TrainableNetwork,
  vocab: string[],
  head: HeadSpec,
  split: Split,
) {
  await writeModelPackage(o.out, {
    name: packageName(o, head),
    config: { cell: o.cell, inputSize: o.embed, hiddenSize: o.hidden, numLayers: o.layers, bias: true },
    tensors: net.stateDict(),
    vocab,
    head,
    tokenizer: { lowercase: true, split: o.split },
  });
  const model = await loadModelPackage(o.out);
  // The saved package, through the serving engine, against the training forward.
  const served = (rows: (LabelledText & { cls: number })[]) =>
    scoreTokens(
      model,
      rows.map((r) => model.tokenizer.encodeTokens(model.tokenizer.tokenize(r.text))),
    );
  return { model, valScored: await served(split.val), testScored: await served(split.test) };
}

const packageName = (o: ResolvedTrainOptions, head: HeadSpec) =>
  o.name ?? `${head.kind === 'sigmoid' ? 'sentiment' : 'classifier'}-${o.cell}`;

const metricsOf = (probs: number[][], rows: { cls: number }[]) =>
  computeMetrics(
    probs,
    rows.map((r) => r.cls),
  );

/** The test figures of each data file's test texts, in the order of `data`. */
const testByFile = (data: string[], test: Split['test'], probs: number[][]) =>
  data.map((file) => {
    const rows = test.flatMap((r, i) => (r.file === file ? [i] : []));
    return metricsOf(
      rows.map((i) => probs[i]),
      rows.map((i) => test[i]),
    );
  });

/**
 * Trains a model and writes its package to `options.out`.
 * @example const result = await train({ data: ['data/cache/uci.jsonl'], cell: 'gru', hidden: 128, embed: 64, out: 'models/mine' });
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const o = { ...DEFAULT_TRAIN_OPTIONS, ...options } as ResolvedTrainOptions;
  validate(o);
  const { head, split, weightedTrain } = await splitTrainingData(o);
  const { backend } = await selectBackend(o.backend);
  const random = new SeededRandom(o.seed);
  const { vocab, pretrained } = await vocabularyOf(
    o,
    split.train.map((r) => r.text),
  );
  const tokenizer = new Tokenizer(vocab, { split: o.split });
  const encode = (rows: (LabelledText & { cls: number })[]): Example[] =>
    rows.map((r) => ({ ids: tokenizer.encodeTokens(tokenizer.tokenize(r.text)), label: r.cls }));
  const trainSet = encode(weightedTrain).filter((e) => e.ids.length > 0);
  const valSet = encode(split.val).filter((e) => e.ids.length > 0);
  const outputs = head.kind === 'sigmoid' ? 1 : head.labels.length;
  const net = new TrainableNetwork(
    {
      cell: o.cell,
      vocabSize: vocab.length,
      embed: o.embed,
      hiddenSize: o.hidden,
      numLayers: o.layers,
      outputs,
      pretrained,
      members: o.members,
      separateInputs: o.separateInputs,
    },
    random,
  );
  const teachers = await loadTeachers(o, vocab, head);
  const optimizer = tf.train.adam(o.learningRate);
  const average = o.weightAverage > 0 ? new WeightAverage(net.variables(), o.weightAverage) : undefined;
  const progress: ProgressReporter = createProgress(o.progress);
  const history: EpochFigures[] = [];
  const started = performance.now();
  let best = { accuracy: -1, epoch: 0, weights: net.snapshot() };
  let bestTest: number[][] = [];
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const t0 = performance.now();
      const examples = epochExamples(trainSet, o, random, tokenizer.options.oovId);
      await attachSoftTargets(examples, teachers);
      const batches = makeBatches(examples, o.batchSize, random);
      progress.startEpoch(epoch, o.epochs, batches.length);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      batches.forEach((b, i) => {
        const step = trainStep(net, optimizer, b, o, random);
        average?.update();
        lossSum += step.loss * b.labels.length;
        correct += step.correct;
        seen += b.labels.length;
        progress.batch(i + 1, lossSum / seen, correct / seen);
      });
      // With a weight average, the epoch is judged (and kept) by the averaged weights; training goes on
      // from the last step's.
      const stepWeights = average ? net.snapshot() : undefined;
      if (average) net.restore(average.values());
      const valAccuracy =
        valSet.length > 0
          ? computeMetrics(
              predict(net, valSet, o.batchSize),
              valSet.map((e) => e.label),
            ).accuracy
          : undefined;
      const figures: EpochFigures = {
        epoch,
        loss: lossSum / seen,
        accuracy: correct / seen,
        valAccuracy,
        seconds: (performance.now() - t0) / 1000,
      };
      history.push(figures);
      // Without a validation split (tiny data) the last epoch is kept.
      const score = valAccuracy ?? epoch;
      const improved = score > best.accuracy;
      if (improved) best = { accuracy: score, epoch, weights: net.snapshot() };
      progress.endEpoch(figures, improved && valAccuracy !== undefined ? '(best)' : '');
      if (o.onEpoch) {
        const seconds = (performance.now() - started) / 1000;
        if (improved) bestTest = (await saveAndScore(o, net, vocab, head, split)).testScored.probs;
        await o.onEpoch({
          epoch,
          bestEpoch: best.epoch,
          seconds,
          test: metricsOf(bestTest, split.test),
          testByFile: testByFile(o.data, split.test, bestTest),
        });
      }
      if (stepWeights) net.restore(stepWeights);
      if (epoch - best.epoch >= o.patience) {
        progress.line(
          `early stop: no better validation accuracy for ${o.patience} epochs; keeping epoch ${best.epoch}`,
        );
        break;
      }
    }
    net.restore(best.weights);
    const trainSeconds = (performance.now() - started) / 1000;
    const name = packageName(o, head);
    const { model, valScored, testScored } = await saveAndScore(o, net, vocab, head, split);
    const checkRows = [...encode(split.val), ...encode(split.test)];
    const trainerProbs = predict(
      net,
      checkRows.filter((e) => e.ids.length > 0),
      o.batchSize,
    );
    const servedProbs = [...valScored.probs, ...testScored.probs].filter(
      (_, i) => checkRows[i].ids.length > 0,
    );
    let servingDifference = 0;
    for (const [i, p] of trainerProbs.entries()) {
      for (const [c, v] of p.entries())
        servingDifference = Math.max(servingDifference, Math.abs(v - servedProbs[i][c]));
    }

    const result: TrainResult = {
      model,
      options: o,
      head,
      vocabSize: vocab.length,
      trainedRows: pretrained?.trainedRows,
      sizes: { train: split.train.length, val: split.val.length, test: split.test.length },
      history,
      bestEpoch: best.epoch,
      validation: metricsOf(valScored.probs, split.val),
      test: metricsOf(testScored.probs, split.test),
      testByFile: testByFile(o.data, split.test, testScored.probs),
      servingDifference,
      trainSeconds,
      backend,
    };
    await writeModelPackage(o.out, {
      name,
      config: model.config,
      tensors: net.stateDict(),
      vocab,
      head,
      tokenizer: { lowercase: true, split: o.split },
      card: renderTrainCard(result, o.cardExtra),
    });
    progress.line(
      `saved ${o.out} (${result.model.id}); validation accuracy ${result.validation.accuracy.toFixed(4)}, ` +
        `test accuracy ${result.test.accuracy.toFixed(4)}, serving difference ${servingDifference.toExponential(2)}`,
    );
    return { ...result, model: await loadModelPackage(o.out) };
  } finally {
    progress.stop();
    optimizer.dispose();
    average?.dispose();
    net.dispose();
  }
}
