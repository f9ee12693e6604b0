import { verifyReferences, formatVerifyReport } from '../../../model/verify.js';
const dirs = ['gru-1x16','lstm-1x16','rnn-1x16'].map(d => '/work/shared/golden/'+d);
for (const b of ['wasm','cpu'] as const) {
  const r = await verifyReferences(dirs, { backend: b });
  process.stdout.write(formatVerifyReport(r));
}
