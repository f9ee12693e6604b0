/**
 * Incremental = one-shot: random token sequences, cut at random points, fed in interleaved batches
 * (several keys per call, several chunks of a key coalesced into one row with marks) give the same
 * states and marked outputs as each sequence fed whole.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { RnnState } from '../../../core/contracts.js';
import { selectBackend } from '../../../model/backend.js';
import { rnnWeightsFromStateDict } from '../../../model/cells.js';
import { createStepEngine } from '../../../model/stepEngine.js';
import type { RnnConfig, StepRow } from '../../../model/types.js';
import { maxDiff, randomStateDict, rng } from './helpers.js';

const VOCAB = 25;
const TOLERANCE = 1e-5;
const CONFIGS: RnnConfig[] = [
  { cell: 'lstm', inputSize: 4, hiddenSize: 6, numLayers: 2, bias: true },
  { cell: 'gru', inputSize: 5, hiddenSize: 4, numLayers: 2, bias: false },
];

const keyArbitrary = fc.record({
  tokens: fc.array(fc.integer({ min: 0, max: VOCAB - 1 }), { maxLength: 24 }),
  cuts: fc.array(fc.integer({ min: 0, max: 24 }), { maxLength: 6 }),
});

for (const backend of ['onnxruntime', 'wasm', 'cpu'] as const) {
  describe(`incremental equals whole on ${backend}`, () => {
    for (const config of CONFIGS) {
      it(`${config.cell} ${config.numLayers}x${config.hiddenSize}`, async () => {
        await selectBackend(backend);
        const weights = rnnWeightsFromStateDict(randomStateDict(config, 17, { vocab: VOCAB }), config, {
          embedding: 'embedding.weight',
        });
        const engine = createStepEngine(weights, config);
        try {
          await fc.assert(
            fc.asyncProperty(
              fc.array(keyArbitrary, { minLength: 1, maxLength: 5 }),
              fc.integer(),
              async (keys, seed) => {
                // Chunk boundaries of each key (0 < cut < length, sorted, unique), ends included.
                const plans = keys.map(({ tokens, cuts }) => {
                  const inner = [...new Set(cuts.filter((c) => c > 0 && c < tokens.length))].sort(
                    (a, b) => a - b,
                  );
                  return { tokens: Int32Array.from(tokens), bounds: [0, ...inner, tokens.length] };
                });
                // Whole: one row per key, marks at every chunk boundary.
                const whole = await engine.step(
                  plans.map((p) => ({ tokens: p.tokens, marks: p.bounds.slice(1) })),
                );
                // Incremental: each call takes 1..3 next chunks of a random subset of keys.
                const random = rng(seed);
                const states: (RnnState | null)[] = plans.map(() => null);
                const marked: Float32Array[][] = plans.map(() => []);
                const next = plans.map(() => 0);
                while (next.some((n, k) => n < plans[k].bounds.length - 1)) {
                  const rows: StepRow[] = [];
                  const owners: number[] = [];
                  plans.forEach((plan, k) => {
                    const left = plan.bounds.length - 1 - next[k];
                    if (left === 0 || random() < 0.3) return;
                    const take = 1 + Math.floor(random() * Math.min(3, left));
                    const from = plan.bounds[next[k]];
                    const ends = plan.bounds.slice(next[k] + 1, next[k] + 1 + take);
                    rows.push({
                      tokens: plan.tokens.slice(from, ends[ends.length - 1]),
                      state: states[k],
                      marks: ends.map((e) => e - from),
                    });
                    owners.push(k);
                    next[k] += take;
                  });
                  const results = await engine.step(rows);
                  results.forEach((result, i) => {
                    states[owners[i]] = result.state;
                    marked[owners[i]].push(...result.marked);
                  });
                }
                plans.forEach((plan, k) => {
                  const expected = whole[k];
                  const state = states[k] ?? { h: new Float32Array(config.numLayers * config.hiddenSize) };
                  assert.ok(maxDiff(state.h, expected.state.h) <= TOLERANCE, `h of key ${k}`);
                  if (config.cell === 'lstm' && plan.tokens.length > 0) {
                    assert.ok(maxDiff(state.c ?? [], expected.state.c ?? []) <= TOLERANCE, `c of key ${k}`);
                  }
                  assert.equal(marked[k].length, expected.marked.length);
                  marked[k].forEach((m, i) => {
                    assert.ok(maxDiff(m, expected.marked[i]) <= TOLERANCE, `mark ${i} of key ${k}`);
                  });
                  assert.ok(maxDiff(expected.marked[expected.marked.length - 1], expected.last) === 0);
                });
              },
            ),
            { numRuns: 40, seed: 20240601 },
          );
        } finally {
          engine.dispose();
        }
      });
    }
  });
}
