/**
 * `scripts/model.sh curve PERCENT`: the learning curve of the shipped recipe in the number of P&L training
 * sentences. Trains the recipe of the shipped candidate on the UCI sentences, the feed-like messages and
 * PERCENT% of the P&L training sentences (the same fixed-seed subsample for a PERCENT, chosen by a hash of
 * the text; every validation sentence kept, so early stopping sees the same rows), into
 * `data/cache/curve/PERCENT/`, and prints its P&L accuracy, through the serving engine, on the P&L test split
 * and on validation + test together (about 800 sentences; never trained on at any PERCENT). Outside the
 * choice of the shipped model: it measures how much more P&L data would be worth.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../core/errors.js';
import { selectBackend } from '../backend.js';
import { csvField } from '../data/prepare.js';
import { splitOf } from '../data/split.js';
import { benchmarkModel, metricsOn, readBenchmarkData } from '../eval/benchmark.js';
import { wilson } from '../eval/intervals.js';
import { pct } from './card.js';
import { CANDIDATES, FEED_TRAIN } from './shipped.js';
import { train } from './train.js';

/** The candidate whose recipe the curve trains (the shipped one). */
const SHIPPED_RECIPE = 'sentiment-gru-feeds';

/** Whether a P&L training sentence is in the PERCENT% subsample (a hash of the text, so nested: 25% ⊂ 50%). */
export const inSubsample = (text: string, percent: number) =>
  createHash('sha256').update(`curve:${text}`).digest().readUInt32BE(0) % 100 < percent;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { cache: { type: 'string', default: 'data/cache' } },
  });
  const percent = Number(positionals[0]);
  if (!Number.isInteger(percent) || percent < 1 || percent > 100) {
    throw new ConfigError(`curve: PERCENT must be an integer 1..100, got "${positionals[0] ?? ''}"`);
  }
  const cache = values.cache as string;
  await selectBackend('wasm');
  const data = await readBenchmarkData(cache);
  const rows = data.plSentences.filter((r) => splitOf(r.text) !== 'train' || inSubsample(r.text, percent));
  const dir = join(cache, 'curve', String(percent));
  await mkdir(dir, { recursive: true });
  const plFile = join(dir, 'pl-sentences.csv');
  const csv = rows.map((r) => `${csvField(r.label)},${csvField(r.text)}`);
  await writeFile(plFile, `${['label,text', ...csv].join('\n')}\n`);
  const shipped = CANDIDATES.find((c) => c.name === SHIPPED_RECIPE);
  if (!shipped) throw new Error(`curve: no candidate ${SHIPPED_RECIPE}`);
  const { name: _name, feeds: _feeds, ...recipe } = shipped;
  const result = await train({
    ...recipe,
    data: [join(cache, 'uci.jsonl'), plFile, FEED_TRAIN],
    out: dir,
    glove: cache,
  });
  const heldOut = data.plSentences.filter((r) => splitOf(r.text) !== 'train');
  const held = await metricsOn(dir, heldOut);
  const benchmark = await benchmarkModel(dir, data);
  const plTrain = rows.filter((r) => splitOf(r.text) === 'train').length;
  const summary = {
    percent,
    plTrainSentences: plTrain,
    bestEpoch: result.bestEpoch,
    plTest: benchmark.sets.plTest,
    plHeldOut: {
      accuracy: held.accuracy,
      count: heldOut.length,
      interval: wilson(Math.round(held.accuracy * heldOut.length), heldOut.length),
    },
    uciTest: benchmark.sets.uciTest.accuracy,
    liveFeed: benchmark.sets.liveFeed.accuracy,
    reviews: benchmark.sets.reviews.accuracy,
  };
  await writeFile(join(dir, 'curve.json'), `${JSON.stringify(summary, null, 1)}\n`);
  console.log(
    `curve: ${percent}% (${plTrain} P&L training sentences): P&L test ${pct(summary.plTest.accuracy)}%, ` +
      `P&L val+test ${pct(held.accuracy)}% of ${heldOut.length}, epoch ${result.bestEpoch}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main().catch((error: unknown) => {
    // A mistake in the command line is one line, not a stack trace.
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exitCode = 2;
  });
}
