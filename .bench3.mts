import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { TrainableNetwork, packSorted } from './model/train/network.ts';
import { SeededRandom } from './model/train/random.ts';
const backend = process.argv[2]!; const H = Number(process.argv[3] ?? 64); const cell = (process.argv[4] ?? 'gru') as 'gru';
await tf.setBackend(backend); await tf.ready();
const V=6000,E=64,B=64;
const net = new TrainableNetwork({cell, vocabSize:V, embed:E, hiddenSize:H, numLayers:1, outputs:1}, new SeededRandom(1));
const seqs = Array.from({length:B},(_, i)=> Int32Array.from({length: 20}, (_, t)=> 2+((i*31+t*7)%(V-2))));
const batch = packSorted(seqs);
const ys = tf.tensor2d(Array.from({length:B},(_, i)=>i%2),[B,1]);
const opt = tf.train.adam(1e-3);
const step = () => tf.tidy(() => { const {value, grads} = tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(ys, net.logits(batch)) as tf.Scalar, net.variables()); opt.applyGradients(grads); value.dataSync() });
step();
let t0=performance.now(); for (let k=0;k<5;k++) step(); console.log(backend, cell, H, 'step ms', ((performance.now()-t0)/5).toFixed(1));
if (process.argv[5]) { const prof = await tf.profile(() => { step(); }); const agg: Record<string, number> = {}; for (const k of prof.kernels) agg[k.name] = (agg[k.name]??0) + (k.kernelTimeMs as number); console.log(Object.entries(agg).sort((a,b)=>b[1]-a[1]).slice(0,12)); }
