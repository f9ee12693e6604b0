import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../model/backend.js';
import { rnnWeightsFromStateDict } from '../../../model/cells.js';
import { createEngine, type EngineOptions } from '../../../model/engine.js';
import { randomStateDict, rng } from './helpers.js';

const backend = (process.argv[2] ?? 'wasm') as 'wasm';
const cell = (process.argv[3] ?? 'gru') as 'gru';
await selectBackend(backend);
const config = { cell, inputSize: 128, hiddenSize: 256, numLayers: Number(process.argv[4] ?? 1), bias: true };
const weights = rnnWeightsFromStateDict(randomStateDict(config, 1, { vocab: 20000 }), config, {
  embedding: 'embedding.weight',
});
const r = rng(2);
const B = 256,
  T = 32;
const rows = Array.from({ length: B }, () => ({
  tokens: Int32Array.from({ length: T }, () => Math.floor(r() * 20000)),
}));
const variants: [string, EngineOptions][] = [
  ['auto', {}],
  ['tanh exact', { tanh: 'exact' }],
  ['device feed', { inputFeed: 'device' }],
];
for (const [name, opts] of variants) {
  const engine = createEngine(weights, config, opts);
  await engine.step(rows);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await engine.step(rows);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(
    `${backend} ${cell} L${config.numLayers} ${name}: ${(((B * T) / best) * 1000).toFixed(0)} tokens/s (best ${best.toFixed(0)} ms per call of ${B}x${T})`,
  );
  engine.dispose();
}
