/**
 * `scripts/model.sh torch-export`: the shipped recipe's data exactly as the TF.js trainer sees it (the same
 * split, vocabulary, token ids and fixed GloVe + lexicon-prior table, from train.ts's own functions), for the
 * PyTorch replica of the trainer (model/study/torch_replica.py, model/study/README.md) that sweeps recipe
 * variants on a GPU in minutes where the TF.js trainer takes ten on one core per run. Outside the choice of
 * the shipped model: it tells which change is worth building into the trainer and the engines.
 *
 * Writes `data/cache/study/data.json` (the recipe, every labelled text's ids, label, file, split and
 * cross-validation fold, and the benchmark sets' ids) and `data/cache/study/base.f32` (the fixed input table,
 * row-major float32).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, runScript } from '../../core/errors.js';
import { labelIndex } from '../data/labels.js';
import type { LabelledText } from '../data/readers.js';
import { foldOf, type SplitName } from '../data/split.js';
import { benchmarkSets, readBenchmarkData } from '../eval/benchmark.js';
import { Tokenizer } from '../tokenizer.js';
import { readShippedMetrics } from '../train/shipped.js';
import {
  DEFAULT_TRAIN_OPTIONS,
  type ResolvedTrainOptions,
  splitTrainingData,
  type TrainOptions,
  vocabularyOf,
} from '../train/train.js';

/** One labelled training-file text: token ids, class, index of its file in `recipe.data`, split, fold. */
export interface StudyRow {
  ids: number[];
  y: number;
  f: number;
  s: SplitName;
  k: number;
}

/** What `data.json` holds. */
export interface StudyData {
  recipe: ResolvedTrainOptions;
  /** Index = token id. */
  vocab: string[];
  vocabSize: number;
  /** Columns of the fixed table: `vectorWidth` GloVe columns, then the lexicon priors. */
  width: number;
  vectorWidth: number;
  /** Rows `0 … trainedRows−1` get the trainable correction (model/train/pretrainedInput.ts). */
  trainedRows: number;
  oovId: number;
  /** Folds of `k` (model/data/split.ts foldOf). */
  folds: number;
  rows: StudyRow[];
  sets: Record<string, { ids: number[]; y: number }[]>;
}

/**
 * The study data of a recipe (which must name a `glove` cache) and of benchmark sets.
 * @example const { data, base } = await studyData({ ...shipped.options, glove: 'data/cache' });
 */
export async function studyData(
  options: TrainOptions,
  sets: Record<string, LabelledText[]> = {},
  folds = 10,
): Promise<{ data: StudyData; base: Float32Array }> {
  const recipe = { ...DEFAULT_TRAIN_OPTIONS, ...options } as ResolvedTrainOptions;
  const { head, split } = await splitTrainingData(recipe);
  const { vocab, pretrained } = await vocabularyOf(
    recipe,
    split.train.map((r) => r.text),
  );
  if (!pretrained) throw new ConfigError('torch-export: the recipe has no glove cache (set glove)');
  const tokenizer = new Tokenizer(vocab, { split: recipe.split });
  const ids = (text: string) => Array.from(tokenizer.encodeTokens(tokenizer.tokenize(text)));
  const rows = (['train', 'val', 'test'] as const).flatMap((s) =>
    split[s].map((r) => ({
      ids: ids(r.text),
      y: r.cls,
      f: recipe.data.indexOf(r.file),
      s,
      k: foldOf(r.text, folds),
    })),
  );
  const encodedSets = Object.fromEntries(
    Object.entries(sets).map(([name, texts]) => [
      name,
      texts.map((r) => ({ ids: ids(r.text), y: labelIndex(r.label, head, r) })),
    ]),
  );
  const data: StudyData = {
    recipe,
    vocab,
    vocabSize: vocab.length,
    width: pretrained.width,
    vectorWidth: pretrained.vectorWidth,
    trainedRows: pretrained.trainedRows,
    oovId: tokenizer.options.oovId,
    folds,
    rows,
    sets: encodedSets,
  };
  return { data, base: pretrained.base };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cache: { type: 'string', default: 'data/cache' },
      out: { type: 'string', default: 'models/sentiment' },
    },
  });
  const cache = values.cache as string;
  const shipped = (await readShippedMetrics(values.out as string)).shipped;
  const { data, base } = await studyData(
    { ...shipped.options, glove: cache },
    benchmarkSets(await readBenchmarkData(cache)),
  );
  const dir = join(cache, 'study');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'data.json'), JSON.stringify(data));
  await writeFile(join(dir, 'base.f32'), new Uint8Array(base.buffer, base.byteOffset, base.byteLength));
  console.log(
    `torch-export: ${shipped.name}'s recipe, ${data.rows.length} texts, ${data.vocabSize} × ${data.width} table into ${dir}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await runScript(main);
