/**
 * `scripts/model.sh curve PERCENT`: a point of the learning curve of the shipped recipe in the number of P&L
 * training sentences. Trains the recipe of the shipped candidate (metrics.json's) on its other data (the UCI
 * sentences, the feed-like messages) and PERCENT% of the P&L training sentences (the same fixed-seed subsample for a PERCENT, chosen by a hash of
 * the text; every validation sentence kept, so early stopping sees the same rows), into
 * `data/cache/curve/PERCENT/`, and prints its P&L accuracy, through the serving engine, on the P&L test split
 * and on validation + test together (about 800 sentences; never trained on at any PERCENT). Outside the
 * choice of the shipped model: it measures how much more P&L data would be worth. `scripts/model.sh curve`
 * (no PERCENT) collects the trained points into the package's metrics.json and card.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, runScript } from '../../core/errors.js';
import { selectBackend } from '../backend.js';
import { writeCsv } from '../data/prepare.js';
import { splitOf } from '../data/split.js';
import { benchmarkModel, metricsOn, readBenchmarkData } from '../eval/benchmark.js';
import { wilson } from '../eval/intervals.js';
import { loadModelPackage } from '../modelPackage.js';
import { pct } from './card.js';
import { CANDIDATES, type CurvePoint, readShippedMetrics, trainData, writeCard } from './shipped.js';
import { PL_SENTENCES } from './shippedCard.js';
import { train } from './train.js';

/** Whether a P&L training sentence is in the PERCENT% subsample (a hash of the text, so nested: 25% ⊂ 50%). */
export const inSubsample = (text: string, percent: number) =>
  createHash('sha256').update(`curve:${text}`).digest().readUInt32BE(0) % 100 < percent;

/** Trains and scores one point of the curve into `cache/curve/PERCENT/curve.json`. */
async function trainPoint(percent: number, cache: string, out: string): Promise<void> {
  const name = (await readShippedMetrics(out)).shipped.name;
  const shipped = CANDIDATES.find((c) => c.name === name);
  if (!shipped) throw new ConfigError(`curve: the shipped model ${name} is not one of the candidates`);
  const data = await readBenchmarkData(cache);
  const rows = data.plSentences.filter((r) => splitOf(r.text) !== 'train' || inSubsample(r.text, percent));
  const dir = join(cache, 'curve', String(percent));
  await mkdir(dir, { recursive: true });
  const plFile = join(dir, PL_SENTENCES);
  await writeCsv(plFile, rows);
  const { name: _name, feeds: _feeds, ...recipe } = shipped;
  const result = await train({
    ...recipe,
    // The shipped candidate's files, in the order of its data weights, with the subsample for the P&L sentences.
    data: trainData(shipped, cache).map((f) => (f === join(cache, PL_SENTENCES) ? plFile : f)),
    out: dir,
    glove: cache,
  });
  const heldOut = data.plSentences.filter((r) => splitOf(r.text) !== 'train');
  const held = await metricsOn(dir, heldOut);
  const benchmark = await benchmarkModel(dir, data);
  const point: CurvePoint = {
    percent,
    plTrainSentences: rows.filter((r) => splitOf(r.text) === 'train').length,
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
  await writeFile(join(dir, 'curve.json'), `${JSON.stringify(point, null, 1)}\n`);
  console.log(
    `curve: ${percent}% (${point.plTrainSentences} P&L training sentences, ${result.options.data.length} files): ` +
      `P&L test ${pct(point.plTest.accuracy)}%, P&L val+test ${pct(held.accuracy)}% of ${heldOut.length}, ` +
      `epoch ${result.bestEpoch}, package ${benchmark.model}`,
  );
}

/** Collects the trained points into the shipped package's metrics.json and re-renders its card. */
async function collect(cache: string, out: string): Promise<void> {
  const root = join(cache, 'curve');
  const dirs = existsSync(root) ? await readdir(root) : [];
  const points: CurvePoint[] = [];
  for (const d of dirs) {
    const file = join(root, d, 'curve.json');
    if (existsSync(file)) points.push(JSON.parse(await readFile(file, 'utf8')) as CurvePoint);
  }
  if (points.length === 0) {
    throw new ConfigError(`curve: no trained points in ${root} (run scripts/model.sh curve PERCENT first)`);
  }
  points.sort((a, b) => a.percent - b.percent);
  // A point whose package is the shipped one (its fingerprint covers weights, vocabulary and tokenizer).
  const shipped = (await loadModelPackage(out)).fingerprint;
  for (const point of points) {
    point.shippedPackage =
      (await loadModelPackage(join(root, String(point.percent)))).fingerprint === shipped;
  }
  const metrics = await readShippedMetrics(out);
  await writeCard(out, { ...metrics, curve: points });
  console.log(`curve: ${points.map((p) => `${p.percent}%`).join(', ')} into ${join(out, 'metrics.json')}`);
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      cache: { type: 'string', default: 'data/cache' },
      out: { type: 'string', default: 'models/sentiment' },
    },
  });
  const cache = values.cache as string;
  const out = values.out as string;
  await selectBackend('wasm');
  if (positionals.length === 0) return collect(cache, out);
  const percent = Number(positionals[0]);
  if (!Number.isInteger(percent) || percent < 1 || percent > 100) {
    throw new ConfigError(`curve: PERCENT must be an integer 1..100, got "${positionals[0]}"`);
  }
  await trainPoint(percent, cache, out);
}

if (import.meta.url === `file://${process.argv[1]}`) await runScript(main);
