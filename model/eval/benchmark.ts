/**
 * The standard benchmark of the model card: a package and the lexicon baselines on the UCI test split,
 * the Pang & Lee sentence test split and the 1500 full P&L reviews (test only), with accuracy after
 * 25/50/75/100% of each review and the embedding sanity figure.
 */
import { join } from 'node:path';
import { labelIndex } from '../data/labels.js';
import { type LabelledText, readLabelledFile } from '../data/readers.js';
import { splitOf } from '../data/split.js';
import { loadModelPackage } from '../modelPackage.js';
import type { HeadSpec } from '../types.js';
import { type EmbeddingSanity, embeddingSanity } from './evaluate.js';
import { fitThreshold, LEXICONS, type LexiconName, lexiconProbs, loadLexicons } from './lexicons.js';
import { computeMetrics, type Metrics } from './metrics.js';
import { scoreTokens } from './score.js';

/** The evaluation sets of the card. */
export const BENCHMARK_SETS = ['uciTest', 'plTest', 'reviews'] as const;
export type BenchmarkSet = (typeof BENCHMARK_SETS)[number];

/** Human names of the sets. */
export const SET_TITLES: Record<BenchmarkSet, string> = {
  uciTest: 'UCI sentences, test split',
  plTest: 'P&L sentences, test split',
  reviews: 'P&L full reviews (1500)',
};

/** The files `make data` writes. */
export interface BenchmarkData {
  uci: LabelledText[];
  plSentences: LabelledText[];
  reviews: LabelledText[];
}

/** Reads `uci.jsonl`, `pl-sentences.csv` and `pl-reviews.csv` from the data cache. */
export async function readBenchmarkData(cache = 'data/cache'): Promise<BenchmarkData> {
  return {
    uci: await readLabelledFile(join(cache, 'uci.jsonl')),
    plSentences: await readLabelledFile(join(cache, 'pl-sentences.csv')),
    reviews: await readLabelledFile(join(cache, 'pl-reviews.csv')),
  };
}

/** The texts of each set. */
export function benchmarkSets(data: BenchmarkData): Record<BenchmarkSet, LabelledText[]> {
  return {
    uciTest: data.uci.filter((r) => splitOf(r.text) === 'test'),
    plTest: data.plSentences.filter((r) => splitOf(r.text) === 'test'),
    reviews: data.reviews,
  };
}

const BINARY: HeadSpec = { kind: 'sigmoid', labels: ['negative', 'positive'] };
const truthOf = (rows: LabelledText[]) => rows.map((r) => labelIndex(r.label, BINARY, r));

/** A model's figures on the benchmark. */
export interface ModelBenchmark {
  model: string;
  sets: Record<BenchmarkSet, Metrics>;
  /** Accuracy on the full reviews after 25/50/75/100% of their tokens. */
  reviewPrefixAccuracy: { fraction: number; accuracy: number }[];
  /** Accuracy on the sentence test splits (UCI + P&L) after 25/50/75/100% of their tokens. */
  sentencePrefixAccuracy: { fraction: number; accuracy: number }[];
  embedding: { sentences: EmbeddingSanity; reviews: EmbeddingSanity };
}

const FRACTIONS = [0.25, 0.5, 0.75];

/**
 * Runs a package through the engine on every set.
 * @example const figures = await benchmarkModel('models/sentiment', await readBenchmarkData());
 */
export async function benchmarkModel(dir: string, data: BenchmarkData): Promise<ModelBenchmark> {
  const model = await loadModelPackage(dir);
  const sets = benchmarkSets(data);
  const run = async (rows: LabelledText[]) => {
    const tokens = rows.map((r) => model.tokenizer.encodeTokens(model.tokenizer.tokenize(r.text)));
    return scoreTokens(model, tokens, { fractions: FRACTIONS });
  };
  const uci = await run(sets.uciTest);
  const pl = await run(sets.plTest);
  const reviews = await run(sets.reviews);
  const prefix = (scored: Awaited<ReturnType<typeof run>>, truth: number[]) => [
    ...FRACTIONS.map((fraction, f) => ({
      fraction,
      accuracy: computeMetrics(scored.prefixProbs[f], truth).accuracy,
    })),
    { fraction: 1, accuracy: computeMetrics(scored.probs, truth).accuracy },
  ];
  const sentenceTruth = [...truthOf(sets.uciTest), ...truthOf(sets.plTest)];
  const sentences = {
    probs: [...uci.probs, ...pl.probs],
    hidden: [...uci.hidden, ...pl.hidden],
    prefixProbs: FRACTIONS.map((_, f) => [...uci.prefixProbs[f], ...pl.prefixProbs[f]]),
  };
  return {
    model: model.id,
    sets: {
      uciTest: computeMetrics(uci.probs, truthOf(sets.uciTest)),
      plTest: computeMetrics(pl.probs, truthOf(sets.plTest)),
      reviews: computeMetrics(reviews.probs, truthOf(sets.reviews)),
    },
    reviewPrefixAccuracy: prefix(reviews, truthOf(sets.reviews)),
    sentencePrefixAccuracy: prefix(sentences, sentenceTruth),
    embedding: {
      sentences: embeddingSanity(sentences.hidden, sentenceTruth),
      reviews: embeddingSanity(reviews.hidden, truthOf(sets.reviews)),
    },
  };
}

/** A lexicon's figures on the benchmark. */
export interface LexiconBenchmark {
  name: LexiconName;
  /** Decision threshold fitted on the training split of the sentences. */
  threshold: number;
  sets: Record<BenchmarkSet, Metrics>;
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
    const metrics = (rows: LabelledText[]) =>
      computeMetrics(
        lexiconProbs(
          rows.map((r) => score(r.text)),
          threshold,
        ),
        truthOf(rows),
      );
    return {
      name,
      threshold,
      sets: { uciTest: metrics(sets.uciTest), plTest: metrics(sets.plTest), reviews: metrics(sets.reviews) },
    };
  });
}
