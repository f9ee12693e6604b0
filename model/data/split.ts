/**
 * The stable split into train / validation / test by a hash of the text: a text always lands in the same
 * split, whatever the file order or the other texts, and duplicates never straddle two splits.
 */
import { createHash } from 'node:crypto';

/** Which split a text belongs to. */
export type SplitName = 'train' | 'val' | 'test';

/** Percentages of the split (the rest is test). */
export interface SplitOptions {
  /** @default 80 */
  trainPercent?: number;
  /** @default 10 */
  valPercent?: number;
}

/** Defaults of {@link SplitOptions}: 80/10/10. */
export const DEFAULT_SPLIT_OPTIONS: Required<SplitOptions> = { trainPercent: 80, valPercent: 10 };

/**
 * The split of a text: sha256 of the whitespace-normalised text, first 32 bits modulo 100.
 * @example splitOf('a great film') // 'train' (always the same answer for this text)
 */
export function splitOf(text: string, options: SplitOptions = {}): SplitName {
  const { trainPercent, valPercent } = { ...DEFAULT_SPLIT_OPTIONS, ...options };
  const key = text.trim().replace(/\s+/g, ' ');
  const bucket = createHash('sha256').update(key).digest().readUInt32BE(0) % 100;
  if (bucket < trainPercent) return 'train';
  if (bucket < trainPercent + valPercent) return 'val';
  return 'test';
}

/** Splits items by {@link splitOf} of their text. */
export function splitByText<T extends { text: string }>(
  items: readonly T[],
  options: SplitOptions = {},
): Record<SplitName, T[]> {
  const out: Record<SplitName, T[]> = { train: [], val: [], test: [] };
  for (const item of items) out[splitOf(item.text, options)].push(item);
  return out;
}

/**
 * The cross-validation fold (0 … k−1) of a text: sha256 of the whitespace-normalised text, bytes 4–7
 * modulo k (independent of {@link splitOf}'s bucket, so every fold holds all three splits' texts).
 * @example foldOf('a great film', 10) // always the same fold for this text
 */
export function foldOf(text: string, k: number): number {
  const key = text.trim().replace(/\s+/g, ' ');
  return createHash('sha256').update(key).digest().readUInt32BE(4) % k;
}

/** Which fold is held out of a k-fold run. */
export interface FoldChoice {
  k: number;
  index: number;
}

/**
 * The split of one cross-validation fold: the fold's texts are the test set; of the rest, the texts
 * {@link splitOf} puts in `val` stay validation (early stopping), all others train.
 */
export function splitByFold<T extends { text: string }>(
  items: readonly T[],
  fold: FoldChoice,
): Record<SplitName, T[]> {
  const out: Record<SplitName, T[]> = { train: [], val: [], test: [] };
  for (const item of items) {
    if (foldOf(item.text, fold.k) === fold.index) out.test.push(item);
    else out[splitOf(item.text) === 'val' ? 'val' : 'train'].push(item);
  }
  return out;
}
