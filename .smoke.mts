import { train } from './model/train/train.ts';
const [cell, hidden, epochs, batchSize, lr, out] = process.argv.slice(2);
const r = await train({ data: ['data/cache/uci.jsonl','data/cache/pl-sentences.csv'], out: out ?? '/tmp/m-smoke', cell: cell as 'gru', hidden: Number(hidden), epochs: Number(epochs), batchSize: Number(batchSize), learningRate: Number(lr), progress: 'lines' });
console.log(JSON.stringify({cell, hidden, batchSize, lr, val: r.validation.accuracy, test: r.test.accuracy, best: r.bestEpoch, secs: r.trainSeconds, diff: r.servingDifference}));
