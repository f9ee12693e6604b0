import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ModelFormatError } from '../../../core/errors.js';
import { selectBackend } from '../../../model/backend.js';
import { canonicalJson } from '../../../model/fingerprint.js';
import { Head } from '../../../model/head.js';
import {
  createStreamingEngine,
  createWholeEncoder,
  loadModelPackage,
  MANIFEST_FILE,
  writeModelPackage,
} from '../../../model/modelPackage.js';
import type { TensorMap } from '../../../model/safetensors.js';
import type { RnnConfig } from '../../../model/types.js';
import { maxDiff, randomStateDict, referenceRun, rng, uniform } from './helpers.js';

const VOCAB = ['<pad>', '<unk>', 'good', 'bad', 'movie', '!', 'not'];

/** A state dict for a package: embedding, rnn.* (both directions when bidirectional), head. */
function packageTensors(config: RnnConfig, classes: number, bidirectional = false): TensorMap {
  const tensors = randomStateDict(config, 3, {
    prefix: 'rnn.',
    vocab: VOCAB.length,
    suffixes: bidirectional ? ['', '_reverse'] : [''],
  });
  const width = config.hiddenSize * (bidirectional ? 2 : 1);
  const random = rng(8);
  tensors.set('head.weight', { shape: [classes, width], data: uniform(random, classes * width, 1) });
  tensors.set('head.bias', { shape: [classes], data: uniform(random, classes, 1) });
  return tensors;
}

describe('model packages', () => {
  let dir: string;
  before(async () => {
    await selectBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'rnnstream-pkg-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes and loads a safetensors package; streaming and whole encoding agree', async () => {
    const config: RnnConfig = { cell: 'gru', inputSize: 4, hiddenSize: 5, numLayers: 2, bias: true };
    const pkgDir = join(dir, 'gru');
    const written = await writeModelPackage(pkgDir, {
      name: 'tiny-gru',
      config,
      tensors: packageTensors(config, 1),
      vocab: VOCAB,
      head: { kind: 'sigmoid', labels: ['negative', 'positive'] },
      tokenizer: { maxTokens: 16 },
    });
    const model = await loadModelPackage(pkgDir);
    assert.equal(model.fingerprint, written.fingerprint);
    assert.match(model.fingerprint, /^[0-9a-f]{16}$/);
    assert.equal(model.id, `tiny-gru@${model.fingerprint}`);
    assert.deepEqual(model.config, config);
    assert.equal(model.bidirectional, false);
    assert.equal(model.tokenizer.options.maxTokens, 16);

    const engine = createStreamingEngine(model);
    const encoder = createWholeEncoder(model);
    try {
      const first = await engine.step([{ tokens: model.tokenizer.encode('Good movie') }]);
      const second = await engine.step([{ tokens: model.tokenizer.encode('!'), state: first[0].state }]);
      const [whole] = await encoder.encodeWhole(['good MOVIE!']);
      assert.ok(maxDiff(second[0].last, whole) < 1e-5);
      const [prediction] = model.head.predict([whole]);
      assert.ok(['negative', 'positive'].includes(prediction.label));
      assert.ok(Math.abs(prediction.probs[0] + prediction.probs[1] - 1) < 1e-12);
    } finally {
      engine.dispose();
      encoder.dispose();
    }

    // The fingerprint covers the vocabulary (and the weights, network and head).
    const copy = join(dir, 'gru-copy');
    await cp(pkgDir, copy, { recursive: true });
    assert.equal((await loadModelPackage(copy)).fingerprint, model.fingerprint);
    // …and the tokenizer's splitting rules when they are not the original `words`.
    const manifest = JSON.parse(await readFile(join(copy, MANIFEST_FILE), 'utf8'));
    assert.equal(manifest.tokenizer.split, 'words');
    manifest.tokenizer.split = 'social';
    await writeFile(join(copy, MANIFEST_FILE), JSON.stringify(manifest));
    const social = await loadModelPackage(copy);
    assert.notEqual(social.fingerprint, model.fingerprint);
    assert.deepEqual(social.tokenizer.tokenize('Sooo good :)'), ['soo', 'good', ':)']);
    await writeFile(join(copy, 'vocab.json'), JSON.stringify([...VOCAB.slice(0, -1), 'never']));
    assert.notEqual((await loadModelPackage(copy)).fingerprint, social.fingerprint);
  });

  it('refuses paths that leave the folder (.., absolute, symlink) and invalid manifests', async () => {
    const config: RnnConfig = { cell: 'rnn', inputSize: 3, hiddenSize: 3, numLayers: 1, bias: false };
    const pkgDir = join(dir, 'escape');
    await writeModelPackage(pkgDir, {
      name: 'escape',
      config,
      tensors: packageTensors(config, 1),
      vocab: VOCAB,
      head: { kind: 'sigmoid', labels: ['negative', 'positive'] },
    });
    const manifest = JSON.parse(await readFile(join(pkgDir, MANIFEST_FILE), 'utf8'));
    const withManifest = async (change: (m: typeof manifest) => void) => {
      const m = structuredClone(manifest);
      change(m);
      await writeFile(join(pkgDir, MANIFEST_FILE), JSON.stringify(m));
    };
    await cp(join(pkgDir, 'weights.safetensors'), join(dir, 'outside.safetensors'));

    await withManifest((m) => {
      m.weights.path = '../outside.safetensors';
    });
    await assert.rejects(
      loadModelPackage(pkgDir),
      (e: Error) => e instanceof ModelFormatError && /weights\.path/.test(e.message),
    );
    await withManifest((m) => {
      m.tokenizer.vocab = join(pkgDir, 'vocab.json');
    });
    await assert.rejects(loadModelPackage(pkgDir), /tokenizer\.vocab: must be a relative path/);
    await symlink(join(dir, 'outside.safetensors'), join(pkgDir, 'linked.safetensors'));
    await withManifest((m) => {
      m.weights.path = 'linked.safetensors';
    });
    await assert.rejects(
      loadModelPackage(pkgDir),
      (e: Error) => e instanceof ConfigError && /leaves the package folder/.test(e.message),
    );
    await withManifest((m) => {
      m.network.cell = 'transformer';
    });
    await assert.rejects(loadModelPackage(pkgDir), /network\.cell/);
    await withManifest((m) => {
      m.network.hiddenSize = 4;
    });
    await assert.rejects(
      loadModelPackage(pkgDir),
      /"rnn\.weight_ih_l0" has shape \[3, 3\], expected \[4, 3\]/,
    );
    await withManifest(() => {});
    assert.equal((await loadModelPackage(pkgDir)).name, 'escape');
  });

  for (const backend of ['wasm', 'onnxruntime'] as const)
    it(`refuses a bidirectional model for streaming and encodes whole texts in both directions (${backend})`, async () => {
      await selectBackend(backend);
      const config: RnnConfig = { cell: 'lstm', inputSize: 4, hiddenSize: 3, numLayers: 2, bias: true };
      const tensors = packageTensors(config, 3, true);
      const model = await writeModelPackage(join(dir, `bi-${backend}`), {
        name: 'bi-lstm',
        config,
        bidirectional: true,
        tensors,
        vocab: VOCAB,
        head: { kind: 'softmax', labels: ['neg', 'neu', 'pos'] },
      });
      assert.equal(model.bidirectional, true);
      assert.throws(
        () => createStreamingEngine(model),
        (e: Error) => e instanceof ConfigError && /bidirectional/.test(e.message),
      );

      const encoder = createWholeEncoder(model);
      try {
        const texts = ['good movie !', 'not good', 'bad'];
        const embeddings = await encoder.encodeWhole(texts);
        assert.equal(encoder.width, 6);
        texts.forEach((text, i) => {
          // Reference: per layer, forward over the sequence and backward over its reverse, concatenated.
          const embed = tensors.get('embedding.weight') as { data: Float32Array };
          let inputs = Array.from(model.tokenizer.encode(text), (id) =>
            Array.from(embed.data.subarray(id * 4, id * 4 + 4)),
          );
          let final: number[] = [];
          for (let l = 0; l < 2; l++) {
            const layer = (w: typeof model.weights) => ({ layers: [w.layers[l]] });
            const cfg = { ...config, numLayers: 1, inputSize: l === 0 ? 4 : 6 };
            const fwd = referenceRun(cfg, layer(model.weights), inputs);
            const bwd = referenceRun(
              cfg,
              layer(model.backwardWeights as typeof model.weights),
              [...inputs].reverse(),
            );
            const bwdOutputs = [...bwd.outputs].reverse();
            inputs = fwd.outputs.map((o, t) => [...o, ...bwdOutputs[t]]);
            final = [...fwd.state.h[0], ...bwd.state.h[0]];
          }
          assert.ok(maxDiff(embeddings[i], final) < 1e-5, `text ${i}`);
        });
        const predictions = model.head.predict(embeddings);
        assert.equal(predictions.length, 3);
      } finally {
        encoder.dispose();
        await selectBackend('wasm');
      }
    });

  it('loads a TF.js LayersModel package (Bidirectional LSTM) that predicts as TF.js does', async () => {
    const pkgDir = join(dir, 'layers');
    await mkdir(join(pkgDir, 'tfjs'), { recursive: true });
    const keras = tf.sequential();
    keras.add(tf.layers.embedding({ inputDim: VOCAB.length, outputDim: 4, batchInputShape: [null, null] }));
    keras.add(
      tf.layers.bidirectional({
        layer: tf.layers.lstm({ units: 3, recurrentActivation: 'sigmoid' }) as tf.RNN,
      }),
    );
    keras.add(tf.layers.dense({ units: 1, activation: 'sigmoid', biasInitializer: 'randomNormal' }));
    await keras.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const modelJson = {
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        };
        await writeFile(join(pkgDir, 'tfjs', 'model.json'), JSON.stringify(modelJson));
        await writeFile(
          join(pkgDir, 'tfjs', 'weights.bin'),
          new Uint8Array(artifacts.weightData as ArrayBuffer),
        );
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const manifest = {
      format: 'rnnstream-model',
      version: 1,
      name: 'keras-bilstm',
      network: { cell: 'lstm', embed: 4, hiddenSize: 3, numLayers: 1, bias: true, bidirectional: true },
      weights: { format: 'layers', path: 'tfjs/model.json' },
      tokenizer: { vocab: 'vocab.json' },
      head: { kind: 'sigmoid', labels: ['negative', 'positive'] },
    };
    await writeFile(join(pkgDir, MANIFEST_FILE), JSON.stringify(manifest));
    await writeFile(join(pkgDir, 'vocab.json'), JSON.stringify(VOCAB));
    const model = await loadModelPackage(pkgDir);
    const encoder = createWholeEncoder(model);
    try {
      const texts = ['good movie !', 'not bad movie'];
      const ours = model.head.predict(await encoder.encodeWhole(texts));
      for (const [i, text] of texts.entries()) {
        const ids = Array.from(model.tokenizer.encode(text));
        const input = tf.tensor2d([ids], [1, ids.length]);
        const output = keras.predict(input) as tf.Tensor;
        const [[theirs]] = (await output.array()) as number[][];
        tf.dispose([input, output]);
        assert.ok(Math.abs(ours[i].probs[1] - theirs) < 1e-5, `${ours[i].probs[1]} vs ${theirs}`);
      }
    } finally {
      encoder.dispose();
      keras.dispose();
    }
    // The manifest must describe the LayersModel it points to.
    await writeFile(
      join(pkgDir, MANIFEST_FILE),
      JSON.stringify({ ...manifest, network: { ...manifest.network, hiddenSize: 4 } }),
    );
    await assert.rejects(loadModelPackage(pkgDir), /LayersModel is .*but rnnstream.json network says/);
  });
});

describe('head', () => {
  it('sigmoid: one logit → [negative, positive], score is the chosen label probability', () => {
    const head = new Head(
      { kind: 'sigmoid', labels: ['negative', 'positive'] },
      { shape: [1, 2], data: Float32Array.of(1, -1) },
      { shape: [1], data: Float32Array.of(0.5) },
    );
    const [pos, neg] = head.predict([Float32Array.of(2, 0), Float32Array.of(0, 3)]);
    const p = 1 / (1 + Math.exp(-2.5));
    assert.deepEqual(pos, { label: 'positive', score: p, probs: [1 - p, p] });
    assert.equal(neg.label, 'negative');
    assert.ok(Math.abs(neg.score - (1 - 1 / (1 + Math.exp(2.5)))) < 1e-12);
  });

  it('softmax over labels, and shape errors name the tensor', () => {
    const head = new Head(
      { kind: 'softmax', labels: ['a', 'b', 'c'] },
      { shape: [3, 1], data: Float32Array.of(1, 2, 3) },
    );
    const [prediction] = head.predict([Float32Array.of(1)]);
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    assert.equal(prediction.label, 'c');
    assert.ok(Math.abs(prediction.score - Math.exp(3) / z) < 1e-12);
    assert.throws(
      () => new Head({ kind: 'softmax', labels: ['a', 'b'] }, { shape: [3, 1], data: new Float32Array(3) }),
      /"head.weight" has shape \[3, 1\], expected \[2, hidden\]/,
    );
    assert.throws(() => head.predict([Float32Array.of(1, 2)]), /expects a hidden state of 1/);
  });

  it('canonical JSON sorts keys at every level', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } }),
      '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}',
    );
  });
});
