import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../model/backend.js';
import { rnnWeightsFromStateDict } from '../../../model/cells.js';
import { createEngine } from '../../../model/engine.js';
import { randomStateDict, rng } from './helpers.js';

await selectBackend((process.argv[2] ?? 'wasm') as 'wasm');
const cell = (process.argv[3] ?? 'gru') as 'gru';
const config = { cell, inputSize: 128, hiddenSize: 256, numLayers: 1, bias: true };
const weights = rnnWeightsFromStateDict(randomStateDict(config, 1, { vocab: 20000 }), config, {
  embedding: 'embedding.weight',
});
const engine = createEngine(weights, config);
const r = rng(2);
const rows = Array.from({ length: 256 }, () => ({
  tokens: Int32Array.from({ length: 32 }, () => Math.floor(r() * 20000)),
}));
await engine.step(rows);
const info = await tf.profile(async () => {
  await engine.step(rows);
});
const agg = new Map<string, [number, number]>();
for (const k of info.kernels) {
  const a = agg.get(k.name) ?? [0, 0];
  a[0] += Number(k.kernelTimeMs);
  a[1]++;
  agg.set(k.name, a);
}
console.log(
  [...agg]
    .sort((a, b) => b[1][0] - a[1][0])
    .map(([n, [t, c]]) => `${n}: ${t.toFixed(1)}ms x${c}`)
    .join('\n'),
);
