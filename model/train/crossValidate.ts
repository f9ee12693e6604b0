/**
 * k-fold cross-validation of a training recipe on labelled sentences: each fold is held out once
 * ({@link splitByFold}: the rest minus the validation texts trains, the validation texts stop early),
 * the held-out fold is scored through the serving engine, and the folds' figures are summarised as
 * mean ± sd with the 95% t interval of the mean.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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

/** The result file of one fold under `work`. */
const foldFile = (work: string, k: number, index: number) => join(work, `fold-${index}-of-${k}.json`);

/**
 * Trains the recipe with fold `index` of `k` held out (in a scratch folder under `work`) and writes the
 * fold's test figures to `work/fold-INDEX-of-K.json`; each fold is its own process, so a long
 * cross-validation can yield the machine between folds.
 */
export async function runFold(
  recipe: TrainOptions,
  k: number,
  index: number,
  work: string,
): Promise<Metrics> {
  const out = join(work, `fold-${index}`);
  await mkdir(out, { recursive: true });
  const result = await train({ ...recipe, out, fold: { k, index }, progress: 'none' });
  const fold = { ...result.test, bestEpoch: result.bestEpoch, trainSeconds: result.trainSeconds };
  await writeFile(foldFile(work, k, index), `${JSON.stringify({ epochs: recipe.epochs, fold })}\n`);
  await rm(out, { recursive: true, force: true });
  return result.test;
}

/**
 * Collects the `k` fold files {@link runFold} wrote (all must exist, with the same epoch limit).
 * @example const cv = await collectFolds(10, 'data/cache/cv');
 */
export async function collectFolds(k: number, work: string): Promise<CrossValidation> {
  const folds: CrossValidation['folds'] = [];
  let epochs: number | undefined;
  for (let index = 0; index < k; index++) {
    const saved = JSON.parse(await readFile(foldFile(work, k, index), 'utf8')) as {
      epochs: number;
      fold: CrossValidation['folds'][number];
    };
    if (epochs !== undefined && saved.epochs !== epochs)
      throw new Error(`${foldFile(work, k, index)}: trained with ${saved.epochs} epochs, not ${epochs}`);
    epochs = saved.epochs;
    folds.push(saved.fold);
  }
  return summarise(k, epochs ?? 0, folds);
}

/**
 * Trains the recipe `k` times, once per held-out fold, in one process.
 * @example const cv = await crossValidate({ ...recipe, data, out: '' }, 10, 'data/cache/cv');
 */
export async function crossValidate(recipe: TrainOptions, k: number, work: string): Promise<CrossValidation> {
  for (let index = 0; index < k; index++) await runFold(recipe, k, index, work);
  return collectFolds(k, work);
}

function summarise(k: number, epochs: number, folds: CrossValidation['folds']): CrossValidation {
  return {
    k,
    epochs,
    folds,
    accuracy: meanSd(folds.map((f) => f.accuracy)),
    f1: meanSd(folds.map((f) => f.f1)),
    auc: meanSd(folds.map((f) => f.auc)),
  };
}
