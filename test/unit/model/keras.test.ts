import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ModelFormatError } from '../../../core/errors.js';
import { selectBackend } from '../../../model/backend.js';
import { rnnWeightsFromStateDict } from '../../../model/cells.js';
import { createEngine } from '../../../model/engine.js';
import { Head } from '../../../model/head.js';
import { convertLayersModel, readLayersModel } from '../../../model/keras.js';
import { rng, uniform } from './helpers.js';

const VOCAB = 30;
const TOLERANCE = 1e-5;

/** Saves a tf.LayersModel as model.json + weights.bin in `dir` (what tfjs' file save would write). */
async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<string> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const specs = artifacts.weightSpecs ?? [];
      const data = artifacts.weightData as ArrayBuffer;
      const modelJson = {
        format: 'layers-model',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
      };
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
      await writeFile(join(dir, 'weights.bin'), new Uint8Array(data));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(dir, 'model.json');
}

/** Random token rows of one length (a LayersModel predicts rectangular batches). */
function tokenRows(seed: number, rows: number, length: number): number[][] {
  const random = rng(seed);
  return Array.from({ length: rows }, () => Array.from({ length }, () => Math.floor(random() * VOCAB)));
}

/** Keras' predictions and ours (engine on the converted weights + head) for the same token rows. */
async function compare(modelJsonPath: string, model: tf.LayersModel | undefined, rows: number[][]) {
  const converted = await readLayersModel(modelJsonPath);
  const weights = rnnWeightsFromStateDict(converted.tensors, converted.config, {
    prefix: 'rnn.',
    embedding: 'embedding.weight',
  });
  const labels =
    converted.head.units === 1 ? ['negative', 'positive'] : ['a', 'b', 'c'].slice(0, converted.head.units);
  const head = new Head(
    { kind: converted.head.activation, labels },
    converted.tensors.get('head.weight') as never,
    converted.tensors.get('head.bias'),
  );
  const engine = createEngine(weights, converted.config);
  try {
    const results = await engine.step(rows.map((r) => ({ tokens: Int32Array.from(r) })));
    const ours = head
      .predict(results.map((r) => r.last))
      .map((p) => (converted.head.units === 1 ? [p.probs[1]] : p.probs));
    let theirs: number[][] | undefined;
    if (model) {
      const input = tf.tensor2d(rows, [rows.length, rows[0].length], 'float32');
      const output = model.predict(input) as tf.Tensor;
      theirs = (await output.array()) as number[][];
      tf.dispose([input, output]);
    }
    return { converted, ours, theirs };
  } finally {
    engine.dispose();
  }
}

describe('Keras / TF.js LayersModel conversion', () => {
  let dir: string;
  before(async () => {
    await selectBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'rnnstream-keras-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('Embedding + LSTM + Dense(sigmoid) predicts as TF.js does', async () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: VOCAB, outputDim: 5, batchInputShape: [null, null] }));
    model.add(tf.layers.lstm({ units: 6, recurrentActivation: 'sigmoid', biasInitializer: 'randomNormal' }));
    model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', biasInitializer: 'randomNormal' }));
    const path = await saveLayersModel(model, await mkdtemp(join(dir, 'lstm-')));
    const { converted, ours, theirs } = await compare(path, model, tokenRows(1, 4, 9));
    assert.deepEqual(converted.config, {
      cell: 'lstm',
      inputSize: 5,
      hiddenSize: 6,
      numLayers: 1,
      bias: true,
    });
    assert.ok(theirs);
    for (const [i, p] of ours.entries()) {
      assert.ok(Math.abs(p[0] - theirs[i][0]) < TOLERANCE, `row ${i}: ${p} vs ${theirs[i]}`);
    }
    model.dispose();
  });

  it('Embedding + stacked SimpleRNN + Dense(softmax) predicts as TF.js does', async () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: VOCAB, outputDim: 4, batchInputShape: [null, null] }));
    model.add(tf.layers.simpleRNN({ units: 5, returnSequences: true, biasInitializer: 'randomNormal' }));
    model.add(tf.layers.dropout({ rate: 0.5 }));
    model.add(tf.layers.simpleRNN({ units: 5, biasInitializer: 'randomNormal' }));
    model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    const path = await saveLayersModel(model, await mkdtemp(join(dir, 'rnn-')));
    const { converted, ours, theirs } = await compare(path, model, tokenRows(2, 3, 12));
    assert.equal(converted.config.numLayers, 2);
    assert.ok(theirs);
    for (const [i, p] of ours.entries()) {
      for (const [c, v] of p.entries())
        assert.ok(Math.abs(v - theirs[i][c]) < TOLERANCE, `row ${i} class ${c}`);
    }
    model.dispose();
  });

  it('refuses TF.js GRU (reset_after=false) and LSTM with hard_sigmoid, saying why', async () => {
    const gru = tf.sequential();
    gru.add(tf.layers.embedding({ inputDim: VOCAB, outputDim: 4, batchInputShape: [null, null] }));
    gru.add(tf.layers.gru({ units: 3, recurrentActivation: 'sigmoid' }));
    gru.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    const gruPath = await saveLayersModel(gru, await mkdtemp(join(dir, 'gru-v1-')));
    await assert.rejects(
      readLayersModel(gruPath),
      (e: Error) => e instanceof ModelFormatError && /reset_after/.test(e.message),
    );
    const lstm = tf.sequential();
    lstm.add(tf.layers.embedding({ inputDim: VOCAB, outputDim: 4, batchInputShape: [null, null] }));
    lstm.add(tf.layers.lstm({ units: 3 })); // TF.js' default recurrent activation is hardSigmoid
    lstm.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    const lstmPath = await saveLayersModel(lstm, await mkdtemp(join(dir, 'lstm-hard-')));
    await assert.rejects(readLayersModel(lstmPath), /recurrent_activation hard_?sigmoid/i);
    gru.dispose();
    lstm.dispose();
  });

  it('converts a Keras GRU (reset_after=True, gates z,r,h, bias [2, 3H]) to PyTorch r,z,n', async () => {
    // A model.json as the Python converter writes it, checked against Keras' GRU equations in float64.
    const E = 3;
    const H = 4;
    const random = rng(5);
    const weights = {
      embeddings: uniform(random, VOCAB * E, 1),
      kernel: uniform(random, E * 3 * H, 0.6),
      recurrent: uniform(random, H * 3 * H, 0.6),
      bias: uniform(random, 2 * 3 * H, 0.6),
      dense: uniform(random, H, 1),
      denseBias: uniform(random, 1, 1),
    };
    const specs = [
      { name: 'embedding/embeddings', shape: [VOCAB, E], dtype: 'float32' },
      { name: 'gru/gru_cell/kernel', shape: [E, 3 * H], dtype: 'float32' },
      { name: 'gru/gru_cell/recurrent_kernel', shape: [H, 3 * H], dtype: 'float32' },
      { name: 'gru/gru_cell/bias', shape: [2, 3 * H], dtype: 'float32' },
      { name: 'dense/kernel', shape: [H, 1], dtype: 'float32' },
      { name: 'dense/bias', shape: [1], dtype: 'float32' },
    ];
    const modelJson = {
      format: 'layers-model',
      modelTopology: {
        keras_version: '2.15.0',
        backend: 'tensorflow',
        model_config: {
          class_name: 'Sequential',
          config: {
            name: 'sequential',
            layers: [
              { class_name: 'InputLayer', config: { name: 'input_1', batch_input_shape: [null, null] } },
              { class_name: 'Embedding', config: { name: 'embedding', input_dim: VOCAB, output_dim: E } },
              {
                class_name: 'GRU',
                config: {
                  name: 'gru',
                  units: H,
                  activation: 'tanh',
                  recurrent_activation: 'sigmoid',
                  use_bias: true,
                  reset_after: true,
                  return_sequences: false,
                },
              },
              {
                class_name: 'Dense',
                config: { name: 'dense', units: 1, activation: 'sigmoid', use_bias: true },
              },
            ],
          },
        },
      },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }],
    };
    const all = Float32Array.from([
      ...weights.embeddings,
      ...weights.kernel,
      ...weights.recurrent,
      ...weights.bias,
      ...weights.dense,
      ...weights.denseBias,
    ]);
    const sub = await mkdtemp(join(dir, 'keras-gru-'));
    await writeFile(join(sub, 'model.json'), JSON.stringify(modelJson));
    await writeFile(join(sub, 'group1-shard1of1.bin'), new Uint8Array(all.buffer));

    const keras = (tokens: number[]): number => {
      let h = new Array(H).fill(0);
      const col = (m: Float32Array, width: number, v: number[], j: number) =>
        v.reduce((sum, x, i) => sum + x * m[i * width + j], 0);
      for (const id of tokens) {
        const x = Array.from(weights.embeddings.subarray(id * E, (id + 1) * E));
        const gate = (g: number, j: number) => ({
          x: col(weights.kernel, 3 * H, x, g * H + j) + weights.bias[g * H + j],
          h: col(weights.recurrent, 3 * H, h, g * H + j) + weights.bias[3 * H + g * H + j],
        });
        h = h.map((hj, j) => {
          const [z, r, c] = [gate(0, j), gate(1, j), gate(2, j)];
          const zt = 1 / (1 + Math.exp(-(z.x + z.h)));
          const rt = 1 / (1 + Math.exp(-(r.x + r.h)));
          const hh = Math.tanh(c.x + rt * c.h);
          return zt * hj + (1 - zt) * hh;
        });
      }
      const logit = h.reduce((sum, v, j) => sum + v * weights.dense[j], weights.denseBias[0]);
      return 1 / (1 + Math.exp(-logit));
    };
    const rows = tokenRows(3, 4, 10);
    const { converted, ours } = await compare(join(sub, 'model.json'), undefined, rows);
    assert.equal(converted.config.cell, 'gru');
    for (const [i, row] of rows.entries())
      assert.ok(Math.abs(ours[i][0] - keras(row)) < TOLERANCE, `row ${i}`);
  });

  it('rejects topologies it cannot run, naming the layer', () => {
    const topology = (layers: unknown[]) => ({
      modelTopology: { class_name: 'Sequential', config: { layers } },
      weightsManifest: [{ paths: [], weights: [] }],
    });
    const embedding = { class_name: 'Embedding', config: { name: 'e', input_dim: 2, output_dim: 2 } };
    const dense = { class_name: 'Dense', config: { name: 'd', units: 1, activation: 'sigmoid' } };
    assert.throws(
      () =>
        convertLayersModel(
          topology([embedding, { class_name: 'Conv1D', config: { name: 'c' } }, dense]),
          new Uint8Array(),
        ),
      /layer "c" is a Conv1D/,
    );
    assert.throws(
      () => convertLayersModel(topology([embedding, dense]), new Uint8Array()),
      /no recurrent layer/,
    );
    assert.throws(() => convertLayersModel({}, new Uint8Array()), /weightsManifest/);
  });
});
