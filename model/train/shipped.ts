/**
 * `make model` (scripts/model.sh): trains the shipped default model `models/sentiment` with a fixed seed
 * from `make data`'s files, benchmarks it and the lexicon baselines, and writes `metrics.json` and the
 * model card. With `--compare` it also trains the three cells at the same size for the card's table.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BENCHMARK_SETS,
  benchmarkLexicons,
  benchmarkModel,
  type LexiconBenchmark,
  type ModelBenchmark,
  readBenchmarkData,
  SET_TITLES,
} from '../eval/benchmark.js';
import type { Metrics } from '../eval/metrics.js';
import type { CellKind } from '../types.js';
import { hyperParameterTable, pct } from './card.js';
import { type TrainOptions, type TrainResult, train } from './train.js';

/** The shipped model's settings (picked by validation accuracy on sentences; see the card). */
export const SHIPPED: Omit<TrainOptions, 'data' | 'out'> = {
  name: 'sentiment-gru',
  cell: 'gru',
  layers: 1,
  hidden: 128,
  embed: 64,
  seed: 42,
  epochs: 12,
  batchSize: 64,
  learningRate: 0.001,
};

/** One trained network's summary in metrics.json. */
interface RunSummary {
  cell: CellKind;
  validation: Metrics;
  trainSeconds: number;
  bestEpoch: number;
  benchmark: ModelBenchmark;
}

/** metrics.json of the shipped package. */
interface ShippedMetrics {
  shipped: RunSummary & {
    options: TrainResult['options'];
    vocabSize: number;
    backend: string;
    sizes: TrainResult['sizes'];
    history: TrainResult['history'];
    servingDifference: number;
  };
  lexicons: LexiconBenchmark[];
  /** The three cells at the shipped size (`--compare`). */
  cells?: RunSummary[];
}

const summary = (result: TrainResult, benchmark: ModelBenchmark): RunSummary => ({
  cell: result.options.cell,
  validation: result.validation,
  trainSeconds: result.trainSeconds,
  bestEpoch: result.bestEpoch,
  benchmark,
});

const accCells = (sets: Record<(typeof BENCHMARK_SETS)[number], Metrics>) =>
  BENCHMARK_SETS.map((s) => `${pct(sets[s].accuracy)} / ${pct(sets[s].auc)}`).join(' | ');

/** Markdown of the shipped model card. */
export function renderShippedCard(m: ShippedMetrics): string {
  const s = m.shipped;
  const o = s.options;
  const best = (set: 'plTest' | 'reviews') => Math.max(...m.lexicons.map((l) => l.sets[set].accuracy));
  const gain = (set: 'plTest' | 'reviews') => 100 * (s.benchmark.sets[set].accuracy - best(set));
  const rows = [
    `| **shipped: ${s.cell.toUpperCase()} ${o.embed}/${o.hidden}** | ${pct(s.validation.accuracy)} | ${accCells(s.benchmark.sets)} |`,
    ...(m.cells ?? []).map(
      (c) =>
        `| ${c.cell.toUpperCase()} ${o.embed}/${o.hidden}, same recipe | ${pct(c.validation.accuracy)} | ${accCells(c.benchmark.sets)} |`,
    ),
    ...m.lexicons.map(
      (l) => `| lexicon: ${LEXICON_TITLES[l.name]} (threshold ${l.threshold}) | - | ${accCells(l.sets)} |`,
    ),
  ];
  const prefix = (p: ModelBenchmark['reviewPrefixAccuracy']) => p.map((x) => pct(x.accuracy)).join(' | ');
  const cellPrefix = (m.cells ?? []).map(
    (c) => `| ${c.cell.toUpperCase()}, reviews | ${prefix(c.benchmark.reviewPrefixAccuracy)} |`,
  );
  const history = s.history
    .map(
      (h) =>
        `| ${h.epoch} | ${h.loss.toFixed(4)} | ${pct(h.accuracy)} | ${pct(h.valAccuracy)} | ${h.seconds.toFixed(0)} |`,
    )
    .join('\n');
  return `# sentiment-${s.cell} — the default model of rnnstream

Binary sentiment (labels \`negative\`, \`positive\`; sigmoid head) for English text, read word by word by a
one-layer ${s.cell.toUpperCase()}, so the score of a stream is available after every message. Used by \`run\`,
\`score\`, \`eval\` and \`make demo\` when no \`--model\` is given. Reproduce with \`make data && make model\`
(and \`make model-compare\` for the cell comparison), seed ${o.seed}.

## Data and licences
- **UCI Sentiment Labelled Sentences** (Kotzias, Denil, de Freitas, Smyth: *From Group to Individual Labels
  using Deep Features*, KDD 2015), 3000 sentences from IMDb, Yelp and Amazon. Licence: CC BY 4.0 — credit to
  the authors and the UCI Machine Learning Repository. Fetched from the npm package \`sentiment@5.0.2\`
  (test fixtures), checksum-verified.
- **Pang & Lee sentence polarity dataset v1.0** (Pang, Lee: *Seeing stars*, ACL 2005), 4000 of its movie-review
  sentences, and **polarity dataset v2.0** (Pang, Lee: *A sentimental education*, ACL 2004), 1500 full reviews,
  as shipped in Debian's \`python3-pattern\` test corpora; for research and personal use. Fetched at
  data-preparation time, checksum-verified, never committed.
- Trained on sentences only (UCI + P&L sentences), split 80/10/10 by a hash of the text: ${s.sizes.train}
  training, ${s.sizes.val} validation, ${s.sizes.test} test texts. **The 1500 full reviews are a test set
  only**: never trained or tuned on.

## Hyper-parameters
${hyperParameterTable(s)}

Every random number (initial weights, shuffling, augmentation, dropout masks) comes from one seeded
generator on the host, so \`make model\` reproduces the weights bit for bit on the same backend.
Training took ${s.trainSeconds.toFixed(0)} s on a 2-core CPU (TF.js ${s.backend}). The saved package, run by the serving
engine, reproduces the training network's probabilities to ${s.servingDifference.toExponential(1)}.

## Results
Accuracy / ROC-AUC in %, measured through the serving engine (\`rnnstream eval\`). Validation = the
sentence validation split (what the model and the cell were picked by).

| model | validation acc | ${BENCHMARK_SETS.map((x) => SET_TITLES[x]).join(' | ')} |
|---|---|---|---|---|
${rows.join('\n')}

Lexicon thresholds were fitted on the training split (the threshold with the best training accuracy), never on a test set.

Goals (shipped model minus the best lexicon, accuracy points): P&L sentence test ${gain('plTest') >= 0 ? '+' : ''}${gain('plTest').toFixed(1)}
(goal +5), full reviews ${gain('reviews') >= 0 ? '+' : ''}${gain('reviews').toFixed(1)} (goal +2).

## Accuracy vs fraction of the text read
The streaming score after 25/50/75/100% of each text's tokens (the state after that prefix).

| | 25% | 50% | 75% | 100% |
|---|---|---|---|---|
| shipped, full reviews | ${prefix(s.benchmark.reviewPrefixAccuracy)} |
| shipped, sentence test splits | ${prefix(s.benchmark.sentencePrefixAccuracy)} |
${cellPrefix.join('\n')}

## Embedding sanity
Mean cosine similarity of the last hidden state (the \`embedding\` output) between pairs of test texts:

| | same label | opposite label |
|---|---|---|
| sentence test splits | ${s.benchmark.embedding.sentences.sameLabel.toFixed(3)} | ${s.benchmark.embedding.sentences.otherLabel.toFixed(3)} |
| full reviews | ${s.benchmark.embedding.reviews.sameLabel.toFixed(3)} | ${s.benchmark.embedding.reviews.otherLabel.toFixed(3)} |

## Training history
| epoch | loss | accuracy % | validation accuracy % | seconds |
|---|---|---|---|---|
${history}

## Limitations
- English only; word-level vocabulary of ${s.vocabSize} tokens from ~5.6k sentences, so most rare words are \`<unk>\`.
- Trained on single sentences: on long texts the final state is dominated by the last sentences (the
  long-term dependency problem of recurrent networks); see the full-review figures above.
- Sentences come from product, restaurant and movie reviews; other domains will score worse.
`;
}

const LEXICON_TITLES = {
  afinn: 'npm sentiment (AFINN-165)',
  vader: 'vader-sentiment',
  wink: 'wink-sentiment',
} as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'models/sentiment' },
      cache: { type: 'string', default: 'data/cache' },
      compare: { type: 'boolean', default: false },
      'card-only': { type: 'boolean', default: false },
    },
  });
  const out = values.out as string;
  const cache = values.cache as string;
  const metricsPath = join(out, 'metrics.json');
  const data = await readBenchmarkData(cache);
  const trainData = [join(cache, 'uci.jsonl'), join(cache, 'pl-sentences.csv')];
  let metrics: ShippedMetrics | undefined = existsSync(metricsPath)
    ? (JSON.parse(await readFile(metricsPath, 'utf8')) as ShippedMetrics)
    : undefined;

  if (!values.compare && !values['card-only']) {
    const result = await train({ ...SHIPPED, data: trainData, out });
    const benchmark = await benchmarkModel(out, data);
    const lexicons = metrics?.lexicons ?? benchmarkLexicons(data);
    const sameSize = metrics?.cells?.length && metrics.shipped.options.hidden === SHIPPED.hidden;
    metrics = {
      shipped: {
        ...summary(result, benchmark),
        options: result.options,
        vocabSize: result.vocabSize,
        backend: result.backend,
        sizes: result.sizes,
        history: result.history,
        servingDifference: result.servingDifference,
      },
      lexicons,
      cells: sameSize ? metrics?.cells : undefined,
    };
  }
  if (!metrics) throw new Error(`${metricsPath} is missing: run make model first`);
  if (values.compare) {
    const cells: RunSummary[] = [];
    for (const cell of ['rnn', 'lstm', 'gru'] as const) {
      // The shipped model is this recipe's run of its own cell: same seed, same weights; not trained twice.
      if (cell === metrics.shipped.cell) {
        cells.push({ ...metrics.shipped, cell });
        continue;
      }
      const dir = join(cache, 'compare', cell);
      await mkdir(dir, { recursive: true });
      const result = await train({ ...SHIPPED, name: `sentiment-${cell}`, cell, data: trainData, out: dir });
      cells.push(summary(result, await benchmarkModel(dir, data)));
      console.log(`model: compared ${cell}: validation accuracy ${pct(result.validation.accuracy)}%`);
    }
    metrics.cells = cells;
  }
  await writeFile(metricsPath, `${JSON.stringify(metrics, null, 1)}\n`);
  await writeFile(join(out, 'MODEL_CARD.md'), renderShippedCard(metrics));
  const s = metrics.shipped.benchmark.sets;
  console.log(
    `model: ${out} ${metrics.shipped.benchmark.model}: ${BENCHMARK_SETS.map((x) => `${x} ${pct(s[x].accuracy)}%`).join(', ')}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
