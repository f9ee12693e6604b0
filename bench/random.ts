/**
 * Seeded random data for the benchmarks: weights in PyTorch's layout and token rows. A fixed seed makes
 * two runs measure the same numbers flowing through the same shapes.
 */
import { CELL_GATES, type RnnWeights } from '../model/cells.js';
import type { HostTensor } from '../model/safetensors.js';
import type { RnnConfig } from '../model/types.js';
import { seededRandom } from '../model/verify.js';

export { seededRandom };

/** A host tensor filled uniformly in [-scale, scale). */
function uniform(shape: number[], scale: number, next: () => number): HostTensor {
  const data = new Float32Array(shape.reduce((n, d) => n * d, 1));
  for (let i = 0; i < data.length; i++) data[i] = (2 * next() - 1) * scale;
  return { shape, data };
}

/**
 * Random weights of a stacked token model, initialised as PyTorch does (uniform ±1/√H; embedding ±1),
 * so activations stay in the range real weights produce.
 * @example const weights = randomWeights({ cell: 'gru', inputSize: 128, hiddenSize: 256, numLayers: 1, bias: true }, 20000, 1);
 */
export function randomWeights(config: RnnConfig, vocab: number, seed: number): RnnWeights {
  const next = seededRandom(seed);
  const { cell, inputSize, hiddenSize: H, numLayers, bias } = config;
  const rows = CELL_GATES[cell] * H;
  const k = 1 / Math.sqrt(H);
  const layers = Array.from({ length: numLayers }, (_, l) => ({
    weightIh: uniform([rows, l === 0 ? inputSize : H], k, next),
    weightHh: uniform([rows, H], k, next),
    ...(bias ? { biasIh: uniform([rows], k, next), biasHh: uniform([rows], k, next) } : {}),
  }));
  return { layers, embedding: uniform([vocab, inputSize], 1, next) };
}

/**
 * `count` rows of `steps` random token ids in [0, vocab).
 * @example const rows = randomTokenRows(256, 32, 20000, 7);
 */
export function randomTokenRows(count: number, steps: number, vocab: number, seed: number): Int32Array[] {
  const next = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const row = new Int32Array(steps);
    for (let t = 0; t < steps; t++) row[t] = Math.floor(next() * vocab);
    return row;
  });
}

/**
 * Multiply-adds of one token through a stacked network, counted as 2 FLOPs each: per layer the recurrent
 * `h·W_hhᵀ` (2·G·H·H) plus the input projection (2·G·H·in), except layer 0 when it is a table lookup.
 * @example flopsPerToken({ cell: 'gru', inputSize: 128, hiddenSize: 256, numLayers: 1, bias: true }, true) // 393216
 */
export function flopsPerToken(config: RnnConfig, inputTable: boolean): number {
  const { cell, inputSize, hiddenSize: H, numLayers } = config;
  const width = CELL_GATES[cell] * H;
  let flops = 0;
  for (let l = 0; l < numLayers; l++) {
    flops += 2 * width * H;
    if (!(l === 0 && inputTable)) flops += 2 * width * (l === 0 ? inputSize : H);
  }
  return flops;
}
