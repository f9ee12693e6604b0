/**
 * Files as a replay input: several files or globs, each JSON lines (`{"key","text","end"?,"id"?}`), text
 * lines (`key<TAB>text`, with `--input-format text`) or CSV (`.csv`: a header with `key` and `text`
 * columns, optional `end` and `id`). Positions are `(file:PATH, partition 0, i × 2^40 + line or row
 * index)` for the i-th file: for one file exactly those of `run --in file:PATH`, so fences and outputs
 * match `run`; for several, one increasing offset sequence, so a key's fence set by a later file still
 * recognises the lines of an earlier file it already applied (a resume after a crash re-reads those).
 * Reading pauses while `maxInFlight` records are un-acked; `resumeAfter` skips what a checkpoint covers.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parse } from 'csv-parse';
import { Subject } from 'rxjs';
import type { SourcePosition, SourceRecord } from '../../core/contracts.js';
import { ConfigError } from '../../core/errors.js';
import type { Source } from '../connectors.js';
import { splitLines } from '../file/lineSplitter.js';

/** Offsets of file i start at i × this (2^40 lines per file is beyond any file). */
export const FILE_OFFSET_STRIDE = 1n << 40n;

/** The file index and line of a replay file offset. */
export function splitFileOffset(offset: bigint): { file: number; line: bigint } {
  return { file: Number(offset / FILE_OFFSET_STRIDE), line: offset % FILE_OFFSET_STRIDE };
}

/** How one file's records are written. */
export type FileFormat = 'json' | 'text' | 'csv';

/** Options of {@link ReplayFileSource}. */
export interface ReplayFileSourceOptions {
  /** Files, in the order they are read (file i has offsets from i × {@link FILE_OFFSET_STRIDE}). */
  paths: string[];
  /** Format of files not ending in `.csv`. @default 'json' */
  format?: 'json' | 'text';
  /** Un-acked records before reading pauses. @default 10000 */
  maxInFlight?: number;
  /** Longest line kept (longer: cut, then refused by the decoder). @default 1 MiB */
  maxLineBytes?: number;
  /** Per file index, the last offset already done: records up to and including it are skipped. */
  resumeAfter?: ReadonlyMap<number, bigint>;
}

/** Defaults of {@link ReplayFileSourceOptions}. */
export const DEFAULT_REPLAY_FILE_SOURCE = {
  format: 'json',
  maxInFlight: 10_000,
  maxLineBytes: 1 << 20,
} as const;

/** The format of a file: CSV by its extension, else the run's input format. */
export function fileFormat(path: string, format: 'json' | 'text'): FileFormat {
  return /\.csv$/i.test(path) ? 'csv' : format;
}

/** Reads files one after the other into the pipeline. */
export class ReplayFileSource implements Source {
  readonly #subject = new Subject<SourceRecord>();
  readonly records$ = this.#subject.asObservable();
  readonly #options: Required<Omit<ReplayFileSourceOptions, 'resumeAfter'>> &
    Pick<ReplayFileSourceOptions, 'resumeAfter'>;
  #inFlight = 0;
  #wake: (() => void) | undefined;
  #stopped = false;
  #started = false;
  #input: { destroy(): void } | undefined;

  constructor(options: ReplayFileSourceOptions) {
    this.#options = { ...DEFAULT_REPLAY_FILE_SOURCE, ...options };
    if (!Number.isInteger(this.#options.maxInFlight) || this.#options.maxInFlight < 1)
      throw new RangeError(`maxInFlight must be a positive integer, got ${this.#options.maxInFlight}`);
  }

  /** Starts reading (after subscribing to `records$`); resolves when every file was read or on stop. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('ReplayFileSource.start() called twice');
    this.#started = true;
    try {
      for (const [index, path] of this.#options.paths.entries()) {
        if (this.#stopped) break;
        const skipThrough = this.#options.resumeAfter?.get(index) ?? -1n;
        const topic = `file:${path}`;
        const base = BigInt(index) * FILE_OFFSET_STRIDE;
        const records =
          fileFormat(path, this.#options.format) === 'csv'
            ? this.#csvRecords(path, topic, base)
            : this.#lineRecords(path, topic, base);
        for await (const record of records) {
          if (this.#stopped) break;
          if (BigInt(record.source.offset) <= skipThrough) continue;
          while (this.#inFlight >= this.#options.maxInFlight && !this.#stopped) {
            await new Promise<void>((resolve) => {
              this.#wake = resolve;
            });
          }
          if (this.#stopped) break;
          this.#inFlight++;
          this.#subject.next(record);
        }
      }
      this.#subject.complete();
    } catch (error) {
      if (this.#stopped) this.#subject.complete();
      else this.#subject.error(error);
    }
  }

  async *#lineRecords(path: string, topic: string, base: bigint): AsyncGenerator<SourceRecord> {
    const input = createReadStream(path);
    this.#input = input;
    let offset = base - 1n;
    try {
      for await (const line of splitLines(input, this.#options.maxLineBytes)) {
        offset++;
        if (line.bytes.length === 0 && !line.truncated) continue; // blank lines are not messages
        const source = { topic, partition: 0, offset: String(offset) };
        if (this.#options.format === 'text') {
          const tab = line.bytes.indexOf(0x09);
          yield tab === -1
            ? { key: null, value: line.bytes, source }
            : { key: line.bytes.subarray(0, tab), value: line.bytes.subarray(tab + 1), source };
        } else {
          yield { key: null, value: line.bytes, source };
        }
      }
    } finally {
      this.#input = undefined;
      input.destroy();
    }
  }

  async *#csvRecords(path: string, topic: string, base: bigint): AsyncGenerator<SourceRecord> {
    const input = createReadStream(path);
    const parser = input.pipe(
      parse({
        bom: true,
        skip_empty_lines: true,
        relax_column_count: true,
        columns: (header: string[]) => {
          const names = header.map((h) => h.trim());
          for (const required of ['key', 'text']) {
            if (!names.includes(required)) {
              throw new ConfigError(
                `${path}: a CSV input needs a header with "key" and "text" columns (found: ${names.join(', ')})`,
              );
            }
          }
          return names;
        },
      }),
    );
    this.#input = { destroy: () => parser.destroy() };
    let offset = base - 1n;
    try {
      for await (const row of parser as AsyncIterable<Record<string, string | undefined>>) {
        offset++;
        yield this.#csvRecord(row, { topic, partition: 0, offset: String(offset) });
      }
    } finally {
      this.#input = undefined;
      input.destroy();
    }
  }

  /** A CSV row as the record a Kafka message with that key and value would be. */
  #csvRecord(row: Record<string, string | undefined>, source: SourcePosition): SourceRecord {
    const key = row.key === undefined || row.key === '' ? null : Buffer.from(row.key);
    const text = row.text ?? '';
    if (this.#options.format === 'text') return { key, value: Buffer.from(text), source };
    const value: Record<string, unknown> = { text };
    const end = row.end?.trim().toLowerCase();
    // A value the decoder refuses (a dead letter naming the field) rather than a silent guess.
    if (end !== undefined && end !== '')
      value.end = end === 'true' || end === '1' ? true : end === 'false' || end === '0' ? false : end;
    if (row.id !== undefined && row.id !== '') value.id = row.id;
    return { key, value: Buffer.from(JSON.stringify(value)), source };
  }

  async ack(positions: readonly SourcePosition[]): Promise<void> {
    this.#inFlight -= positions.length;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#input?.destroy();
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async close(): Promise<void> {
    await this.stop();
  }
}

/**
 * Counts the records of a file cheaply (newlines; CSV minus its header), for the progress bar's total.
 * An estimate for CSV with quoted newlines.
 */
export async function countRecords(path: string, format: FileFormat): Promise<number> {
  let lines = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let at = chunk.indexOf(0x0a);
    while (at !== -1) {
      lines++;
      at = chunk.indexOf(0x0a, at + 1);
    }
    if (chunk.length > 0) last = chunk[chunk.length - 1];
  }
  if (last !== 0x0a) lines++;
  return format === 'csv' ? Math.max(0, lines - 1) : lines;
}

const GLOB_CHARS = /[*?[]/;

/** A glob segment (`*`, `?`, `[abc]`) or a whole relative pattern (`**` = any folders) as a RegExp. */
function globRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more folders.
      const slash = pattern[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close === -1) out += '\\[';
      else {
        out += `[${pattern
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/**
 * Expands paths and globs (`*`, `?`, `[…]`, `**`) into files, each pattern's matches sorted, duplicates
 * dropped, order of patterns kept. A plain path must exist; a glob must match at least one file.
 * Node 20 has no `fs.glob`, hence this small matcher.
 *
 * @example await expandInputs(['data/2024-*.jsonl', 'extra.csv'])
 */
export async function expandInputs(patterns: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    if (!seen.has(path)) {
      seen.add(path);
      out.push(path);
    }
  };
  for (const pattern of patterns) {
    if (!GLOB_CHARS.test(pattern)) {
      const info = await stat(pattern).catch(() => undefined);
      if (!info?.isFile()) throw new ConfigError(`input file ${pattern} does not exist (or is not a file)`);
      add(pattern);
      continue;
    }
    const parts = pattern.split('/');
    const fixed: string[] = [];
    while (parts.length > 1 && !GLOB_CHARS.test(parts[0])) fixed.push(parts.shift() as string);
    const root = fixed.length === 0 ? '.' : fixed.join('/') || '/';
    const regex = globRegExp(parts.join('/'));
    const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    const matches = entries
      .filter((e) => e.isFile())
      .map((e) =>
        relative(root, join(e.parentPath ?? e.path, e.name))
          .split(sep)
          .join('/'),
      )
      .filter((rel) => regex.test(rel))
      .sort();
    if (matches.length === 0) throw new ConfigError(`input glob ${pattern} matches no file`);
    for (const rel of matches) add(fixed.length === 0 ? rel : `${fixed.join('/')}/${rel}`);
  }
  return out;
}
