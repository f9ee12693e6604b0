import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { TrainableNetwork, packSorted } from './model/train/network.ts';
import { SeededRandom } from './model/train/random.ts';
await tf.setBackend('wasm'); await tf.ready();
const rnd = new SeededRandom(1);
const net = new TrainableNetwork({cell:'gru', vocabSize:6000, embed:64, hiddenSize:64, numLayers:1, outputs:1}, rnd);
const seqs = Array.from({length:64},(_, i)=> Int32Array.from({length: 30 - Math.floor(i/3)}, (_, t)=> 2+((i*31+t*7)%5990)));
const batch = packSorted(seqs);
const ys = tf.tensor2d(Array.from({length:64},(_, i)=>i%2),[64,1]);
const opt = tf.train.adam(1e-3);
for (let k=0;k<6;k++) { tf.tidy(() => { const {value, grads} = tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(ys, net.logits(batch, {embed:0.2, output:0.3, random: rnd})) as tf.Scalar, net.variables()); opt.applyGradients(grads); value.dataSync() }); console.log(tf.memory().numTensors, tf.memory().numBytes); }
