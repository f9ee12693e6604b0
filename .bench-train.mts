import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { TrainableNetwork, packSorted } from './model/train/network.ts';
import { SeededRandom } from './model/train/random.ts';
const backend = process.argv[2]!; const H = Number(process.argv[3] ?? 128);
await tf.setBackend(backend); await tf.ready();
const V=6000,E=64,B=64;
for (const cell of ['gru','lstm','rnn'] as const) {
  const rnd = new SeededRandom(1);
  const net = new TrainableNetwork({cell, vocabSize:V, embed:E, hiddenSize:H, numLayers:1, outputs:1}, rnd);
  const seqs = Array.from({length:B},(_, i)=> Int32Array.from({length: 40 - Math.floor(i/3)}, (_, t)=> 2+((i*31+t*7)%(V-2)))).sort((a,b)=>b.length-a.length);
  const batch = packSorted(seqs);
  const ys = tf.tensor2d(Array.from({length:B},(_, i)=>i%2),[B,1]);
  const opt = tf.train.adam(1e-3);
  const step = () => tf.tidy(() => { const {value, grads} = tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(ys, net.logits(batch)) as tf.Scalar, net.variables()); opt.applyGradients(grads); return value.dataSync()[0]; });
  try { step(); const t0=performance.now(); for (let i=0;i<5;i++) step(); const dt=(performance.now()-t0)/5;
    console.log(backend, cell, 'H', H, 'train step ms', dt.toFixed(1), 'tokens/step', batch.ids.length, 'tensors', tf.memory().numTensors);
  } catch (e) { console.log(backend, cell, 'FAILED', (e as Error).message.slice(0,300)); }
  net.dispose();
}
