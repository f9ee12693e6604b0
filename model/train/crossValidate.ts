/**
 * k-fold cross-validation of a training recipe on labelled sentences: each fold is held out once
 * ({@link splitByFold}: the rest minus the validation texts trains, the validation texts stop early),
 * the held-out fold is scored through the serving engine, and the folds' figures are summarised as
 * mean ± sd with the 95% t interval of the mean, over all texts and over each data file's texts.
 *
 * A fold records, after every epoch, the test figures of the weights kept so far: what a run with that
 * epoch limit reports (training is deterministic for a seed). So folds trained under one limit can be
 * summarised under any smaller limit they all reached, e.g. when the machine's time ran out.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type MeanSd, meanSd } from '../eval/intervals.js';
import type { Metrics } from '../eval/metrics.js';
import { type EpochTest, type TrainOptions, train } from './train.js';

/** Mean ± sd over the folds of each figure. */
export interface FoldSummary {
  accuracy: MeanSd;
  f1: MeanSd;
  auc: MeanSd;
}

/** One held-out fold's test figures: all its texts, and each data file's texts (by file name). */
export type FoldFigures = Metrics & {
  bestEpoch: number;
  /** Epochs trained under the limit (early stopping may end a fold sooner). */
  epochsRun: number;
  trainSeconds: number;
  byFile: Record<string, Metrics>;
};

/** What {@link crossValidate} returns (metrics.json's `cv`): all texts, and each data file's. */
export interface CrossValidation extends FoldSummary {
  k: number;
  /** Most epochs per fold (early stopping may end a fold sooner). */
  epochs: number;
  folds: FoldFigures[];
  /** The summary of each data file's texts (e.g. `pl-sentences.csv`). */
  byFile: Record<string, FoldSummary>;
}

/** A fold's file: the figures under each epoch limit 1, 2, … it reached, and whether it ended. */
export interface FoldRecord {
  /** The limit it was trained under. */
  epochs: number;
  /** `byLimit[e - 1]`: the figures of a run limited to `e` epochs. */
  byLimit: FoldFigures[];
  /** Training ended (early stop or the limit): every larger limit gives the last figures. */
  done: boolean;
}

/** The result file of one fold under `work`. */
export const foldFile = (work: string, k: number, index: number) => join(work, `fold-${index}-of-${k}.json`);

const figuresOf = (data: string[], e: EpochTest): FoldFigures => ({
  ...e.test,
  bestEpoch: e.bestEpoch,
  epochsRun: e.epoch,
  trainSeconds: e.seconds,
  byFile: Object.fromEntries(data.map((file, i) => [basename(file), e.testByFile[i]])),
});

/**
 * Trains the recipe with fold `index` of `k` held out (in a scratch folder under `work`), writing the
 * fold's test figures to `work/fold-INDEX-of-K.json` after every epoch; each fold is its own process,
 * so a long cross-validation can yield the machine between folds, and a stopped one keeps its epochs.
 */
export async function runFold(
  recipe: TrainOptions,
  k: number,
  index: number,
  work: string,
): Promise<FoldFigures> {
  const out = join(work, `fold-${index}`);
  await mkdir(out, { recursive: true });
  const file = foldFile(work, k, index);
  const record: FoldRecord = { epochs: recipe.epochs ?? 0, byLimit: [], done: false };
  const save = () => writeFile(file, `${JSON.stringify(record)}\n`);
  await train({
    ...recipe,
    out,
    fold: { k, index },
    progress: 'lines',
    onEpoch: async (e) => {
      record.byLimit.push(figuresOf(recipe.data, e));
      await save();
    },
  });
  record.done = true;
  await save();
  await rm(out, { recursive: true, force: true });
  return record.byLimit[record.byLimit.length - 1];
}

/** A fold's figures under an epoch limit, or why it has none. */
function underLimit(record: FoldRecord, epochs: number, file: string): FoldFigures {
  if (epochs <= record.byLimit.length) return record.byLimit[epochs - 1];
  if (record.done && record.epochs >= epochs) return record.byLimit[record.byLimit.length - 1];
  throw new Error(
    `${file}: has figures for ${record.byLimit.length} epochs${record.done ? ` (trained with ${record.epochs})` : ' so far'}, not ${epochs}`,
  );
}

/** The `k` fold files {@link runFold} wrote under `work`, in fold order. */
export async function readFolds(k: number, work: string): Promise<FoldRecord[]> {
  const records: FoldRecord[] = [];
  for (let index = 0; index < k; index++)
    records.push(JSON.parse(await readFile(foldFile(work, k, index), 'utf8')) as FoldRecord);
  return records;
}

/**
 * Collects the `k` fold files {@link runFold} wrote, under an epoch limit every fold reached
 * (default: the limit they were trained under).
 * @example const cv = await collectFolds(10, 'data/cache/cv', 4);
 */
export async function collectFolds(k: number, work: string, epochs?: number): Promise<CrossValidation> {
  const records = await readFolds(k, work);
  const limit = epochs ?? Math.min(...records.map((r) => r.epochs));
  return summarise(
    k,
    limit,
    records.map((r, index) => underLimit(r, limit, foldFile(work, k, index))),
  );
}

/**
 * Trains the recipe `k` times, once per held-out fold, in one process.
 * @example const cv = await crossValidate({ ...recipe, data, out: '' }, 10, 'data/cache/cv');
 */
export async function crossValidate(recipe: TrainOptions, k: number, work: string): Promise<CrossValidation> {
  for (let index = 0; index < k; index++) await runFold(recipe, k, index, work);
  return collectFolds(k, work);
}

const summary = (folds: readonly Metrics[]): FoldSummary => ({
  accuracy: meanSd(folds.map((f) => f.accuracy)),
  f1: meanSd(folds.map((f) => f.f1)),
  auc: meanSd(folds.map((f) => f.auc)),
});

function summarise(k: number, epochs: number, folds: FoldFigures[]): CrossValidation {
  const files = Object.keys(folds[0]?.byFile ?? {});
  const byFile = Object.fromEntries(files.map((file) => [file, summary(folds.map((f) => f.byFile[file]))]));
  return { k, epochs, folds, ...summary(folds), byFile };
}
