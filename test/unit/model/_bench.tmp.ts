import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../model/backend.js';
import { rnnWeightsFromStateDict } from '../../../model/cells.js';
import { createEngine } from '../../../model/engine.js';
import { randomStateDict, rng } from './helpers.js';
const backend = (process.argv[2] ?? 'wasm') as 'wasm';
const cell = (process.argv[3] ?? 'gru') as 'gru';
console.log(await selectBackend(backend));
const config = { cell, inputSize: 128, hiddenSize: 256, numLayers: 1, bias: true };
const weights = rnnWeightsFromStateDict(randomStateDict(config, 1, { vocab: 20000 }), config, { embedding: 'embedding.weight' });
let t0 = performance.now();
const engine = createEngine(weights, config);
console.log('build ms', (performance.now() - t0).toFixed(0));
const r = rng(2);
const B = 256, T = 32;
const rows = Array.from({ length: B }, () => ({ tokens: Int32Array.from({ length: T }, () => Math.floor(r() * 20000)) }));
let states = rows.map(() => null as any);
for (let i = 0; i < 3; i++) await engine.step(rows);
const iters = 10;
t0 = performance.now();
for (let i = 0; i < iters; i++) {
  const res = await engine.step(rows.map((row, j) => ({ ...row, state: states[j] })));
  states = res.map((x) => x.state);
}
const dt = (performance.now() - t0) / 1000;
console.log(`${backend} ${cell}: ${(iters * B * T / dt).toFixed(0)} tokens/s, ${(dt / iters * 1000).toFixed(1)} ms per call`);
// ragged
const rag = Array.from({ length: B }, () => ({ tokens: Int32Array.from({ length: 1 + Math.floor(r() * 32) }, () => Math.floor(r() * 20000)) }));
const ntok = rag.reduce((a, x) => a + x.tokens.length, 0);
t0 = performance.now();
for (let i = 0; i < iters; i++) await engine.step(rag);
const dt2 = (performance.now() - t0) / 1000;
console.log(`ragged: ${(iters * ntok / dt2).toFixed(0)} tokens/s`);
console.log(tf.memory().numTensors);
