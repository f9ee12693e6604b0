import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../../core/errors.js';
import { evaluate } from '../../../model/eval/evaluate.js';
import { scoreTokens } from '../../../model/eval/score.js';
import { loadModelPackage } from '../../../model/modelPackage.js';
import { type TrainOptions, train } from '../../../model/train/train.js';
import type { CellKind } from '../../../model/types.js';
import { tinyPretrained, writeGloveStandIn } from '../../fixtures/glove.js';
import { adjectiveSentences } from '../../fixtures/sentences.js';

let dir: string;
let data: string;

const tiny = (out: string, cell: CellKind = 'gru', seed = 7, extra: Partial<TrainOptions> = {}) =>
  train({
    data: [data],
    out,
    cell,
    hidden: 8,
    embed: 8,
    epochs: 2,
    batchSize: 8,
    seed,
    minCount: 1,
    progress: 'none',
    ...extra,
  });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnstream-train-'));
  data = join(dir, 'tiny.csv');
  await writeFile(data, adjectiveSentences());
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('train', () => {
  it('trains, saves a package that loads, and evaluates it through the engine', async () => {
    const out = join(dir, 'gru');
    const result = await tiny(out);
    assert.equal(result.history.length, 2);
    assert.deepEqual(result.head, { kind: 'sigmoid', labels: ['negative', 'positive'] });
    const model = await loadModelPackage(out);
    assert.equal(model.config.cell, 'gru');
    assert.match(await readFile(join(out, 'MODEL_CARD.md'), 'utf8'), /gradient clip \| global L2 norm ≤ 5/);
    // The saved package served by the engine reproduces the training network's probabilities.
    assert.ok(result.servingDifference < 1e-4, `serving difference ${result.servingDifference}`);
    const evaluation = await evaluate({ data: [data], model: out, backend: 'wasm' });
    assert.equal(evaluation.n, 48);
    assert.ok(evaluation.accuracy >= 0 && evaluation.accuracy <= 1);
    assert.deepEqual(
      evaluation.prefixAccuracy.map((p) => p.fraction),
      [0.25, 0.5, 0.75, 1],
    );
  });

  it('is deterministic given the seed', async () => {
    await tiny(join(dir, 'a'), 'lstm', 3);
    await tiny(join(dir, 'b'), 'lstm', 3);
    await tiny(join(dir, 'c'), 'lstm', 4);
    const weights = async (name: string) => readFile(join(dir, name, 'weights.safetensors'));
    assert.ok((await weights('a')).equals(await weights('b')), 'same seed, same weights');
    assert.ok(!(await weights('a')).equals(await weights('c')), 'another seed, other weights');
  });

  it('keeps the moving average of the weights when asked, deterministically', async () => {
    const a = await tiny(join(dir, 'avg-a'), 'gru', 5, { weightAverage: 0.9 });
    await tiny(join(dir, 'avg-b'), 'gru', 5, { weightAverage: 0.9 });
    await tiny(join(dir, 'avg-off'), 'gru', 5);
    const weights = async (name: string) => readFile(join(dir, name, 'weights.safetensors'));
    assert.ok((await weights('avg-a')).equals(await weights('avg-b')), 'same seed, same averaged weights');
    assert.ok(!(await weights('avg-a')).equals(await weights('avg-off')), 'the average is not the last step');
    // The package holds what validation judged: the engine reproduces the trainer's (averaged) network.
    assert.ok(a.servingDifference < 1e-4, `serving difference ${a.servingDifference}`);
    assert.match(
      await readFile(join(dir, 'avg-a', 'MODEL_CARD.md'), 'utf8'),
      /weight average \| moving average of the weights, decay 0.9/,
    );
  });

  it('folds an ensemble of members into one plain package the engine reproduces', async () => {
    const out = join(dir, 'members');
    const result = await tiny(out, 'gru', 5, { members: 2, layers: 2 });
    assert.ok(result.servingDifference < 1e-4, `serving difference ${result.servingDifference}`);
    const model = await loadModelPackage(out);
    assert.equal(model.config.hiddenSize, 8);
    // [3H, in] kernels, PyTorch layout: a row is a unit of a gate, a column an input unit. Member 0 is units
    // 0–3 and member 1 units 4–7; the weights between them are zero, those within are not.
    const blocks = (m: { shape: number[]; data: Float32Array }) => {
      let across = 0;
      let within = 0;
      m.data.forEach((w, i) => {
        const [unit, input] = [Math.floor(i / m.shape[1]) % 8, i % m.shape[1]];
        if (unit < 4 === input < 4) within += Math.abs(w);
        else across += Math.abs(w);
      });
      return { across, within };
    };
    for (const m of [
      model.weights.layers[0].weightHh,
      model.weights.layers[1].weightHh,
      model.weights.layers[1].weightIh,
    ]) {
      const { across, within } = blocks(m);
      assert.equal(across, 0);
      assert.ok(within > 0);
    }
    assert.match(
      await readFile(join(out, 'MODEL_CARD.md'), 'utf8'),
      /ensemble \(folded at export\) \| 2 GRUs of 4 units, each with its own head and loss/,
    );
    await assert.rejects(
      tiny(join(dir, 'members-3'), 'gru', 5, { members: 3 }),
      (error) =>
        error instanceof ConfigError && error.message === '--members must divide --hidden (8), got 3',
    );
  });

  for (const cell of ['rnn', 'lstm'] as const) {
    it(`saves ${cell} weights that tf.layers predicts identically (PyTorch → Keras layout)`, async () => {
      const out = join(dir, `layers-${cell}`);
      await tiny(out, cell);
      const model = await loadModelPackage(out);
      const t = (name: string) => model.weights.layers[0][name as 'weightIh'];
      const transpose = (m: { shape: number[]; data: Float32Array }) =>
        tf.tensor2d(m.data, m.shape as [number, number]).transpose();
      const bias = tf.add(tf.tensor1d(t('biasIh').data), tf.tensor1d(t('biasHh').data));
      const head = (await import('../../../model/safetensors.js')).parseSafetensors(
        await readFile(join(out, 'weights.safetensors')),
      );
      const H = model.config.hiddenSize;
      const reference = tf.sequential({
        layers: [
          tf.layers.embedding({
            inputDim: model.tokenizer.size,
            outputDim: model.config.inputSize,
            inputShape: [null] as unknown as number[],
          }),
          cell === 'rnn'
            ? tf.layers.simpleRNN({ units: H })
            : tf.layers.lstm({ units: H, recurrentActivation: 'sigmoid' }),
          tf.layers.dense({ units: 1, activation: 'sigmoid' }),
        ],
      });
      const embedding = model.weights.embedding as { shape: number[]; data: Float32Array };
      const headWeight = head.get('head.weight') as { shape: number[]; data: Float32Array };
      reference.setWeights([
        tf.tensor2d(embedding.data, embedding.shape as [number, number]),
        transpose(t('weightIh')),
        transpose(t('weightHh')),
        bias,
        transpose(headWeight),
        tf.tensor1d((head.get('head.bias') as { data: Float32Array }).data),
      ]);
      const texts = [
        'the film was great and fun',
        'our meal was dull',
        'this book was lovely and poor and bad',
      ];
      const tokens = texts.map((x) => model.tokenizer.encodeTokens(model.tokenizer.tokenize(x)));
      const served = await scoreTokens(model, tokens);
      for (const [i, ids] of tokens.entries()) {
        const expected = (
          reference.predict(tf.tensor2d([Array.from(ids)], [1, ids.length], 'int32')) as tf.Tensor
        ).dataSync()[0];
        assert.ok(
          Math.abs(served.probs[i][1] - expected) < 1e-4,
          `${texts[i]}: served ${served.probs[i][1]}, tf.layers ${expected}`,
        );
      }
    });
  }

  it('starts from pretrained vectors and lexicon priors, folded into a plain embedding, deterministically', async () => {
    // A tiny stand-in for GloVe: the training words, plus words the training texts never use.
    const cache = join(dir, 'glove');
    await writeGloveStandIn(cache);
    const pretrained = (out: string) => train(tinyPretrained(data, cache, join(dir, out)));
    const result = await pretrained('glove-a');
    const model = await loadModelPackage(join(dir, 'glove-a'));
    assert.equal(model.manifest.tokenizer.split, 'social');
    assert.equal(model.config.inputSize, 6);
    // Rows beyond the training texts' tokens: lexicon words and GloVe words never seen in training.
    const vocab = model.tokenizer.vocab;
    assert.ok(result.trainedRows !== undefined && result.trainedRows < vocab.length);
    for (const word of ['splendid', 'rotten', ':)']) assert.ok(vocab.includes(word), word);
    // An unseen word's row differs from <unk>'s: it carries its vector and valence through the projection.
    const row = (token: string) => {
      const e = model.weights.embedding as { data: Float32Array; shape: number[] };
      const id = vocab.indexOf(token);
      return Array.from(e.data.subarray(id * 6, (id + 1) * 6));
    };
    assert.notDeepEqual(row('splendid'), row('<unk>'));
    assert.notDeepEqual(row('splendid'), row('rotten'));
    assert.ok(result.servingDifference < 1e-4, `serving difference ${result.servingDifference}`);
    await pretrained('glove-b');
    const weights = async (name: string) => readFile(join(dir, name, 'weights.safetensors'));
    assert.ok((await weights('glove-a')).equals(await weights('glove-b')), 'same seed, same weights');
  });

  it('trains on batches of one-token texts (a single step)', async () => {
    const words = join(dir, 'words.csv');
    const rows = ['good', 'great', 'fun', 'bad', 'awful', 'dull'].map((w, i) => `${w},${i < 3 ? 1 : 0}`);
    await writeFile(words, `text,label\n${[...rows, ...rows, ...rows].join('\n')}\n`);
    for (const cell of ['lstm', 'gru'] as const) {
      const result = await train({
        data: [words],
        out: join(dir, `words-${cell}`),
        cell,
        hidden: 4,
        embed: 4,
        epochs: 1,
        batchSize: 4,
        minCount: 1,
        progress: 'none',
      });
      assert.equal(result.history.length, 1);
    }
  });

  it('refuses labels outside an explicit label set, naming the file and line', async () => {
    await assert.rejects(
      train({
        data: [data],
        out: join(dir, 'x'),
        labels: ['positive', 'neutral', 'other'],
        epochs: 1,
        progress: 'none',
      }),
      (error: unknown) =>
        error instanceof ConfigError && /tiny\.csv:\d+: unknown label "negative"/.test(error.message),
    );
  });
});
