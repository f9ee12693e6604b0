import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readLabelledFile } from '../../../model/data/readers.js';
import { foldOf, splitOf } from '../../../model/data/split.js';
import { loadModelPackage } from '../../../model/modelPackage.js';
import { studyData } from '../../../model/study/torchExport.js';
import { type TrainOptions, train } from '../../../model/train/train.js';
import { STAND_IN_WORDS, standInValue, tinyPretrained, writeGloveStandIn } from '../../fixtures/glove.js';
import { adjectiveSentences } from '../../fixtures/sentences.js';

let dir: string;
let options: TrainOptions;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnstream-torch-export-'));
  const data = join(dir, 'tiny.csv');
  await writeFile(data, adjectiveSentences());
  // A tiny stand-in for GloVe: some training words and words the training texts never use.
  const cache = join(dir, 'glove');
  await writeGloveStandIn(cache);
  options = tinyPretrained(data, cache, join(dir, 'model'), 1);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('torch export (the PyTorch replica sees what the trainer sees)', () => {
  it('exports the trained package’s vocabulary, token ids, trainable rows, splits and folds', async () => {
    const result = await train(options);
    const model = await loadModelPackage(options.out);
    const texts = await readLabelledFile(options.data[0]);
    const sets = { some: texts.slice(0, 3) };
    const { data, base } = await studyData(options, sets, 5);
    assert.deepEqual(data.vocab, model.tokenizer.vocab);
    assert.equal(data.trainedRows, result.trainedRows);
    assert.equal(data.width, 4 + 2, 'GloVe columns, then the VADER and AFINN columns');
    assert.equal(base.length, data.vocabSize * data.width);
    assert.equal(data.rows.length, texts.length);
    const encode = (text: string) => Array.from(model.tokenizer.encodeTokens(model.tokenizer.tokenize(text)));
    const byIds = new Map(data.rows.map((r) => [r.ids.join(' '), r]));
    for (const text of texts) {
      const row = byIds.get(encode(text.text).join(' '));
      assert.ok(row, text.text);
      assert.equal(row.y, text.label === 'positive' ? 1 : 0);
      assert.equal(row.s, splitOf(text.text));
      assert.equal(row.k, foldOf(text.text, 5));
      assert.equal(row.f, 0);
    }
    assert.deepEqual(
      data.sets.some.map((r) => r.ids),
      sets.some.map((r) => encode(r.text)),
    );
    // A GloVe word's row starts with its vector.
    const id = data.vocab.indexOf('splendid');
    assert.deepEqual(
      Array.from(base.subarray(id * data.width, id * data.width + 4)),
      Array.from({ length: 4 }, (_, i) => standInValue(STAND_IN_WORDS.indexOf('splendid'), i)),
    );
    assert.equal(data.recipe.hidden, 8);
  });
});
