/**
 * Word-level prior knowledge for training: the valence of each token in the VADER and AFINN-165
 * lexicons (emoji and emoticons included) as fixed input columns, and pretrained word vectors (GloVe) as
 * the starting point of every row. Both are read at training time only; the shipped package holds the
 * folded result, a plain embedding table (docs/MODEL_PACKAGE.md).
 */
import { createRequire } from 'node:module';
import type { WordVectors } from '../data/glove.js';
import { foldedVariants } from '../socialSplit.js';
import { type SplitRules, splitBy } from '../tokenizer.js';

/** The fixed prior columns, in order: VADER valence / 4, AFINN-165 valence / 5 (both within ±1). */
export const PRIOR_COLUMNS = ['vader', 'afinn'] as const;

/** Token → its prior columns, for tokens in at least one lexicon. */
export type Valence = Map<string, Float32Array>;

/**
 * The lexicons' valence per token. Entries are split with the package's rules and only those that are
 * one token are kept (":-)" and ":)" are both ":)" under the social rules; the first entry wins).
 * @example lexiconValence('social').get('good') // Float32Array [0.475, 0.6]
 */
export function lexiconValence(split: SplitRules): Valence {
  const require = createRequire(import.meta.url);
  const vader = (require('vader-sentiment/src/vader_lexicon.js') as { lexicon: Record<string, number> })
    .lexicon;
  const afinn: Record<string, number> = {
    ...(require('wink-sentiment/src/emoticons.js') as Record<string, number>),
    ...(require('sentiment/build/emoji.json') as Record<string, number>),
    ...(require('sentiment/languages/en/labels.json') as Record<string, number>),
  };
  const out: Valence = new Map();
  const add = (entries: Record<string, number>, column: number, scale: number) => {
    for (const [key, value] of Object.entries(entries)) {
      const tokens = splitBy(split, key);
      if (tokens.length !== 1 || !Number.isFinite(value)) continue;
      const row = out.get(tokens[0]) ?? new Float32Array(PRIOR_COLUMNS.length);
      if (row[column] === 0) row[column] = Math.max(-1, Math.min(1, value / scale));
      out.set(tokens[0], row);
    }
  };
  add(vader, 0, 4);
  add(afinn, 1, 5);
  return out;
}

// Contraction pieces GloVe (as packaged) lacks: "don't" is read as "do" + "not", "we're" as "we".
const NOT_SUFFIX = /^(.+)n['’]t$/u;
const OTHER_SUFFIX = /^(.+)['’](?:s|re|ll|ve|m|d)$/u;
const IRREGULAR: Record<string, string[]> = { "can't": ['can', 'not'], "won't": ['will', 'not'] };

/**
 * The words whose vectors make a token's starting vector: the token itself when it has one; else a
 * contraction's pieces, or a folded spelling ("soo" → "so"); else none.
 * @example vectorWords("doesn't", glove) // ['does', 'not']
 */
export function vectorWords(token: string, glove: WordVectors): string[] {
  if (glove.index.has(token)) return [token];
  const t = token.replace(/’/g, "'");
  const pieces =
    IRREGULAR[t] ??
    (NOT_SUFFIX.test(t) ? [t.replace(NOT_SUFFIX, '$1'), 'not'] : undefined) ??
    (OTHER_SUFFIX.test(t) ? [t.replace(OTHER_SUFFIX, '$1')] : undefined);
  if (pieces) return pieces.filter((p) => glove.index.has(p));
  const folded = foldedVariants(token).find((v) => glove.index.has(v));
  return folded ? [folded] : [];
}

/** Options of {@link pretrainedVocabulary}. */
export interface PretrainedVocabularyOptions {
  split: SplitRules;
  /** Least count of a training token without a vector or a valence to get a row. */
  minCount: number;
  /** Rows in all, reserved tokens included. */
  maxSize: number;
}

/**
 * The vocabulary of a pretrained model: `<pad>`, `<unk>`, then the tokens of the training texts by
 * decreasing count (those with a vector or a valence from count 1, the others from `minCount`) — the
 * rows training updates, `trainedRows` of them with the reserved two — then lexicon tokens, then GloVe's
 * words in its frequency order (only words the tokenizer can produce), up to `maxSize`.
 * @example const { vocab, trainedRows } = pretrainedVocabulary(texts, glove, valence, { split: 'social', minCount: 2, maxSize: 40000 });
 */
export function pretrainedVocabulary(
  texts: Iterable<string>,
  glove: WordVectors,
  valence: Valence,
  options: PretrainedVocabularyOptions,
): { vocab: string[]; trainedRows: number } {
  const counts = new Map<string, number>();
  for (const text of texts)
    for (const token of splitBy(options.split, text)) counts.set(token, (counts.get(token) ?? 0) + 1);
  counts.delete('<pad>');
  counts.delete('<unk>');
  const known = (t: string) => valence.has(t) || vectorWords(t, glove).length > 0;
  const trained = [...counts]
    .filter(([token, count]) => count >= options.minCount || known(token))
    .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
    .map(([token]) => token)
    .slice(0, options.maxSize - 2);
  const vocab = ['<pad>', '<unk>', ...trained];
  const seen = new Set(vocab);
  const rank = (t: string) => glove.index.get(t) ?? glove.words.length;
  const lexiconOnly = [...valence.keys()]
    .filter((t) => !seen.has(t))
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const token of lexiconOnly) {
    if (vocab.length >= options.maxSize) break;
    vocab.push(token);
    seen.add(token);
  }
  for (const word of glove.words) {
    if (vocab.length >= options.maxSize) break;
    if (seen.has(word)) continue;
    const tokens = splitBy(options.split, word);
    if (tokens.length === 1 && tokens[0] === word) {
      vocab.push(word);
      seen.add(word);
    }
  }
  return { vocab, trainedRows: 2 + trained.length };
}

/**
 * The fixed input table `[vocab, dims + priors]`: each row the mean of its {@link vectorWords}' vectors
 * (zeros when none, and for `<pad>`/`<unk>`), then its prior columns (zeros when no lexicon has it).
 */
export function baseTable(
  vocab: readonly string[],
  glove: WordVectors,
  valence: Valence | undefined,
): Float32Array {
  const priors = valence ? PRIOR_COLUMNS.length : 0;
  const width = glove.dims + priors;
  const table = new Float32Array(vocab.length * width);
  vocab.forEach((token, row) => {
    if (row < 2) return;
    const words = vectorWords(token, glove);
    for (const word of words) {
      const from = (glove.index.get(word) as number) * glove.dims;
      for (let i = 0; i < glove.dims; i++) table[row * width + i] += glove.vectors[from + i] / words.length;
    }
    const v = valence?.get(token);
    if (v) table.set(v, row * width + glove.dims);
  });
  return table;
}
