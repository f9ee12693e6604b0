/**
 * Shared by the replay tests: a seeded keyed corpus, writers for JSON lines and CSV, and output readers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { OutputMessage } from '../../../core/contracts.js';
import { TINY_VOCAB } from '../../fixtures/tinyModel.js';

/** One input message of the corpus. */
export interface CorpusMessage {
  key: string;
  text: string;
  end?: boolean;
}

/**
 * `count` messages over `keys` keys, texts of 1…12 words from the tiny vocabulary, a few `end: true`.
 * @example const corpus = makeCorpus(2000, 100, 7);
 */
export function makeCorpus(count: number, keys: number, seed = 7): CorpusMessage[] {
  const words = TINY_VOCAB.slice(2);
  let state = seed;
  const next = () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
  const out: CorpusMessage[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(next() * 12);
    const text = Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(' ');
    const message: CorpusMessage = { key: `k${Math.floor(next() * keys)}`, text };
    if (next() < 0.02) message.end = true;
    out.push(message);
  }
  return out;
}

/** Writes the corpus as JSON lines (`{"key","text","end"?}`). */
export function writeJsonLines(path: string, corpus: readonly CorpusMessage[]): void {
  writeFileSync(path, `${corpus.map((m) => JSON.stringify(m)).join('\n')}\n`);
}

/** Writes the corpus as CSV with a `key,text,end` header (texts quoted). */
export function writeCsv(path: string, corpus: readonly CorpusMessage[]): void {
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const rows = corpus.map((m) => `${quote(m.key)},${quote(m.text)},${m.end ? 'true' : ''}`);
  writeFileSync(path, `key,text,end\n${rows.join('\n')}\n`);
}

/** Reads an output file (JSON lines of the output contract). */
export function readOutputs(path: string): OutputMessage[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OutputMessage);
}

/** Outputs by `partition:offset` (the last one wins: a resumed replay may write one twice). */
export function byPosition(outputs: readonly OutputMessage[]): Map<string, OutputMessage> {
  return new Map(outputs.map((o) => [`${o.source.partition}:${o.source.offset}`, o]));
}

/** Asserts two outputs say the same (score within `tolerance`); returns a reason when they differ. */
export function sameOutput(a: OutputMessage, b: OutputMessage, tolerance = 1e-5): string | undefined {
  if (a.key !== b.key) return `key ${a.key} vs ${b.key}`;
  if (a.tokens !== b.tokens || a.totalTokens !== b.totalTokens)
    return `tokens ${a.tokens}/${a.totalTokens} vs ${b.tokens}/${b.totalTokens}`;
  if (a.sentiment?.label !== b.sentiment?.label)
    return `label ${a.sentiment?.label} vs ${b.sentiment?.label}`;
  const d = Math.abs((a.sentiment?.score ?? 0) - (b.sentiment?.score ?? 0));
  if (!(d <= tolerance)) return `score ${a.sentiment?.score} vs ${b.sentiment?.score}`;
  if (Boolean(a.end) !== Boolean(b.end)) return `end ${a.end} vs ${b.end}`;
  return undefined;
}
