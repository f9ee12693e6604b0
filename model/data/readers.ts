/**
 * Readers of labelled text files: CSV, TSV (a header row names the columns) and JSON lines (one object
 * per line). Every problem (not UTF-8, empty file, missing column, empty text or label, bad JSON) is a
 * {@link ConfigError} naming the file and the line.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ConfigError } from '../../core/errors.js';

/** Options of {@link readLabelledFile}. */
export interface ReadOptions {
  /** Name of the text column (CSV/TSV header, or JSON key). @default 'text' */
  textColumn?: string;
  /** Name of the label column. @default 'label' */
  labelColumn?: string;
  /** `auto` picks by extension: `.tsv`/`.tab` → tsv, `.jsonl`/`.ndjson`/`.json` → jsonl, else csv. @default 'auto' */
  format?: 'auto' | 'csv' | 'tsv' | 'jsonl';
}

/** Defaults of {@link ReadOptions}. */
export const DEFAULT_READ_OPTIONS: Required<ReadOptions> = {
  textColumn: 'text',
  labelColumn: 'label',
  format: 'auto',
};

/** One labelled text, with where it came from. */
export interface LabelledText {
  text: string;
  /** The raw label, as written (numbers as their decimal text). */
  label: string;
  file: string;
  /** 1-based line where the record starts. */
  line: number;
}

/** The format a file is read as. */
export function detectFormat(path: string, format: ReadOptions['format'] = 'auto'): 'csv' | 'tsv' | 'jsonl' {
  if (format !== 'auto') return format;
  const ext = extname(path).toLowerCase();
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  return 'csv';
}

/**
 * Decodes bytes as strict UTF-8 (a leading BOM dropped); invalid bytes are an error naming the line.
 */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    return strict.decode(bytes);
  } catch {
    // Find the first bad line: decode line by line (a multi-byte character never contains 0x0A).
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 0x0a) {
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, i));
        } catch {
          break;
        }
        line++;
        start = i + 1;
      }
    }
    throw new ConfigError(`${file}:${line}: not valid UTF-8 (re-encode the file as UTF-8)`);
  }
}

/** Reads a CSV or TSV file with a header row. */
function readDelimited(text: string, file: string, delimiter: string, options: Required<ReadOptions>) {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter,
      info: true,
      relax_column_count: true,
      relax_quotes: delimiter === '\t',
      skip_empty_lines: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    const where = (error as { lines?: number }).lines ?? 1;
    throw new ConfigError(`${file}:${where}: ${(error as Error).message}`, { cause: error });
  }
  if (records.length === 0) throw new ConfigError(`${file}:1: empty file (expected a header row and data)`);
  const header = records[0].record.map((name) => name.trim());
  const column = (name: string) => {
    const index = header.indexOf(name);
    if (index < 0) {
      throw new ConfigError(
        `${file}:1: missing column "${name}" (the header has: ${header.join(', ')}); ` +
          'name the columns with --text-column / --label-column',
      );
    }
    return index;
  };
  const textAt = column(options.textColumn);
  const labelAt = column(options.labelColumn);
  if (records.length === 1) throw new ConfigError(`${file}:2: no data rows after the header`);
  const rows: LabelledText[] = [];
  let previousEnd = records[0].info.lines;
  for (const { record, info } of records.slice(1)) {
    // info.lines is the line where the record ends; it starts on the line after the previous record.
    const line = previousEnd + 1;
    previousEnd = info.lines;
    rows.push(checked(record[textAt], record[labelAt], file, line, options));
  }
  return rows;
}

/** Validates one record's text and label. */
function checked(
  text: unknown,
  label: unknown,
  file: string,
  line: number,
  options: Required<ReadOptions>,
): LabelledText {
  if (text === undefined || text === null) {
    throw new ConfigError(`${file}:${line}: missing column "${options.textColumn}" in this record`);
  }
  if (label === undefined || label === null) {
    throw new ConfigError(`${file}:${line}: missing column "${options.labelColumn}" in this record`);
  }
  if (typeof text !== 'string')
    throw new ConfigError(`${file}:${line}: "${options.textColumn}" is not a string`);
  if (typeof label !== 'string' && typeof label !== 'number' && typeof label !== 'boolean') {
    throw new ConfigError(`${file}:${line}: "${options.labelColumn}" is not a string or a number`);
  }
  const labelText = String(label).trim();
  if (text.trim() === '') throw new ConfigError(`${file}:${line}: empty text`);
  if (labelText === '') throw new ConfigError(`${file}:${line}: empty label`);
  return { text, label: labelText, file, line };
}

/** Reads a JSON-lines file. */
function readJsonLines(text: string, file: string, options: Required<ReadOptions>): LabelledText[] {
  const rows: LabelledText[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new ConfigError(`${file}:${i + 1}: not valid JSON (${(error as Error).message})`, {
        cause: error,
      });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigError(`${file}:${i + 1}: expected a JSON object per line`);
    }
    const record = value as Record<string, unknown>;
    rows.push(checked(record[options.textColumn], record[options.labelColumn], file, i + 1, options));
  });
  if (rows.length === 0) throw new ConfigError(`${file}:1: empty file (expected one JSON object per line)`);
  return rows;
}

/**
 * Reads one labelled file.
 * @example const rows = await readLabelledFile('data/cache/pl-sentences.csv', { textColumn: 'text', labelColumn: 'label' });
 */
export async function readLabelledFile(path: string, options: ReadOptions = {}): Promise<LabelledText[]> {
  const resolved = { ...DEFAULT_READ_OPTIONS, ...options };
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ConfigError(`${path}: cannot be read (${(error as Error).message})`, { cause: error });
  }
  if (bytes.length === 0) throw new ConfigError(`${path}:1: empty file`);
  const text = decodeUtf8(bytes, path);
  if (text.trim() === '') throw new ConfigError(`${path}:1: empty file`);
  const format = detectFormat(path, resolved.format);
  if (format === 'jsonl') return readJsonLines(text, path, resolved);
  return readDelimited(text, path, format === 'tsv' ? '\t' : ',', resolved);
}

/** Reads several labelled files, in order. */
export async function readLabelledFiles(
  paths: readonly string[],
  options: ReadOptions = {},
): Promise<LabelledText[]> {
  if (paths.length === 0) throw new ConfigError('no data files given (use --data FILE…)');
  const all: LabelledText[] = [];
  for (const path of paths) all.push(...(await readLabelledFile(path, options)));
  return all;
}
