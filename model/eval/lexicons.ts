/**
 * The lexicon scorers users reach for, as baselines: npm `sentiment` (AFINN-165), `vader-sentiment`
 * (compound score) and `wink-sentiment`. They are devDependencies, loaded only when an evaluation asks.
 * Each gives a real score; the decision threshold is fitted on training texts (the one that maximises
 * training accuracy), never on a test set, so the baselines are as strong as they can fairly be.
 */
import { createRequire } from 'node:module';

/** Names of the lexicon baselines. */
export const LEXICONS = ['afinn', 'vader', 'wink'] as const;
export type LexiconName = (typeof LEXICONS)[number];

/** A text → real score function (higher = more positive). */
export type LexiconScorer = (text: string) => number;

/**
 * Loads the three scorers (throws when the devDependencies are not installed).
 * @example const scorers = loadLexicons(); scorers.vader('a great film'); // 0.6249
 */
export function loadLexicons(): Record<LexiconName, LexiconScorer> {
  const require = createRequire(import.meta.url);
  const Sentiment = require('sentiment') as new () => { analyze(text: string): { score: number } };
  const vader = require('vader-sentiment') as {
    SentimentIntensityAnalyzer: { polarity_scores(text: string): { compound: number } };
  };
  const wink = require('wink-sentiment') as (text: string) => { score: number };
  const afinn = new Sentiment();
  return {
    afinn: (text) => afinn.analyze(text).score,
    vader: (text) => vader.SentimentIntensityAnalyzer.polarity_scores(text).compound,
    wink: (text) => wink(text).score,
  };
}

/**
 * The threshold t (predict positive when score > t) that maximises accuracy on labelled training scores;
 * ties between equally good thresholds go to the one nearest 0.
 * @example fitThreshold([-2, 0, 3], [0, 1, 1]) // -1
 */
export function fitThreshold(scores: readonly number[], truth: readonly number[]): number {
  const pairs = scores.map((s, i) => [s, truth[i]] as const).sort((a, b) => a[0] - b[0]);
  const positives = truth.filter((t) => t === 1).length;
  // Threshold below everything: all predicted positive.
  let correct = positives;
  let best = { correct, threshold: pairs.length ? pairs[0][0] - 1 : 0 };
  for (let i = 0; i < pairs.length; i++) {
    correct += pairs[i][1] === 1 ? -1 : 1;
    if (i + 1 < pairs.length && pairs[i + 1][0] === pairs[i][0]) continue;
    const threshold = i + 1 < pairs.length ? (pairs[i][0] + pairs[i + 1][0]) / 2 : pairs[i][0];
    if (
      correct > best.correct ||
      (correct === best.correct && Math.abs(threshold) < Math.abs(best.threshold))
    ) {
      best = { correct, threshold };
    }
  }
  return best.threshold;
}

/** Binary "probabilities" of a lexicon for the metrics: `[1-p, p]` with p = 1 when score > threshold. */
export function lexiconProbs(scores: readonly number[], threshold: number): number[][] {
  // The metrics' AUC ranks the second column, so it keeps the raw score's order; the first column
  // only has to be smaller exactly when the score is above the threshold.
  return scores.map((s) =>
    s > threshold ? [threshold - s, s - threshold] : [threshold - s + 1e-12, s - threshold],
  );
}
