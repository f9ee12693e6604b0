/**
 * 95% intervals for test figures: Wilson score intervals for accuracies (a proportion), percentile
 * bootstrap intervals (seeded, so a report is reproducible) for F1 and ROC-AUC, and the t interval of a
 * cross-validation mean.
 */
import { SeededRandom } from '../train/random.js';
import { computeMetrics, type Metrics } from './metrics.js';

/** A closed interval `[low, high]`. */
export type Interval = [number, number];

/** Metrics with a 95% interval for each figure. */
export interface MetricsWithIntervals extends Metrics {
  intervals: { accuracy: Interval; f1: Interval; auc: Interval };
}

/** z of a two-sided 95% interval. */
const Z95 = 1.959964;

/**
 * Wilson score interval of a proportion `successes / n` (95%).
 * @example wilson(80, 100) // [0.711, 0.867]
 */
export function wilson(successes: number, n: number, z = Z95): Interval {
  if (n === 0) return [Number.NaN, Number.NaN];
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Options of {@link withIntervals}. */
export interface IntervalOptions {
  /** Bootstrap resamples for F1 and AUC. @default 1000 */
  resamples?: number;
  /** Seed of the resampling. @default 1 */
  seed?: number;
}

/** The `q` quantile of sorted values (linear interpolation). */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/**
 * {@link computeMetrics} with 95% intervals: Wilson for accuracy, percentile bootstrap for F1 and AUC.
 * @example const m = withIntervals(probs, truth); m.intervals.accuracy // [0.74, 0.81]
 */
export function withIntervals(
  probs: readonly ArrayLike<number>[],
  truth: readonly number[],
  options: IntervalOptions = {},
): MetricsWithIntervals {
  const { resamples = 1000, seed = 1 } = options;
  const metrics = computeMetrics(probs, truth);
  const n = truth.length;
  const random = new SeededRandom(seed);
  const f1s: number[] = [];
  const aucs: number[] = [];
  for (let r = 0; r < resamples && n > 0; r++) {
    const p: ArrayLike<number>[] = new Array(n);
    const t: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const j = random.int(n);
      p[i] = probs[j];
      t[i] = truth[j];
    }
    const m = computeMetrics(p, t);
    f1s.push(m.f1);
    if (!Number.isNaN(m.auc)) aucs.push(m.auc);
  }
  const percentile = (values: number[]): Interval => {
    const sorted = [...values].sort((a, b) => a - b);
    return [quantile(sorted, 0.025), quantile(sorted, 0.975)];
  };
  return {
    ...metrics,
    intervals: {
      accuracy: wilson(Math.round(metrics.accuracy * n), n),
      f1: percentile(f1s),
      auc: percentile(aucs),
    },
  };
}

// Two-sided 95% t quantiles for 1…30 degrees of freedom.
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Mean, sample standard deviation and the 95% t interval of the mean. */
export interface MeanSd {
  mean: number;
  sd: number;
  interval: Interval;
}

/**
 * Mean ± sd of per-fold figures, with the 95% t interval of the mean.
 * @example meanSd([0.78, 0.8, 0.79]) // { mean: 0.79, sd: 0.01, interval: [0.765, 0.815] }
 */
export function meanSd(values: readonly number[]): MeanSd {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const t = n > 1 ? (T95[Math.min(n - 1, T95.length) - 1] ?? 1.96) : Number.NaN;
  const half = (t * sd) / Math.sqrt(n);
  return { mean, sd, interval: [mean - half, mean + half] };
}

/**
 * A figure with its interval in percent: `80.3 [76.1, 84.0]`.
 * @example formatWithInterval(0.803, [0.761, 0.84]) // '80.3 [76.1, 84.0]'
 */
export function formatWithInterval(value: number, interval: Interval, digits = 1): string {
  const p = (x: number) => (Number.isNaN(x) ? '-' : (100 * x).toFixed(digits));
  return `${p(value)} [${p(interval[0])}, ${p(interval[1])}]`;
}
