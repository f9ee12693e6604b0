/**
 * `make model` (scripts/model.sh): trains the candidate recipes for the shipped default model with a
 * fixed seed from `make data`'s files, benchmarks each and the lexicon baselines through the serving
 * engine, ships the candidate with the best validation score (sentence validation split and the
 * live-feed development set; never a test set) as `models/sentiment`, and writes `metrics.json`, the
 * model card and its calibration plot. Other modes: `--cv K --cv-fold I [--cv-epochs E]` (train fold I
 * of a k-fold cross-validation of the shipped recipe, at most E epochs), `--cv K [--cv-epochs E]` (collect
 * the folds into the card, under a limit of E epochs that every fold reached), `--cost OLD_DIR` (serving
 * cost per token beside an older package), `--card-only`.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, runScript } from '../../core/errors.js';
import { packageRoot } from '../../core/paths.js';
import { selectBackend } from '../backend.js';
import {
  BENCHMARK_SETS,
  benchmarkLexicons,
  benchmarkModel,
  FEED_TRAIN_FILE,
  type LexiconBenchmark,
  type ModelBenchmark,
  readBenchmarkData,
  sentenceValidation,
} from '../eval/benchmark.js';
import { calibrationSvg } from '../eval/calibration.js';
import type { Interval, MetricsWithIntervals } from '../eval/intervals.js';
import type { Metrics } from '../eval/metrics.js';
import { measureServingCost, type ServingCost } from '../eval/servingCost.js';
import { pct } from './card.js';
import { type CrossValidation, collectFolds, readFolds, runFold } from './crossValidate.js';
import { CALIBRATION_FILE, PL_SENTENCES, renderShippedCard } from './shippedCard.js';
import { type TrainOptions, type TrainResult, train } from './train.js';

/** The recipe every candidate shares (data weights follow TRAIN_FILES). */
export const RECIPE: Omit<TrainOptions, 'data' | 'out'> = {
  layers: 1,
  seed: 42,
  epochs: 10,
  patience: 2,
  batchSize: 64,
  learningRate: 0.002,
  split: 'social',
  priors: true,
  deltaScale: 0.1,
  maxVocab: 50000,
  dataWeights: [2, 1],
  prefixShare: 0.3,
  concatShare: 0.25,
  concatMax: 6,
  maxTokens: 160,
};

/** A candidate recipe: train options, a name, and whether the feed-like messages join the training data. */
export type Candidate = Omit<TrainOptions, 'data' | 'out'> & { name: string; feeds?: boolean };

/** The feed-like training messages join the data, weighted like the UCI sentences. */
const FEEDS = { feeds: true, dataWeights: [2, 1, 2] };

/**
 * The candidates `make model` trains and chooses from (see {@link RECIPE_NOTES}): the cell (an LSTM 64/112
 * has the serving cost of the GRU 64/128: 3·128² ≈ 4·112² hidden-to-hidden multiply-adds), the width (a GRU
 * 160 stays within 1.3× the serving cost), the feed-like training messages, a weight average, the
 * weight of the P&L sentences, ensembles of members folded into one cell (model/train/members.ts), dropout,
 * the learning rate and the input width (a 96-wide table over fewer words stays under 16 MB).
 */
export const CANDIDATES: Candidate[] = [
  { ...RECIPE, name: 'sentiment-gru', cell: 'gru', embed: 64, hidden: 128 },
  { ...RECIPE, name: 'sentiment-lstm', cell: 'lstm', embed: 64, hidden: 112 },
  { ...RECIPE, name: 'sentiment-gru-160', cell: 'gru', embed: 64, hidden: 160 },
  { ...RECIPE, ...FEEDS, name: 'sentiment-gru-feeds', cell: 'gru', embed: 64, hidden: 128 },
  { ...RECIPE, ...FEEDS, name: 'sentiment-gru-160-feeds', cell: 'gru', embed: 64, hidden: 160 },
  {
    ...RECIPE,
    ...FEEDS,
    name: 'sentiment-gru-160-feeds-avg',
    cell: 'gru',
    embed: 64,
    hidden: 160,
    weightAverage: 0.995,
  },
  {
    ...RECIPE,
    ...FEEDS,
    name: 'sentiment-gru-feeds-avg',
    cell: 'gru',
    embed: 64,
    hidden: 128,
    weightAverage: 0.995,
  },
  {
    ...RECIPE,
    ...FEEDS,
    name: 'sentiment-gru-feeds-pl2',
    cell: 'gru',
    embed: 64,
    hidden: 128,
    dataWeights: [2, 2, 2],
  },
  { ...RECIPE, ...FEEDS, name: 'sentiment-gru-feeds-x2', cell: 'gru', embed: 64, hidden: 128, members: 2 },
  { ...RECIPE, ...FEEDS, name: 'sentiment-gru-feeds-x4', cell: 'gru', embed: 64, hidden: 128, members: 4 },
  {
    ...RECIPE,
    ...FEEDS,
    name: 'sentiment-gru-feeds-x2-separate',
    cell: 'gru',
    embed: 64,
    hidden: 128,
    members: 2,
    separateInputs: true,
  },
  {
    ...RECIPE,
    ...FEEDS,
    name: 'sentiment-gru-feeds-drop',
    cell: 'gru',
    embed: 64,
    hidden: 128,
    embedDropout: 0.3,
    outputDropout: 0.5,
  },
  {
    ...RECIPE,
    ...FEEDS,
    name: 'sentiment-gru-feeds-slow',
    cell: 'gru',
    embed: 64,
    hidden: 128,
    learningRate: 0.001,
    patience: 3,
  },
  {
    ...RECIPE,
    ...FEEDS,
    name: 'sentiment-gru-96-feeds',
    cell: 'gru',
    embed: 96,
    hidden: 128,
    maxVocab: 34000,
  },
  {
    ...RECIPE,
    ...FEEDS,
    name: 'sentiment-gru-160-feeds-x2',
    cell: 'gru',
    embed: 64,
    hidden: 160,
    members: 2,
  },
];

/** Notes on the choice, shown in the card. */
export const RECIPE_NOTES = [
  'Every candidate was trained once (seed 42) and judged by the mean of two figures: the accuracy on the sentence ' +
    'validation split (the same 660 UCI and P&L texts for each candidate, whatever else it trained on) and the ' +
    'live-feed dev accuracy. The LSTM 64/112 (the serving cost of the GRU 64/128) scored lowest on validation ' +
    '(80.3% against 82.4%). Widening the GRU to 160 raised validation accuracy to 83.0% but not the live-feed ' +
    'figure. The feed-like training messages raised the live-feed dev accuracy of the GRU 64/128 from 89.1% to ' +
    '95.3%, for 0.7 points of validation accuracy. Neither a moving average of the weights (decay 0.995) nor ' +
    'weighting the P&L sentences ×2 raised the selection score of the GRU 64/128 with feeds. With 660 validation ' +
    'texts (about ±1.5 points of standard error) and one seed per candidate, differences of a point or two are ' +
    'within noise: the choice is the best measured, not a proven best.',
  'Seven more candidates of the GRU 64/128 with feeds (selection score 88.5) scored between 86.7 and 88.3: ' +
    'ensembles of two or four members folded into the same cell (88.1, 87.6; the serving cost of one GRU 64/128), two ' +
    'members that read separate halves of the input table (88.0), a GRU 64/160 of two members (87.4), more dropout ' +
    '(embedding 0.3, output 0.5: 88.3), a slower learning rate (0.001, patience 3: 87.6) and a 96-wide input over ' +
    'a 34,000-word table (86.7). A seed study outside the choice (scripts/model.sh seed) trained the shipped recipe ' +
    'and the separate members under seeds 1 and 2 as well: over the three seeds their selection scores average 88.3 ' +
    'and 88.5 (seed to seed they move by up to 1.0), so the ensemble is level with one cell within noise. Cross-validated on the same 10 folds, the separate ' +
    "members score 76.4 ± 2.4% on the P&L sentences against the shipped recipe's 76.6 ± 3.4%.",
  'A learning curve outside the choice (scripts/model.sh curve; its section below) trained the shipped recipe on ' +
    '10% to 100% of the P&L training sentences (313 to 3233) beside all of its other data: on the 767 P&L sentences ' +
    'that no share trains on it scored between 74.8% and 76.4% at every share, level within noise (±1.5 points). ' +
    'More sentences of the same kind would not by themselves lift this recipe to the P&L goals; what the P&L ' +
    'figure lacks is in the model and its other data, not in the number of P&L sentences.',
  'A PyTorch replica of this trainer over the same data (model/study/README.md; its three seeds of the shipped ' +
    "recipe average 76.7% on the P&L test split, the trainer's 76.9%, and its 10-fold CV gives 76.7 ± 2.5%) swept " +
    '17 variants on a GPU, three seeds each: wider (160, 192) or two layers, an LSTM, mean- or max-pooled readouts, ' +
    'a bag-of-vectors term, the P&L sentences ×2, other learning rates, dropout, batch sizes and GloVe ' +
    'corrections, no augmentation. None raised the selection score beyond noise, pooled readouts lost on the full ' +
    'reviews (72–73%), and every variant scored between 74.4% and 78.2% on the P&L test split. The one at 78.2% ' +
    '(P&L ×2) fell to 78.3% on the full reviews and ranks ninth by the selection rule. Distilling the shipped ' +
    "recipe's three seeds into one network of its size (scripts/model.sh distil; three students) left the P&L " +
    'test figure at 76.9%, the mean of its teachers, and the selection score at 88.2 against their 88.3, for 2.1 ' +
    'points more on the full reviews; no student scored above the shipped model.',
];

/** The cross-validation's fold records in the package folder (not part of the package). */
const CV_FOLDS_FILE = 'cv-folds.json';

/** Training files, in the order of `RECIPE.dataWeights`. */
const TRAIN_FILES = ['uci.jsonl', PL_SENTENCES];

/**
 * The hand-written feed-like training messages (model/data/live-feed-train.README.md) as a path relative to
 * the repository (scripts/model.sh runs from there; a candidate's options record it, and a cached candidate
 * is reused when they are the same, wherever the repository is); after TRAIN_FILES in `dataWeights`.
 */
export const FEED_TRAIN = relative(packageRoot(), FEED_TRAIN_FILE);

/** A candidate's training files, in the order of its `dataWeights`. */
export const trainData = (c: Candidate, cache: string) => [
  ...TRAIN_FILES.map((f) => join(cache, f)),
  ...(c.feeds ? [FEED_TRAIN] : []),
];

/** One trained candidate in metrics.json. */
export interface CandidateSummary {
  name: string;
  options: TrainResult['options'];
  /** Sentence validation split, through the serving engine. */
  validation: Metrics;
  /** What the choice is made by: mean of the validation accuracy and the live-feed dev accuracy. */
  selectionScore: number;
  benchmark: ModelBenchmark;
  trainSeconds: number;
  bestEpoch: number;
  history: TrainResult['history'];
  vocabSize: number;
  trainedRows?: number;
  sizes: TrainResult['sizes'];
  backend: string;
  servingDifference: number;
}

/** One point of the learning curve in P&L training sentences (model/train/learningCurve.ts). */
export interface CurvePoint {
  /** Share of the P&L training sentences trained on, in %. */
  percent: number;
  plTrainSentences: number;
  bestEpoch: number;
  /** The P&L sentence test split, through the engine. */
  plTest: MetricsWithIntervals;
  /** The P&L validation and test sentences together (never trained on at any share). */
  plHeldOut: { accuracy: number; count: number; interval: Interval };
  uciTest: number;
  liveFeed: number;
  reviews: number;
  /** Whether the point's package is the shipped one (the same fingerprint), set when the points are collected. */
  shippedPackage?: boolean;
}

/** metrics.json of the shipped package. */
export interface ShippedMetrics {
  shipped: CandidateSummary;
  candidates: CandidateSummary[];
  lexicons: LexiconBenchmark[];
  /** The model shipped before, on the same sets (when `--previous DIR` was given). */
  previous?: ModelBenchmark;
  cv?: CrossValidation;
  /** The shipped recipe on parts of the P&L training sentences (`scripts/model.sh curve`), by share. */
  curve?: CurvePoint[];
  notes?: string[];
  /** Bytes of the package's manifest, vocabulary and weights. */
  packageBytes?: number;
  servingCost?: { backend: string; previous: ServingCost; shipped: ServingCost; ratio: number };
}

/** The metrics.json of the shipped package in `out`. */
export const readShippedMetrics = async (out: string) =>
  JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as ShippedMetrics;

/** The summary.json of a trained candidate's folder. */
const readSummary = async (dir: string) =>
  JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as CandidateSummary;

/** Trains a candidate into `dir`, or reuses the run there when its options are the same. */
async function candidate(
  c: Candidate,
  cache: string,
  dir: string,
  data: Awaited<ReturnType<typeof readBenchmarkData>>,
): Promise<CandidateSummary> {
  const summaryPath = join(dir, 'summary.json');
  const { feeds: _feeds, ...options } = c;
  const wanted = { ...options, data: trainData(c, cache), out: dir, glove: cache };
  if (existsSync(summaryPath)) {
    const summary = await readSummary(dir);
    const same = Object.entries(wanted).every(
      ([k, v]) => JSON.stringify(summary.options[k as keyof TrainOptions]) === JSON.stringify(v),
    );
    if (same) {
      console.log(`model: reusing ${dir} (same options)`);
      // A benchmark set added since the candidate was trained: score the package on the sets as they are now.
      if (BENCHMARK_SETS.some((set) => !summary.benchmark.sets[set])) {
        summary.benchmark = await benchmarkModel(dir, data);
        await writeFile(summaryPath, `${JSON.stringify(summary, null, 1)}\n`);
      }
      return summary;
    }
  }
  await mkdir(dir, { recursive: true });
  const result = await train(wanted);
  const benchmark = await benchmarkModel(dir, data);
  // The sentence validation split, not the run's own validation split: a candidate that trains on more
  // files validates on more texts, and the choice needs the same rows for every candidate.
  const validation = await sentenceValidation(dir, data);
  const summary: CandidateSummary = {
    name: c.name,
    options: result.options,
    validation,
    selectionScore: (validation.accuracy + benchmark.sets.liveFeed.accuracy) / 2,
    benchmark,
    trainSeconds: result.trainSeconds,
    bestEpoch: result.bestEpoch,
    history: result.history,
    vocabSize: result.vocabSize,
    trainedRows: result.trainedRows,
    sizes: result.sizes,
    backend: result.backend,
    servingDifference: result.servingDifference,
  };
  await writeFile(summaryPath, `${JSON.stringify(summary, null, 1)}\n`);
  console.log(
    `model: ${c.name}: validation ${pct(summary.validation.accuracy)}%, selection score ${pct(summary.selectionScore)}`,
  );
  return summary;
}

/** Writes metrics.json, MODEL_CARD.md and the calibration plot of the package in `out`. */
export async function writeCard(out: string, metrics: ShippedMetrics): Promise<void> {
  const files = ['rnnstream.json', 'vocab.json', 'weights.safetensors'];
  metrics.packageBytes = (await Promise.all(files.map((f) => stat(join(out, f))))).reduce(
    (n, s) => n + s.size,
    0,
  );
  await writeFile(join(out, 'metrics.json'), `${JSON.stringify(metrics, null, 1)}\n`);
  const c = metrics.shipped.benchmark.calibration;
  const svg = calibrationSvg(
    [
      { name: 'P&L sentence test', calibration: c.plTest, colour: '#1f77b4' },
      { name: 'UCI sentence test', calibration: c.uciTest, colour: '#2ca02c' },
      { name: 'P&L full reviews', calibration: c.reviews, colour: '#d62728' },
      { name: 'live-feed dev set', calibration: c.liveFeed, colour: '#9467bd' },
      { name: 'feed-like test split', calibration: c.feedTest, colour: '#ff7f0e' },
    ],
    `Calibration of ${metrics.shipped.benchmark.model}`,
  );
  await writeFile(join(out, CALIBRATION_FILE), svg);
  await writeFile(join(out, 'MODEL_CARD.md'), renderShippedCard(metrics));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'models/sentiment' },
      cache: { type: 'string', default: 'data/cache' },
      previous: { type: 'string' },
      cv: { type: 'string' },
      'cv-epochs': { type: 'string' },
      'cv-fold': { type: 'string' },
      cost: { type: 'string' },
      'card-only': { type: 'boolean', default: false },
      candidate: { type: 'string' },
      seed: { type: 'string' },
      distil: { type: 'boolean', default: false },
      'cv-candidate': { type: 'string' },
      'list-candidates': { type: 'boolean', default: false },
    },
  });
  if (values['list-candidates']) {
    console.log(CANDIDATES.map((c) => c.name).join('\n'));
    return;
  }
  const out = values.out as string;
  const cache = values.cache as string;
  const metricsPath = join(out, 'metrics.json');
  await selectBackend('wasm');
  const read = () => readShippedMetrics(out);

  if (values.cv) {
    const metrics = await read();
    const k = Number(values.cv);
    // A candidate's recipe instead of the shipped one (CV_CANDIDATE=NAME scripts/model.sh cv): the same folds,
    // its own folder, a summary beside them and nothing in the card.
    const other = values['cv-candidate'];
    if (other && !existsSync(join(cache, 'candidates', other, 'summary.json')))
      throw new ConfigError(
        `--cv-candidate: ${other} is not trained: run scripts/model.sh candidate ${other} first`,
      );
    const subject = other ? await readSummary(join(cache, 'candidates', other)) : metrics.shipped;
    const work = other ? join(cache, 'cv', other) : join(cache, 'cv');
    if (values['cv-fold'] !== undefined) {
      // One fold per process (scripts/model.sh cv takes the heavy-run lock per fold).
      const epochs = Number(values['cv-epochs'] ?? subject.options.epochs);
      const { data: _d, out: _o, fold: _f, progress: _p, ...recipe } = subject.options;
      const index = Number(values['cv-fold']);
      const fold = await runFold({ ...recipe, data: subject.options.data, out: '', epochs }, k, index, work);
      console.log(`model: cv fold ${index + 1}/${k}: accuracy ${pct(fold.accuracy)}%`);
      return;
    }
    const cv = await collectFolds(k, work, values['cv-epochs'] ? Number(values['cv-epochs']) : undefined);
    const pl = cv.byFile[PL_SENTENCES] ?? cv;
    const line = `${k}-fold accuracy of ${subject.name} (≤ ${cv.epochs} epochs): P&L sentences ${pct(pl.accuracy.mean)} ± ${pct(pl.accuracy.sd)}% [${pct(pl.accuracy.interval[0])}, ${pct(pl.accuracy.interval[1])}], all ${pct(cv.accuracy.mean)} ± ${pct(cv.accuracy.sd)}%`;
    if (other) {
      await writeFile(join(work, 'summary.json'), `${JSON.stringify(cv, null, 1)}\n`);
      console.log(`model: ${line}`);
      return;
    }
    metrics.cv = cv;
    await writeCard(out, metrics);
    // Every fold's figures under each epoch limit it reached, beside the summary of the one chosen.
    await writeFile(
      join(out, CV_FOLDS_FILE),
      `${JSON.stringify({ k, folds: await readFolds(k, work) }, null, 1)}\n`,
    );
    console.log(`model: ${line}`);
    return;
  }
  if (values.cost) {
    const metrics = await read();
    const texts = (await readBenchmarkData(cache)).reviews.map((r) => r.text);
    const [previous, shipped] = await measureServingCost([values.cost, out], texts, { repeats: 21 });
    metrics.servingCost = {
      backend: 'wasm',
      previous,
      shipped,
      ratio: shipped.microsecondsPerToken / previous.microsecondsPerToken,
    };
    await writeCard(out, metrics);
    console.log(
      `model: serving cost ${shipped.microsecondsPerToken.toFixed(3)} vs ${previous.microsecondsPerToken.toFixed(3)} µs/token`,
    );
    return;
  }
  if (values['card-only']) {
    await writeCard(out, await read());
    return;
  }

  const data = await readBenchmarkData(cache);
  if (values.candidate) {
    // One candidate only (scripts/model.sh candidate NAME), so candidates can train side by side; the
    // full run reuses it.
    const c = CANDIDATES.find((x) => x.name === values.candidate);
    if (!c)
      throw new ConfigError(
        `--candidate: no candidate ${values.candidate}; choose one of ${CANDIDATES.map((x) => x.name).join(', ')}`,
      );
    const seed = values.seed === undefined ? undefined : Number(values.seed);
    if (seed !== undefined && !Number.isInteger(seed))
      throw new ConfigError(`--seed must be an integer, got ${values.seed}`);
    // A seed study's run (scripts/model.sh seed NAME N): the recipe under another seed, beside the candidates
    // but never part of the choice, to see how much of a difference between candidates is the seed's.
    const seedRun = (n: number) => {
      const name = `${c.name}-seed${n}`;
      return { name, dir: join(cache, 'seeds', name) };
    };
    if (values.distil) {
      // A distillation study (scripts/model.sh distil NAME [SEED]): the recipe trained against the mean of its
      // own three seeds' probabilities (model/study/README.md), beside the candidates but not part of the choice.
      const teachers = [join(cache, 'candidates', c.name), seedRun(1).dir, seedRun(2).dir];
      const missing = teachers.find((t) => !existsSync(join(t, 'weights.safetensors')));
      if (missing)
        throw new ConfigError(
          `distil: no teacher package in ${missing}; run scripts/model.sh candidate ${c.name} and scripts/model.sh seed ${c.name} 1 and 2 first`,
        );
      const name = `${c.name}-distilled${seed === undefined ? '' : `-seed${seed}`}`;
      await candidate(
        { ...c, name, teachers, ...(seed === undefined ? {} : { seed }) },
        cache,
        join(cache, 'distil', name),
        data,
      );
    } else if (seed === undefined) {
      await candidate(c, cache, join(cache, 'candidates', c.name), data);
    } else {
      const run = seedRun(seed);
      await candidate({ ...c, name: run.name, seed }, cache, run.dir, data);
    }
    return;
  }
  const candidates: CandidateSummary[] = [];
  for (const c of CANDIDATES)
    candidates.push(await candidate(c, cache, join(cache, 'candidates', c.name), data));
  const shipped = candidates.reduce((best, c) => (c.selectionScore > best.selectionScore ? c : best));
  // The same package shipped again (new candidates that were not chosen): its cross-validation, learning curve
  // and serving cost still hold, so they are kept rather than dropped with the folder (hours of CPU to measure again).
  const before = existsSync(metricsPath) ? await read() : undefined;
  const kept =
    before?.shipped.benchmark.model === shipped.benchmark.model
      ? {
          cv: before.cv,
          curve: before.curve,
          servingCost: before.servingCost,
          folds: existsSync(join(out, CV_FOLDS_FILE)) ? await readFile(join(out, CV_FOLDS_FILE)) : undefined,
        }
      : undefined;
  await rm(out, { recursive: true, force: true });
  await cp(join(cache, 'candidates', shipped.name), out, { recursive: true });
  await rm(join(out, 'summary.json'), { force: true });
  const previous = values.previous ? await benchmarkModel(values.previous, data) : undefined;
  const lexicons = benchmarkLexicons(data);
  const metrics: ShippedMetrics = {
    shipped,
    candidates,
    lexicons,
    previous,
    notes: RECIPE_NOTES,
    cv: kept?.cv,
    curve: kept?.curve,
    servingCost: kept?.servingCost,
  };
  if (kept)
    console.log(
      `model: ${shipped.benchmark.model} shipped again: its cross-validation, learning curve and serving cost are kept`,
    );
  if (kept?.folds) await writeFile(join(out, CV_FOLDS_FILE), kept.folds);
  await writeCard(out, metrics);
  const s = shipped.benchmark.sets;
  console.log(
    `model: shipped ${shipped.benchmark.model}: ${BENCHMARK_SETS.map((x) => `${x} ${pct(s[x].accuracy)}%`).join(', ')}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await runScript(main, 'model: ');
