/**
 * The standard benchmark of the model card: a package and the lexicon baselines on the UCI test split,
 * the Pang & Lee sentence test split, the 1500 full P&L reviews (test only) and the live-feed
 * development set (model/data/live-feed-dev.jsonl), every figure with its 95% interval, with accuracy
 * after 25/50/75/100% of each review, calibration bins and the embedding sanity figure.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelIndex } from '../data/labels.js';
import { type LabelledText, readLabelledFile } from '../data/readers.js';
import { splitOf } from '../data/split.js';
import { loadModelPackage, type ModelPackage } from '../modelPackage.js';
import type { HeadSpec } from '../types.js';
import { type Calibration, calibration } from './calibration.js';
import { type EmbeddingSanity, embeddingSanity } from './evaluate.js';
import { type Interval, type MetricsWithIntervals, wilson, withIntervals } from './intervals.js';
import { fitThreshold, LEXICONS, type LexiconName, lexiconProbs, loadLexicons } from './lexicons.js';
import { computeMetrics, type Metrics } from './metrics.js';
import { scoreTokens } from './score.js';

/** The evaluation sets of the card. */
export const BENCHMARK_SETS = ['uciTest', 'plTest', 'reviews', 'liveFeed', 'feedTest'] as const;
export type BenchmarkSet = (typeof BENCHMARK_SETS)[number];

/** Human names of the sets. */
export const SET_TITLES: Record<BenchmarkSet, string> = {
  uciTest: 'UCI sentences, test split',
  plTest: 'P&L sentences, test split',
  reviews: 'P&L full reviews (1500)',
  liveFeed: 'live-feed dev set (320)',
  feedTest: 'feed-like messages, test split',
};

/** The live-feed development set: hand-written messages, never trained on. */
export const LIVE_FEED_DEV = fileURLToPath(new URL('../data/live-feed-dev.jsonl', import.meta.url));

/**
 * The feed-like training messages (model/data/live-feed-train.README.md): their test split is a test set
 * of feed-like text that, unlike the development set, took no part in choosing the model.
 */
export const FEED_TRAIN_FILE = fileURLToPath(new URL('../data/live-feed-train.jsonl', import.meta.url));

/** The files `make data` writes, and the live-feed development set. */
export interface BenchmarkData {
  uci: LabelledText[];
  plSentences: LabelledText[];
  reviews: LabelledText[];
  liveFeed: LabelledText[];
  feedTrain: LabelledText[];
}

/** Reads `uci.jsonl`, `pl-sentences.csv` and `pl-reviews.csv` from the data cache, the dev set and the feed-like messages. */
export async function readBenchmarkData(cache = 'data/cache'): Promise<BenchmarkData> {
  return {
    uci: await readLabelledFile(join(cache, 'uci.jsonl')),
    plSentences: await readLabelledFile(join(cache, 'pl-sentences.csv')),
    reviews: await readLabelledFile(join(cache, 'pl-reviews.csv')),
    liveFeed: await readLabelledFile(LIVE_FEED_DEV),
    feedTrain: await readLabelledFile(FEED_TRAIN_FILE),
  };
}

/** The texts of each set. */
export function benchmarkSets(data: BenchmarkData): Record<BenchmarkSet, LabelledText[]> {
  return {
    uciTest: data.uci.filter((r) => splitOf(r.text) === 'test'),
    plTest: data.plSentences.filter((r) => splitOf(r.text) === 'test'),
    reviews: data.reviews,
    liveFeed: data.liveFeed,
    feedTest: data.feedTrain.filter((r) => splitOf(r.text) === 'test'),
  };
}

const BINARY: HeadSpec = { kind: 'sigmoid', labels: ['negative', 'positive'] };
const truthOf = (rows: LabelledText[]) => rows.map((r) => labelIndex(r.label, BINARY, r));

/** Accuracy after a fraction of each text, with its 95% (Wilson) interval. */
export interface PrefixAccuracy {
  fraction: number;
  accuracy: number;
  interval: Interval;
}

/** A model's figures on the benchmark. */
export interface ModelBenchmark {
  model: string;
  sets: Record<BenchmarkSet, MetricsWithIntervals>;
  /** Accuracy on the full reviews after 25/50/75/100% of their tokens. */
  reviewPrefixAccuracy: PrefixAccuracy[];
  /** Accuracy on the sentence test splits (UCI + P&L) after 25/50/75/100% of their tokens. */
  sentencePrefixAccuracy: PrefixAccuracy[];
  /** Reliability bins of P(positive) per set. */
  calibration: Record<BenchmarkSet, Calibration>;
  embedding: { sentences: EmbeddingSanity; reviews: EmbeddingSanity };
}

const FRACTIONS = [0.25, 0.5, 0.75];

/** Scores labelled texts through the package's own tokenizer and engine. */
const scoreTexts = (model: ModelPackage, rows: LabelledText[], fractions: number[] = []) =>
  scoreTokens(
    model,
    rows.map((r) => model.tokenizer.encodeTokens(model.tokenizer.tokenize(r.text))),
    { fractions },
  );

/**
 * Runs a package through the engine on every set.
 * @example const figures = await benchmarkModel('models/sentiment', await readBenchmarkData());
 */
export async function benchmarkModel(dir: string, data: BenchmarkData): Promise<ModelBenchmark> {
  const model = await loadModelPackage(dir);
  const sets = benchmarkSets(data);
  const run = (rows: LabelledText[]) => scoreTexts(model, rows, FRACTIONS);
  const uci = await run(sets.uciTest);
  const pl = await run(sets.plTest);
  const reviews = await run(sets.reviews);
  const feed = await run(sets.liveFeed);
  const feedTest = await run(sets.feedTest);
  const accuracyAt = (fraction: number, probs: number[][], truth: number[]): PrefixAccuracy => {
    const accuracy = computeMetrics(probs, truth).accuracy;
    return { fraction, accuracy, interval: wilson(Math.round(accuracy * truth.length), truth.length) };
  };
  const prefix = (scored: Awaited<ReturnType<typeof run>>, truth: number[]) => [
    ...FRACTIONS.map((fraction, f) => accuracyAt(fraction, scored.prefixProbs[f], truth)),
    accuracyAt(1, scored.probs, truth),
  ];
  const scoredSets = { uciTest: uci, plTest: pl, reviews, liveFeed: feed, feedTest };
  const perSet = <T>(f: (probs: number[][], truth: number[]) => T) =>
    Object.fromEntries(
      BENCHMARK_SETS.map((set) => [set, f(scoredSets[set].probs, truthOf(sets[set]))]),
    ) as Record<BenchmarkSet, T>;
  const sentenceTruth = [...truthOf(sets.uciTest), ...truthOf(sets.plTest)];
  const sentences = {
    probs: [...uci.probs, ...pl.probs],
    hidden: [...uci.hidden, ...pl.hidden],
    prefixProbs: FRACTIONS.map((_, f) => [...uci.prefixProbs[f], ...pl.prefixProbs[f]]),
  };
  return {
    model: model.id,
    sets: perSet((probs, truth) => withIntervals(probs, truth)),
    reviewPrefixAccuracy: prefix(reviews, truthOf(sets.reviews)),
    sentencePrefixAccuracy: prefix(sentences, sentenceTruth),
    calibration: perSet((probs, truth) => calibration(probs, truth)),
    embedding: {
      sentences: embeddingSanity(sentences.hidden, sentenceTruth),
      reviews: embeddingSanity(reviews.hidden, truthOf(sets.reviews)),
    },
  };
}

/**
 * A package's figures on the sentence validation split (UCI + P&L texts that {@link splitOf} puts in
 * `val`), through the engine: the same rows for every candidate, whatever else it trained on.
 */
export async function sentenceValidation(dir: string, data: BenchmarkData): Promise<Metrics> {
  return metricsOn(
    dir,
    [...data.uci, ...data.plSentences].filter((r) => splitOf(r.text) === 'val'),
  );
}

/** A package's figures on labelled texts, through the engine. */
export async function metricsOn(dir: string, rows: LabelledText[]): Promise<Metrics> {
  return computeMetrics((await scoreTexts(await loadModelPackage(dir), rows)).probs, truthOf(rows));
}

/** A lexicon's figures on the benchmark. */
export interface LexiconBenchmark {
  name: LexiconName;
  /** Decision threshold fitted on the training split of the sentences. */
  threshold: number;
  sets: Record<BenchmarkSet, MetricsWithIntervals>;
  /** The same with threshold 0 (positive when the score is above 0), as a user calls a lexicon. */
  atZero: Record<BenchmarkSet, MetricsWithIntervals>;
}

/**
 * Scores every set with the three lexicons; thresholds fitted on the sentences' training split.
 * @example const lexicons = benchmarkLexicons(await readBenchmarkData());
 */
export function benchmarkLexicons(data: BenchmarkData): LexiconBenchmark[] {
  const scorers = loadLexicons();
  const sets = benchmarkSets(data);
  const trainRows = [...data.uci, ...data.plSentences].filter((r) => splitOf(r.text) === 'train');
  return LEXICONS.map((name) => {
    const score = scorers[name];
    const threshold = fitThreshold(
      trainRows.map((r) => score(r.text)),
      truthOf(trainRows),
    );
    const at = (t: number) =>
      Object.fromEntries(
        BENCHMARK_SETS.map((set) => [
          set,
          withIntervals(
            lexiconProbs(
              sets[set].map((r) => score(r.text)),
              t,
            ),
            truthOf(sets[set]),
          ),
        ]),
      ) as Record<BenchmarkSet, MetricsWithIntervals>;
    return { name, threshold, sets: at(threshold), atZero: at(0) };
  });
}
