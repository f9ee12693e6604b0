import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectFolds, foldFile, runFold } from '../../../model/train/crossValidate.js';
import type { TrainOptions } from '../../../model/train/train.js';
import { adjectiveSentences } from '../../fixtures/sentences.js';

let dir: string;
let recipe: TrainOptions;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnstream-cv-'));
  const films = join(dir, 'films.csv');
  const meals = join(dir, 'meals.csv');
  await writeFile(films, adjectiveSentences(['the film', 'this book', 'the show', 'that play']));
  await writeFile(meals, adjectiveSentences(['our meal', 'the soup', 'my coffee', 'the pizza']));
  recipe = {
    data: [films, meals],
    out: '',
    cell: 'gru',
    hidden: 8,
    embed: 8,
    epochs: 3,
    patience: 5,
    batchSize: 8,
    learningRate: 0.03,
    seed: 5,
    minCount: 1,
  };
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cross-validation', () => {
  it('records each epoch limit, and a shorter run reports what the longer one recorded for it', async () => {
    const k = 3;
    const long = join(dir, 'long');
    for (let index = 0; index < k; index++) await runFold(recipe, k, index, long);
    const record = JSON.parse(await readFile(foldFile(long, k, 0), 'utf8'));
    assert.equal(record.done, true);
    assert.deepEqual(
      record.byLimit.map((f: { epochsRun: number }) => f.epochsRun),
      [1, 2, 3],
    );
    const short = join(dir, 'short');
    for (let index = 0; index < k; index++) await runFold({ ...recipe, epochs: 2 }, k, index, short);
    const [fromLong, fromShort] = [await collectFolds(k, long, 2), await collectFolds(k, short)];
    assert.equal(fromShort.epochs, 2);
    const strip = (cv: typeof fromLong) => cv.folds.map(({ trainSeconds: _t, ...figures }) => figures);
    assert.deepEqual(strip(fromLong), strip(fromShort));
    assert.deepEqual(Object.keys(fromLong.byFile), ['films.csv', 'meals.csv']);
    // Every fold's texts of both files are scored: the files' counts add up to the fold's.
    for (const f of fromLong.folds) assert.equal(f.n, f.byFile['films.csv'].n + f.byFile['meals.csv'].n);
    assert.equal((await collectFolds(k, long)).epochs, 3);
    // Some fold kept a later epoch under the longer limit, so its figures were scored again.
    const [one, two] = [await collectFolds(k, long, 1), fromLong];
    assert.ok(one.folds.some((f, i) => f.bestEpoch === 1 && two.folds[i].bestEpoch === 2));
    await assert.rejects(collectFolds(k, short, 3), /has figures for 2 epochs \(trained with 2\), not 3/);
  });
});
