/**
 * The ONNX Runtime engine beside the TF.js one: how rows are grouped into runs, and a differential test
 * (random networks, random batches with states, marks and outputs) against the wasm engine. The golden
 * vectors and the float64 reference run on onnxruntime in engine.test.ts and incremental.property.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { activeRuntime, selectBackend } from '../../../model/backend.js';
import { rnnWeightsFromStateDict } from '../../../model/cells.js';
import { createEngine } from '../../../model/engine.js';
import { loadModelPackage } from '../../../model/modelPackage.js';
import { createOnnxEngine, planRuns } from '../../../model/onnxEngine.js';
import { createParallelEngine } from '../../../model/parallelEngine.js';
import type { RnnConfig, StepEngine, StepResult, StepRow } from '../../../model/types.js';
import { makeTinyModel, TINY_VOCAB } from '../../fixtures/tinyModel.js';
import { maxDiff, randomStateDict, rng, uniform } from './helpers.js';

/** The padded work plus run cost of a plan, as planRuns counts it. */
function planCost(lengths: number[], ends: number[], runCost: number): number {
  let start = 0;
  let cost = 0;
  for (const end of ends) {
    cost += runCost + (end - start) * lengths[start];
    start = end;
  }
  return cost;
}

describe('planRuns', () => {
  it('keeps rows of similar length together and splits a long row from many short ones', () => {
    assert.deepEqual(planRuns([], 10), []);
    assert.deepEqual(planRuns([5], 10), [1]);
    assert.deepEqual(planRuns([9, 9, 8, 8], 48), [4], 'near-equal lengths: one run');
    assert.deepEqual(planRuns([40, ...new Array(100).fill(2)], 48), [1, 101], 'one long row alone');
    assert.deepEqual(planRuns([3, 2, 1], 0), [1, 2, 3], 'free runs: one per length');
    assert.deepEqual(planRuns([3, 2, 1], 1e9), [3], 'costly runs: one');
  });

  it('covers every row in order, never splits equal lengths, and costs no more than one run or one per length', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: 500 }),
        (raw, runCost) => {
          const lengths = [...raw].sort((a, b) => b - a);
          const ends = planRuns(lengths, runCost);
          assert.equal(ends[ends.length - 1], lengths.length);
          for (let i = 0; i < ends.length; i++) {
            assert.ok(ends[i] > (i === 0 ? 0 : ends[i - 1]), 'ends increase');
            if (ends[i] < lengths.length) assert.notEqual(lengths[ends[i]], lengths[ends[i] - 1]);
          }
          const perLength = lengths.flatMap((l, i) =>
            i + 1 === lengths.length || lengths[i + 1] !== l ? [i + 1] : [],
          );
          const cost = planCost(lengths, ends, runCost);
          assert.ok(cost <= planCost(lengths, [lengths.length], runCost));
          assert.ok(cost <= planCost(lengths, perLength, runCost));
        },
      ),
      { numRuns: 300 },
    );
  });
});

const CONFIGS: RnnConfig[] = [
  { cell: 'gru', inputSize: 8, hiddenSize: 16, numLayers: 2, bias: true },
  { cell: 'lstm', inputSize: 6, hiddenSize: 12, numLayers: 3, bias: false },
  { cell: 'rnn', inputSize: 5, hiddenSize: 9, numLayers: 1, bias: true },
];
const VOCAB = 50;

/** Random token rows with random incoming states (or none) and random marks. */
function randomRows(config: RnnConfig, random: () => number, count: number): StepRow[] {
  const { hiddenSize: H, numLayers: L } = config;
  return Array.from({ length: count }, () => {
    const steps = Math.floor(random() * 20);
    const state =
      random() < 0.3
        ? null
        : {
            h: uniform(random, L * H, 0.9),
            c: config.cell === 'lstm' ? uniform(random, L * H, 2) : undefined,
          };
    const marks = Array.from({ length: Math.floor(random() * 4) }, () =>
      Math.floor(random() * (steps + 1)),
    ).sort((a, b) => a - b);
    return { tokens: Int32Array.from({ length: steps }, () => Math.floor(random() * VOCAB)), state, marks };
  });
}

/** Largest difference between two engines' results over every field. */
function resultsDiff(a: StepResult[], b: StepResult[]): number {
  let max = 0;
  a.forEach((r, i) => {
    const s = b[i];
    max = Math.max(max, maxDiff(r.state.h, s.state.h), maxDiff(r.last, s.last));
    if (r.state.c || s.state.c) max = Math.max(max, maxDiff(r.state.c ?? [], s.state.c ?? []));
    if (r.marked.length !== s.marked.length) max = Number.POSITIVE_INFINITY;
    r.marked.forEach((m, k) => {
      max = Math.max(max, maxDiff(m, s.marked[k]));
    });
    max = Math.max(max, maxDiff(r.outputs ?? [], s.outputs ?? []));
  });
  return max;
}

describe('onnxruntime agrees with wasm', () => {
  for (const config of CONFIGS) {
    it(`on random batches: ${config.cell} ${config.numLayers}x${config.hiddenSize} bias=${config.bias}`, async () => {
      const weights = rnnWeightsFromStateDict(randomStateDict(config, 23, { vocab: VOCAB }), config, {
        embedding: 'embedding.weight',
      });
      await selectBackend('onnxruntime');
      const runtime = activeRuntime();
      assert.equal(runtime.kind, 'onnxruntime');
      if (runtime.kind !== 'onnxruntime') return;
      const ort = createOnnxEngine(runtime.ort, weights, config);
      await ort.ready();
      await selectBackend('wasm');
      const wasm = createEngine(weights, config);
      const random = rng(config.hiddenSize);
      try {
        for (let batch = 0; batch < 20; batch++) {
          const rows = randomRows(config, random, 1 + Math.floor(random() * 40));
          const returnOutputs = batch % 2 === 0;
          const [a, b] = [await ort.step(rows, { returnOutputs }), await wasm.step(rows, { returnOutputs })];
          const diff = resultsDiff(a, b);
          assert.ok(diff < 1e-5, `batch ${batch}: max difference ${diff}`);
        }
      } finally {
        ort.dispose();
        wasm.dispose();
      }
    });
  }
});

describe('parallel engine on onnxruntime workers', () => {
  let single: StepEngine;
  let parallel: StepEngine;
  before(async () => {
    await selectBackend('onnxruntime');
    const pkg = await loadModelPackage(await makeTinyModel({ cell: 'gru', layers: 2 }));
    const runtime = activeRuntime();
    if (runtime.kind !== 'onnxruntime') throw new Error('onnxruntime did not load');
    single = createOnnxEngine(runtime.ort, pkg.weights, pkg.config);
    parallel = await createParallelEngine(pkg.weights, pkg.config, {
      workers: 2,
      minRowsToSplit: 2,
      backend: 'onnxruntime',
    });
  });
  after(() => {
    single.dispose();
    parallel.dispose();
  });

  it('returns what one engine returns, in the caller order', async () => {
    const random = rng(5);
    const rows: StepRow[] = Array.from({ length: 37 }, (_, i) => ({
      tokens: Int32Array.from({ length: 1 + Math.floor(random() * 12) }, () =>
        Math.floor(random() * TINY_VOCAB.length),
      ),
      marks: i % 3 === 0 ? [0, 1] : undefined,
    }));
    const diff = resultsDiff(await parallel.step(rows), await single.step(rows));
    assert.ok(diff < 1e-6, `max difference ${diff}`);
    await assert.rejects(
      parallel.step([{ tokens: Int32Array.of(9999) }, { tokens: Int32Array.of(1) }]),
      /vocabulary/,
    );
  });
});
