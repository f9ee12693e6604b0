/**
 * Classification metrics: accuracy, F1 (binary: of the positive class; more classes: macro average) and
 * ROC-AUC (binary: Mann–Whitney rank statistic with ties counted half; more classes: macro one-vs-rest).
 */

/** The figures printed by `rnnstream eval --json`. */
export interface Metrics {
  accuracy: number;
  f1: number;
  auc: number;
  n: number;
}

/** ROC-AUC of scores for a binary truth (1 = positive); NaN when one class is absent. */
export function rocAuc(scores: ArrayLike<number>, truth: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const averageRank = (i + j + 2) / 2; // ranks are 1-based; tied scores share their mean rank
    for (let k = i; k <= j; k++) {
      if (truth[order[k]] === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** F1 of one class. */
function f1Of(predicted: ArrayLike<number>, truth: ArrayLike<number>, cls: number): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < truth.length; i++) {
    if (predicted[i] === cls && truth[i] === cls) tp++;
    else if (predicted[i] === cls) fp++;
    else if (truth[i] === cls) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Metrics of class probabilities `probs[i][c]` against true class indices.
 * @example computeMetrics([[0.2, 0.8], [0.9, 0.1]], [1, 0]) // { accuracy: 1, f1: 1, auc: 1, n: 2 }
 */
export function computeMetrics(probs: readonly ArrayLike<number>[], truth: readonly number[]): Metrics {
  const n = truth.length;
  if (probs.length !== n) throw new RangeError(`${probs.length} predictions for ${n} labels`);
  if (n === 0) return { accuracy: Number.NaN, f1: Number.NaN, auc: Number.NaN, n: 0 };
  const classes = probs[0].length;
  const predicted = probs.map((p) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (p[c] > p[best]) best = c;
    return best;
  });
  const accuracy = predicted.filter((p, i) => p === truth[i]).length / n;
  if (classes === 2) {
    return {
      accuracy,
      f1: f1Of(predicted, truth, 1),
      auc: rocAuc(
        probs.map((p) => p[1]),
        truth,
      ),
      n,
    };
  }
  let f1 = 0;
  let auc = 0;
  let aucClasses = 0;
  for (let c = 0; c < classes; c++) {
    f1 += f1Of(predicted, truth, c);
    const a = rocAuc(
      probs.map((p) => p[c]),
      truth.map((t) => (t === c ? 1 : 0)),
    );
    if (!Number.isNaN(a)) {
      auc += a;
      aucClasses++;
    }
  }
  return { accuracy, f1: f1 / classes, auc: aucClasses ? auc / aucClasses : Number.NaN, n };
}
