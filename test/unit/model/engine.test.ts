import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { RnnState } from '../../../core/contracts.js';
import { selectBackend } from '../../../model/backend.js';
import { rnnWeightsFromStateDict } from '../../../model/cells.js';
import { createEngine } from '../../../model/engine.js';
import { writeSafetensors } from '../../../model/safetensors.js';
import { createStepEngine, type StepEngineOptions } from '../../../model/stepEngine.js';
import type { RnnConfig, StepRow } from '../../../model/types.js';
import { formatVerifyReport, verifyReferences } from '../../../model/verify.js';
import { GOLDEN_CASES, maxDiff, randomStateDict, referenceRun, rng, uniform } from './helpers.js';

const BACKENDS = ['onnxruntime', 'wasm', 'cpu'] as const;

/**
 * Engine variants per backend. TF.js: both ways of feeding the input projection (host slicing for
 * wasm/cpu, device gather/split for GPUs). ONNX Runtime: rows of different lengths in one padded run,
 * and every length in a run of its own.
 */
const VARIANTS: Record<(typeof BACKENDS)[number], StepEngineOptions[]> = {
  onnxruntime: [{ runCost: 1e9 }, { runCost: 0 }],
  wasm: [{ inputFeed: 'host' }, { inputFeed: 'device', tanh: 'exact' }],
  cpu: [{ inputFeed: 'host' }, { inputFeed: 'device', tanh: 'exact' }],
};

/** Deeper synthetic networks: depth, no bias, GRU's b_hn, non-zero initial states. */
const SYNTHETIC: RnnConfig[] = [
  { cell: 'lstm', inputSize: 5, hiddenSize: 7, numLayers: 3, bias: false },
  { cell: 'gru', inputSize: 4, hiddenSize: 6, numLayers: 2, bias: true },
  { cell: 'rnn', inputSize: 3, hiddenSize: 5, numLayers: 2, bias: true },
  { cell: 'gru', inputSize: 4, hiddenSize: 6, numLayers: 1, bias: false },
];

for (const backend of BACKENDS) {
  describe(`engine on ${backend}`, () => {
    before(async () => {
      await selectBackend(backend);
    });

    it('reproduces the PyTorch golden cases, whole and chunked', async () => {
      const result = await verifyReferences(GOLDEN_CASES, { seed: 7 });
      assert.equal(result.backend, backend);
      assert.equal(result.cases.length, 3);
      for (const c of result.cases) assert.ok(c.ok, formatVerifyReport(result));
      assert.ok(result.ok);
    });

    for (const [config, options] of SYNTHETIC.flatMap((c) => VARIANTS[backend].map((o) => [c, o] as const))) {
      const label = `${config.cell} ${config.numLayers}x${config.hiddenSize} bias=${config.bias} ${JSON.stringify(options)}`;
      it(`matches a float64 reference: ${label}, non-zero initial state, batched and chunked`, async () => {
        const random = rng(config.numLayers * 31 + config.hiddenSize);
        const weights = rnnWeightsFromStateDict(randomStateDict(config, 11), config);
        const engine = createStepEngine(weights, config, options);
        const { hiddenSize: H, numLayers: L, inputSize: I } = config;
        const lengths = [0, 1, 9, 4, 23, 9];
        const sequences = lengths.map((T) => {
          const inputs = Array.from({ length: T }, () => Array.from(uniform(random, I, 2)));
          const h = Array.from({ length: L }, () => Array.from(uniform(random, H, 0.9)));
          const c =
            config.cell === 'lstm'
              ? Array.from({ length: L }, () => Array.from(uniform(random, H, 2)))
              : undefined;
          return { inputs, initial: { h, c }, expected: referenceRun(config, weights, inputs, { h, c }) };
        });
        const stateOf = (s: (typeof sequences)[number]) => ({
          h: Float32Array.from(s.initial.h.flat()),
          c: s.initial.c ? Float32Array.from(s.initial.c.flat()) : undefined,
        });
        try {
          // Whole, in one batch.
          const whole = await engine.step(
            sequences.map((s) => ({
              inputs: Float32Array.from(s.inputs.flat()),
              state: stateOf(s),
              marks: s.inputs.length ? [0, 1, s.inputs.length] : [0],
            })),
            { returnOutputs: true },
          );
          sequences.forEach((s, i) => {
            const r = whole[i];
            assert.ok(maxDiff(r.state.h, s.expected.state.h.flat()) < 1e-5, `h of row ${i}`);
            if (s.expected.state.c) assert.ok(maxDiff(r.state.c ?? [], s.expected.state.c.flat()) < 1e-5);
            assert.ok(maxDiff(r.outputs ?? [], s.expected.outputs.flat()) < 1e-5, `outputs of row ${i}`);
            const lastH = s.inputs.length ? s.expected.outputs[s.inputs.length - 1] : s.initial.h[L - 1];
            assert.ok(maxDiff(r.last, lastH) < 1e-5, `last of row ${i}`);
            assert.ok(maxDiff(r.marked[0], s.initial.h[L - 1]) < 1e-6, 'mark 0 is the incoming h');
            if (s.inputs.length) assert.ok(maxDiff(r.marked[1], s.expected.outputs[0]) < 1e-5, 'mark 1');
            if (s.inputs.length) assert.ok(maxDiff(r.marked[2], lastH) < 1e-5, 'mark at the end');
          });
          // Chunked: chunks of 3 steps, the state carried between calls.
          const states: RnnState[] = sequences.map(stateOf);
          for (let from = 0; from < 23; from += 3) {
            const results = await engine.step(
              sequences.map((s, i) => ({
                inputs: Float32Array.from(s.inputs.slice(from, from + 3).flat()),
                state: states[i],
              })),
            );
            results.forEach((r, i) => {
              states[i] = { h: r.state.h, c: r.state.c };
            });
          }
          sequences.forEach((s, i) => {
            assert.ok(maxDiff(states[i].h, s.expected.state.h.flat()) < 1e-5, `chunked h of row ${i}`);
          });
        } finally {
          engine.dispose();
        }
      });
    }

    it('runs token rows through the embedding, with or without the precomputed table', async () => {
      const config: RnnConfig = { cell: 'gru', inputSize: 6, hiddenSize: 8, numLayers: 2, bias: true };
      const vocab = 40;
      const weights = rnnWeightsFromStateDict(randomStateDict(config, 5, { vocab }), config, {
        embedding: 'embedding.weight',
      });
      // TF.js: with the precomputed table (host and device feed) and without; ONNX Runtime: its Gather.
      const variants: StepEngineOptions[] =
        backend === 'onnxruntime'
          ? [{}]
          : [
              { inputTable: 'always' },
              { inputTable: 'never' },
              { inputTable: 'always', inputFeed: 'device' },
            ];
      const engines = variants.map((options) => createStepEngine(weights, config, options));
      const random = rng(3);
      const rows: StepRow[] = [5, 0, 12, 3].map((T) => ({
        tokens: Int32Array.from({ length: T }, () => Math.floor(random() * vocab)),
      }));
      try {
        const outcomes = await Promise.all(engines.map((engine) => engine.step(rows)));
        rows.forEach((row, i) => {
          const embed = weights.embedding as { data: Float32Array };
          const inputs = Array.from(row.tokens ?? [], (id) =>
            Array.from(embed.data.subarray(id * 6, id * 6 + 6)),
          );
          const expected = referenceRun(config, weights, inputs);
          outcomes.forEach((results, v) => {
            const label = `${JSON.stringify(variants[v])} row ${i}`;
            assert.ok(maxDiff(results[i].state.h, expected.state.h.flat()) < 1e-5, label);
          });
        });
        const engine = engines[0];
        await assert.rejects(engine.step([{ tokens: Int32Array.of(3, vocab) }]), /outside the vocabulary/);
        await assert.rejects(engine.step([{ inputs: new Float32Array(6) }]), /token ids/);
        await assert.rejects(engine.step([{ tokens: Int32Array.of(1, 2), marks: [2, 1] }]), /marks/);
        await assert.rejects(
          engine.step([{ tokens: Int32Array.of(1), state: { h: new Float32Array(3) } }]),
          /state h/,
        );
      } finally {
        for (const engine of engines) engine.dispose();
      }
    });

    it('leaks no tensor over 1000 step calls with random rows', {
      skip: backend === 'onnxruntime' && 'no TF.js tensors',
    }, async () => {
      const config: RnnConfig = { cell: 'lstm', inputSize: 4, hiddenSize: 5, numLayers: 2, bias: true };
      const weights = rnnWeightsFromStateDict(randomStateDict(config, 9, { vocab: 30 }), config, {
        embedding: 'embedding.weight',
      });
      const engine = createEngine(weights, config);
      const random = rng(99);
      const before = tf.memory().numTensors;
      try {
        for (let call = 0; call < 1000; call++) {
          const rows: StepRow[] = Array.from({ length: 1 + Math.floor(random() * 5) }, () => {
            const T = Math.floor(random() * 6);
            const marks =
              random() < 0.5 ? [0, Math.floor(random() * (T + 1))].sort((x, y) => x - y) : undefined;
            return { tokens: Int32Array.from({ length: T }, () => Math.floor(random() * 30)), marks };
          });
          await engine.step(rows, { returnOutputs: call % 3 === 0 });
        }
        assert.equal(tf.memory().numTensors, before);
      } finally {
        engine.dispose();
      }
      assert.ok(tf.memory().numTensors < before, 'dispose() releases the weights');
    });
  });
}

describe('verifyReferences', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rnnstream-verify-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('checks a generated deep case without bias, and fails a case whose expectations are off', async () => {
    const config: RnnConfig = { cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 3, bias: false };
    const tensors = randomStateDict(config, 21);
    const weights = rnnWeightsFromStateDict(tensors, config);
    const random = rng(4);
    const sequences = [40, 2].map((T) => {
      const inputs = Array.from({ length: T }, () => Array.from(uniform(random, 3, 1)));
      const h0 = Array.from({ length: 3 }, () => Array.from(uniform(random, 4, 0.5)));
      const c0 = Array.from({ length: 3 }, () => Array.from(uniform(random, 4, 0.5)));
      const run = referenceRun(config, weights, inputs, { h: h0, c: c0 });
      return { inputs, h0, c0, outputs: run.outputs, h_n: run.state.h, c_n: run.state.c };
    });
    const good = join(dir, 'lstm-3x4');
    await cp(GOLDEN_CASES[0], good, { recursive: true });
    await writeSafetensors(join(good, 'weights.safetensors'), tensors);
    const spec = {
      cell: 'lstm',
      input_size: 3,
      hidden_size: 4,
      num_layers: 3,
      bias: false,
      tolerance: 1e-5,
      sequences,
    };
    await writeFile(join(good, 'case.json'), JSON.stringify(spec));
    const bad = join(dir, 'lstm-3x4-bad');
    await cp(good, bad, { recursive: true });
    const badSpec = JSON.parse(await readFile(join(bad, 'case.json'), 'utf8'));
    badSpec.sequences[0].outputs[30][1] += 1e-3;
    await writeFile(join(bad, 'case.json'), JSON.stringify(badSpec));

    const result = await verifyReferences([good, bad], { backend: 'wasm', seed: 3 });
    assert.equal(result.cases[0].ok, true, formatVerifyReport(result));
    assert.equal(result.cases[1].ok, false);
    assert.ok(result.cases[1].maxError > 9e-4);
    assert.equal(result.ok, false);
    assert.match(formatVerifyReport(result), /FAIL\s+lstm 3x4/);
  });
});
