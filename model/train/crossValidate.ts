/**
 * k-fold cross-validation of a training recipe on labelled sentences: each fold is held out once
 * ({@link splitByFold}: the rest minus the validation texts trains, the validation texts stop early),
 * the held-out fold is scored through the serving engine, and the folds' figures are summarised as
 * mean ± sd with the 95% t interval of the mean.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type MeanSd, meanSd } from '../eval/intervals.js';
import type { Metrics } from '../eval/metrics.js';
import { type TrainOptions, train } from './train.js';

/** What {@link crossValidate} returns (metrics.json's `cv`). */
export interface CrossValidation {
  k: number;
  /** Most epochs per fold (early stopping may end a fold sooner). */
  epochs: number;
  folds: (Metrics & { bestEpoch: number; trainSeconds: number })[];
  accuracy: MeanSd;
  f1: MeanSd;
  auc: MeanSd;
}

/**
 * Trains the recipe `k` times, once per held-out fold, in a scratch folder under `work`.
 * @example const cv = await crossValidate({ ...SHIPPED, data, out: '' }, 10, 'data/cache/cv');
 */
export async function crossValidate(
  recipe: TrainOptions,
  k: number,
  work: string,
  onFold?: (index: number, fold: Metrics) => void,
): Promise<CrossValidation> {
  const folds: CrossValidation['folds'] = [];
  for (let index = 0; index < k; index++) {
    const out = join(work, `fold-${index}`);
    await mkdir(out, { recursive: true });
    const result = await train({ ...recipe, out, fold: { k, index }, progress: 'none' });
    folds.push({ ...result.test, bestEpoch: result.bestEpoch, trainSeconds: result.trainSeconds });
    onFold?.(index, result.test);
    await rm(out, { recursive: true, force: true });
  }
  return {
    k,
    epochs: recipe.epochs ?? 0,
    folds,
    accuracy: meanSd(folds.map((f) => f.accuracy)),
    f1: meanSd(folds.map((f) => f.f1)),
    auc: meanSd(folds.map((f) => f.auc)),
  };
}
