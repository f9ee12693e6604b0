import { benchmarkLexicons, readBenchmarkData } from './model/eval/benchmark.ts';
const t0 = performance.now();
const r = benchmarkLexicons(await readBenchmarkData());
for (const l of r) console.log(l.name, l.threshold, Object.entries(l.sets).map(([k, m]) => `${k} acc ${(100*m.accuracy).toFixed(1)} auc ${(100*m.auc).toFixed(1)} n ${m.n}`).join(' | '));
console.log('s', (performance.now()-t0)/1000);
