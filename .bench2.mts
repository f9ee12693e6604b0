import * as tf from '@tensorflow/tfjs';
import { TrainableNetwork, packSorted } from './model/train/network.ts';
import { SeededRandom } from './model/train/random.ts';
await tf.setBackend('cpu'); await tf.ready();
const V=6000,E=64,B=64,H=64;
const net = new TrainableNetwork({cell:'gru', vocabSize:V, embed:E, hiddenSize:H, numLayers:1, outputs:1}, new SeededRandom(1));
console.log('init');
const seqs = Array.from({length:B},(_, i)=> Int32Array.from({length: 20}, (_, t)=> 2+((i*31+t*7)%(V-2))));
const batch = packSorted(seqs);
let t0=performance.now(); tf.tidy(()=> net.logits(batch).dataSync()); console.log('fwd', performance.now()-t0);
const ys = tf.tensor2d(Array.from({length:B},(_, i)=>i%2),[B,1]);
t0=performance.now(); tf.tidy(() => { const {value, grads} = tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(ys, net.logits(batch)) as tf.Scalar, net.variables()); for (const g of Object.values(grads)) g.dataSync(); }); console.log('grad', performance.now()-t0);
const opt = tf.train.adam(1e-3);
for (let k=0;k<3;k++) {t0=performance.now(); tf.tidy(() => { const {value, grads} = tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(ys, net.logits(batch)) as tf.Scalar, net.variables()); opt.applyGradients(grads); value.dataSync() }); console.log("step", performance.now()-t0);}
