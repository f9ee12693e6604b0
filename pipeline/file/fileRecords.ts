/**
 * The records of one input file, as a Kafka message with that key and value would be: JSON lines (the
 * line is the value), `key<TAB>text` lines (`text` format) or CSV rows (a header with `key` and `text`
 * columns, optional `end` and `id`). Each record's offset is `base` + its line (or row) index, so blank
 * lines keep the offsets of the lines after them.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import type { SourcePosition, SourceRecord } from '../../core/contracts.js';
import { ConfigError } from '../../core/errors.js';
import { splitLines } from './lineSplitter.js';

/** How one file's records are written. */
export type FileFormat = 'json' | 'text' | 'csv';

/** The format of a file: CSV by its extension, else the run's input format. */
export function fileFormat(path: string, format: 'json' | 'text'): FileFormat {
  return /\.csv$/i.test(path) ? 'csv' : format;
}

/** Where a file's records are placed, and how they are read. */
export interface FileRecordsOptions {
  /** The records' topic (`file:PATH`, or `stdin`). */
  topic: string;
  /** Offset of the first line (or row). */
  base: bigint;
  /** Longest line kept (longer: cut, then refused by the decoder). */
  maxLineBytes: number;
  /** Destroys the stream being read: a read waiting on stdin ends at once. */
  signal: AbortSignal;
}

/**
 * Yields a file's lines (`-`: stdin) as records, blank lines skipped.
 * @example for await (const record of lineRecords('feed.jsonl', 'json', { topic: 'file:feed.jsonl', base: 0n, … }))
 */
export async function* lineRecords(
  path: string,
  format: 'json' | 'text',
  { topic, base, maxLineBytes, signal }: FileRecordsOptions,
): AsyncGenerator<SourceRecord> {
  const input = path === '-' ? process.stdin : createReadStream(path);
  const destroy = () => input.destroy();
  signal.addEventListener('abort', destroy, { once: true });
  if (signal.aborted) destroy();
  let offset = base - 1n;
  try {
    for await (const line of splitLines(input, maxLineBytes)) {
      offset++;
      if (line.bytes.length === 0 && !line.truncated) continue; // blank lines are not messages
      yield lineRecord(line.bytes, format, { topic, partition: 0, offset: String(offset) });
    }
  } finally {
    signal.removeEventListener('abort', destroy);
    // stdin stays open for whoever reads it next; a file is closed.
    if (path !== '-') input.destroy();
  }
}

function lineRecord(bytes: Buffer, format: 'json' | 'text', source: SourcePosition): SourceRecord {
  if (format === 'text') {
    const tab = bytes.indexOf(0x09);
    if (tab !== -1) return { key: bytes.subarray(0, tab), value: bytes.subarray(tab + 1), source };
  }
  return { key: null, value: bytes, source };
}

/**
 * Yields a CSV file's rows as records; a header without `key` and `text` columns is a ConfigError.
 * @example for await (const record of csvRecords('feed.csv', 'json', { topic: 'file:feed.csv', base: 0n, … }))
 */
export async function* csvRecords(
  path: string,
  format: 'json' | 'text',
  { topic, base, signal }: FileRecordsOptions,
): AsyncGenerator<SourceRecord> {
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
  // The parser, not the file: a destroyed file would leave the parser waiting for its end.
  const destroy = () => parser.destroy();
  signal.addEventListener('abort', destroy, { once: true });
  if (signal.aborted) destroy();
  let offset = base - 1n;
  try {
    for await (const row of parser as AsyncIterable<Record<string, string | undefined>>) {
      offset++;
      yield csvRecord(row, format, { topic, partition: 0, offset: String(offset) });
    }
  } finally {
    signal.removeEventListener('abort', destroy);
    input.destroy();
  }
}

/** A CSV row as the record a Kafka message with that key and value would be. */
function csvRecord(
  row: Record<string, string | undefined>,
  format: 'json' | 'text',
  source: SourcePosition,
): SourceRecord {
  const key = row.key === undefined || row.key === '' ? null : Buffer.from(row.key);
  const text = row.text ?? '';
  if (format === 'text') return { key, value: Buffer.from(text), source };
  const value: Record<string, unknown> = { text };
  const end = row.end?.trim().toLowerCase();
  // A value the decoder refuses (a dead letter naming the field) rather than a silent guess.
  if (end !== undefined && end !== '')
    value.end = end === 'true' || end === '1' ? true : end === 'false' || end === '0' ? false : end;
  if (row.id !== undefined && row.id !== '') value.id = row.id;
  return { key, value: Buffer.from(JSON.stringify(value)), source };
}
