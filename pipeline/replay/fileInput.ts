/**
 * Files as a replay input: paths and globs expanded into files, and their records counted for the
 * progress bar. The files are read by the one file source ({@link FileSource}), CSV included.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { FileFormat } from '../file/fileRecords.js';

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
