/**
 * Serving cost per token of model packages, side by side: the streaming engine (the code `run` uses)
 * steps batches of real texts, tokenized by each package's own tokenizer, and the median time per token
 * over interleaved repeats is reported (interleaving keeps a shared machine's load from favouring one).
 *   node --import tsx model/eval/servingCost.ts --backend wasm --texts data/cache/pl-reviews.csv DIR…
 */
import { parseArgs } from 'node:util';
import { type BackendName, selectBackend } from '../backend.js';
import { readLabelledFile } from '../data/readers.js';
import { createStreamingEngine, loadModelPackage } from '../modelPackage.js';

/** Options of {@link measureServingCost}. */
export interface ServingCostOptions {
  /** Rows per engine call. @default 256 */
  rows?: number;
  /** Tokens per row per call (texts cut to this length). @default 32 */
  tokens?: number;
  /** Engine calls per timing. @default 8 */
  calls?: number;
  /** Interleaved timings per package; the median is reported. @default 5 */
  repeats?: number;
}

/** One package's cost. */
export interface ServingCost {
  model: string;
  /** Median microseconds per token (one token of one row through embedding and cell). */
  microsecondsPerToken: number;
  /** Every timing, µs per token. */
  timings: number[];
}

/**
 * Times the packages in `dirs` on `texts` (each package tokenizes them itself).
 * @example const [old, next] = await measureServingCost(['old', 'models/sentiment'], texts);
 */
export async function measureServingCost(
  dirs: readonly string[],
  texts: readonly string[],
  options: ServingCostOptions = {},
): Promise<ServingCost[]> {
  const { rows = 256, tokens = 32, calls = 8, repeats = 5 } = options;
  const setups = await Promise.all(
    dirs.map(async (dir) => {
      const model = await loadModelPackage(dir);
      const engine = createStreamingEngine(model);
      const batches = Array.from({ length: calls }, (_, c) =>
        Array.from({ length: rows }, (_, r) => {
          const text = texts[(c * rows + r) % texts.length];
          const ids = model.tokenizer.encodeTokens(model.tokenizer.tokenize(text));
          return { tokens: ids.subarray(0, tokens) };
        }),
      );
      return { model, engine, batches, timings: [] as number[] };
    }),
  );
  try {
    for (const s of setups) await s.engine.step(s.batches[0]); // warm-up (tables, kernels)
    for (let r = 0; r < repeats; r++) {
      for (const s of setups) {
        const count = s.batches.reduce((n, b) => n + b.reduce((m, row) => m + row.tokens.length, 0), 0);
        const t0 = performance.now();
        for (const batch of s.batches) await s.engine.step(batch);
        s.timings.push(((performance.now() - t0) * 1000) / count);
      }
    }
  } finally {
    for (const s of setups) s.engine.dispose();
  }
  return setups.map((s) => {
    const sorted = [...s.timings].sort((a, b) => a - b);
    return {
      model: s.model.id,
      microsecondsPerToken: sorted[Math.floor(sorted.length / 2)],
      timings: s.timings,
    };
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      backend: { type: 'string', default: 'wasm' },
      texts: { type: 'string', default: 'data/cache/pl-reviews.csv' },
      repeats: { type: 'string', default: '5' },
    },
  });
  await selectBackend(values.backend as BackendName);
  const texts = (await readLabelledFile(values.texts as string)).map((r) => r.text);
  const costs = await measureServingCost(positionals, texts, { repeats: Number(values.repeats) });
  for (const c of costs)
    console.log(`${c.model}: ${c.microsecondsPerToken.toFixed(3)} µs/token (median of ${c.timings.length})`);
  console.log(JSON.stringify(costs));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
