/**
 * Normalises the fetched corpora (`make data`, scripts/data.sh) into the files training and evaluation
 * read: `uci.jsonl` (`{"text","label","source"}`, labels 1/0), `pl-sentences.csv` and `pl-reviews.csv`
 * (header `label,text`, labels 1/-1), whitespace collapsed, empty entries dropped.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';

/** A normalised labelled text. */
export interface PreparedText {
  text: string;
  label: string;
  source: string;
}

/** Collapses runs of whitespace (the P&L files end every text with " \n"). */
export const tidyText = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Quotes a CSV field (RFC 4180). */
export const csvField = (value: string) =>
  /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;

/** Reads the UCI fixtures of npm `sentiment` (`[{"text","class"}]`), dropping the empty entry of each. */
export async function readUci(dir: string): Promise<PreparedText[]> {
  const out: PreparedText[] = [];
  for (const source of ['amazon', 'imdb', 'yelp']) {
    const entries = JSON.parse(await readFile(join(dir, `${source}.json`), 'utf8')) as {
      text: string;
      class: number | null;
    }[];
    for (const { text, class: cls } of entries) {
      if (cls === null || tidyText(text ?? '') === '') continue;
      out.push({ text: tidyText(text), label: String(cls), source });
    }
  }
  return out;
}

/** Reads a P&L CSV of python3-pattern (`label,text`, no header, BOM). */
export async function readPatternCsv(path: string, source: string): Promise<PreparedText[]> {
  const rows = parse(await readFile(path), { bom: true, relax_column_count: true }) as string[][];
  return rows
    .filter((r) => r.length >= 2 && tidyText(r[1]) !== '')
    .map(([label, text]) => ({ text: tidyText(text), label: label.trim(), source }));
}

/** Writes `label,text` CSV with a header. */
export async function writeCsv(
  path: string,
  rows: readonly Pick<PreparedText, 'label' | 'text'>[],
): Promise<void> {
  const lines = ['label,text', ...rows.map((r) => `${csvField(r.label)},${csvField(r.text)}`)];
  await writeFile(path, `${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      uci: { type: 'string' },
      'pl-sentences': { type: 'string' },
      'pl-reviews': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const out = values.out ?? 'data/cache';
  const uci = await readUci(values.uci as string);
  await writeFile(join(out, 'uci.jsonl'), uci.map((r) => `${JSON.stringify(r)}\n`).join(''));
  const sentences = await readPatternCsv(values['pl-sentences'] as string, 'pl-sentences');
  await writeCsv(join(out, 'pl-sentences.csv'), sentences);
  const reviews = await readPatternCsv(values['pl-reviews'] as string, 'pl-reviews');
  await writeCsv(join(out, 'pl-reviews.csv'), reviews);
  console.log(
    `data: ${out}/uci.jsonl ${uci.length}, pl-sentences.csv ${sentences.length}, pl-reviews.csv ${reviews.length} (test only)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
