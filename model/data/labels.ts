/**
 * Label parsing: binary sentiment labels in their usual spellings (1/0, 1/-1, positive/negative,
 * pos/neg) map to a sigmoid head `[negative, positive]`; any other label set is a softmax head with
 * the labels' own names (per-session scoring is not only sentiment).
 */
import { ConfigError } from '../../core/errors.js';
import type { HeadSpec } from '../types.js';

/** Where a value came from, for error messages. */
export interface Origin {
  file: string;
  /** 1-based line of the record's start. */
  line: number;
}

/** The labels of a sigmoid head (index 1 = the positive class). */
export const BINARY_LABELS: readonly [string, string] = ['negative', 'positive'];

const POSITIVE = new Set(['1', '+1', '1.0', 'pos', 'positive']);
const NEGATIVE = new Set(['0', '-1', '0.0', '-1.0', 'neg', 'negative']);

/** Trimmed, lowercased label as compared against the binary spellings. */
const normalize = (raw: string) => raw.trim().toLowerCase();

/** The positive (1) / negative (0) class of a binary spelling, or undefined. */
export function binaryClass(raw: string): 0 | 1 | undefined {
  const label = normalize(raw);
  if (POSITIVE.has(label)) return 1;
  if (NEGATIVE.has(label)) return 0;
  return undefined;
}

/**
 * The head implied by a training set's raw labels: sigmoid when every label is a binary spelling (and
 * not both `0` and `-1` occur, which would be three classes), else softmax over the distinct labels in
 * code-point order.
 * @example inferHead(['1', '-1', '1']) // { kind: 'sigmoid', labels: ['negative', 'positive'] }
 */
export function inferHead(rawLabels: Iterable<string>): HeadSpec {
  const distinct = new Set<string>();
  for (const raw of rawLabels) distinct.add(normalize(raw));
  const binary = [...distinct].every((l) => binaryClass(l) !== undefined);
  const zeroAndMinusOne =
    [...distinct].some((l) => l.startsWith('0')) && [...distinct].some((l) => l.startsWith('-1'));
  if (binary && !zeroAndMinusOne) return { kind: 'sigmoid', labels: [...BINARY_LABELS] };
  const labels = [...new Set([...rawLabels].map((l) => l.trim()))].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return { kind: 'softmax', labels };
}

/**
 * The head of labels read from several files: sigmoid when each file on its own is a binary set (one
 * file may say 1/0 and another 1/-1), else {@link inferHead} over all labels.
 * @example inferHeadOfFiles([['1', '0'], ['1', '-1']]) // { kind: 'sigmoid', labels: ['negative', 'positive'] }
 */
export function inferHeadOfFiles(files: readonly (readonly string[])[]): HeadSpec {
  if (files.length > 0 && files.every((labels) => inferHead(labels).kind === 'sigmoid')) {
    return { kind: 'sigmoid', labels: [...BINARY_LABELS] };
  }
  return inferHead(files.flat());
}

/**
 * Maps a raw label to a class index of `head` (sigmoid: 0 negative, 1 positive; softmax: the label's
 * index). An unknown label is a {@link ConfigError} naming the file and line.
 * @example labelIndex('pos', { kind: 'sigmoid', labels: ['negative', 'positive'] }, { file: 'a.csv', line: 3 }) // 1
 */
export function labelIndex(raw: string, head: HeadSpec, origin: Origin): number {
  if (head.kind === 'sigmoid') {
    const cls = binaryClass(raw) ?? head.labels.indexOf(raw.trim());
    if (cls !== undefined && cls >= 0) return cls;
  } else {
    const index = head.labels.indexOf(raw.trim());
    if (index >= 0) return index;
  }
  const expected =
    head.kind === 'sigmoid' ? '1/0, 1/-1, positive/negative or pos/neg' : head.labels.join(', ');
  throw new ConfigError(
    `${origin.file}:${origin.line}: unknown label ${JSON.stringify(raw)} (expected ${expected})`,
  );
}
