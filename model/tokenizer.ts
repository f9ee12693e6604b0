/**
 * Word-level tokenizer: Unicode-aware lowercasing (NFKC + toLowerCase), words found by ICU's word
 * segmentation (`Intl.Segmenter`, built into Node), every punctuation mark or symbol its own token,
 * whitespace dropped; a vocabulary maps tokens to ids (pad 0, oov 1). The `social` rules
 * (model/socialSplit.ts) also keep emoticons whole and fold emoji modifiers and repeated letters.
 */
import { PoisonInputError } from '../core/errors.js';
import { foldedVariants, splitSocial } from './socialSplit.js';

/**
 * How text is split into tokens: `words` ({@link splitWords}) or `social` (emoticons, emoji and
 * repeated letters folded: {@link splitSocial}); a package says which in `tokenizer.split`.
 */
export type SplitRules = 'words' | 'social';

/** Splits text by `rules`. */
export const splitBy = (rules: SplitRules, text: string, lowercase = true): string[] =>
  rules === 'social' ? splitSocial(text, lowercase) : splitWords(text, lowercase);

/** Options of {@link Tokenizer}. */
export interface TokenizerOptions {
  /** Lowercase (after NFKC normalization) before splitting. @default true */
  lowercase?: boolean;
  /** Most tokens a message may have; more is a {@link PoisonInputError} `too-many-tokens`. @default 512 */
  maxTokens?: number;
  /** Id of the padding token. @default 0 */
  padId?: number;
  /** Id given to tokens outside the vocabulary. @default 1 */
  oovId?: number;
  /**
   * Splitting rules; with `social`, a token outside the vocabulary is also looked up with its doubled
   * letters made single ("soo" → "so"). @default 'words'
   */
  split?: SplitRules;
}

/** Defaults of {@link TokenizerOptions}. */
export const DEFAULT_TOKENIZER_OPTIONS: Required<TokenizerOptions> = {
  lowercase: true,
  maxTokens: 512,
  padId: 0,
  oovId: 1,
  split: 'words',
};

/** The reserved tokens at ids 0 and 1 of a vocabulary built by {@link buildVocabulary}. */
export const PAD_TOKEN = '<pad>';
export const OOV_TOKEN = '<unk>';

// Locale-independent word boundaries (ICU's default rules); one segmenter serves every call.
const wordSegmenter = new Intl.Segmenter('und', { granularity: 'word' });
const graphemeSegmenter = new Intl.Segmenter('und', { granularity: 'grapheme' });
const WHITESPACE = /^\s+$/u;
const NON_ASCII = /\P{ASCII}/u;

/**
 * Splits text into word and punctuation tokens (no vocabulary involved).
 * @example splitWords("Ça VA? C'est génial!!") // ['ça', 'va', '?', "c'est", 'génial', '!', '!']
 */
export function splitWords(text: string, lowercase = true): string[] {
  // Intl.Segmenter costs a call into ICU and a fresh object per segment, which made splitWords the
  // largest JS self-time of the pipeline. Most texts are plain ASCII, where NFKC changes nothing and
  // UAX#29 comes down to rules a char loop applies (see splitAscii); anything else takes the Segmenter.
  if (NON_ASCII.test(text)) return splitWordsSegmenter(text, lowercase);
  return splitAscii(lowercase ? text.toLowerCase() : text);
}

/**
 * {@link splitWords} through `Intl.Segmenter` alone, whatever the text: the reference the ASCII fast
 * path must match token for token (the tests compare the two).
 * @example splitWordsSegmenter("Don't!") // ["don't", '!']
 */
export function splitWordsSegmenter(text: string, lowercase = true): string[] {
  const normalized = lowercase ? text.normalize('NFKC').toLowerCase() : text.normalize('NFKC');
  const tokens: string[] = [];
  pushSegments(normalized, tokens);
  return tokens;
}

/** Pushes the tokens of already normalized text, found by ICU word segmentation, onto `tokens`. */
function pushSegments(normalized: string, tokens: string[]): void {
  for (const { segment, isWordLike } of wordSegmenter.segment(normalized)) {
    if (isWordLike) tokens.push(segment);
    else if (!WHITESPACE.test(segment)) {
      // A non-word segment can hold several marks ("?!", "...") or stray whitespace: one token per
      // visible grapheme, so emoji with modifiers stay whole.
      for (const { segment: g } of graphemeSegmenter.segment(segment))
        if (!WHITESPACE.test(g)) tokens.push(g);
    }
  }
}

// What splitAscii does with each ASCII code unit.
const ALNUM = 1; // letter or digit: runs of them are one word (UAX#29 WB5, WB8–WB10)
const SPACE = 2; // ASCII \s: always a boundary in UAX#29 (WB3a, WB3b), never a token
const MARK = 3; // punctuation that joins nothing: a token of its own
// ' . , : ; may join the alphanumerics on either side ("don't", "3.14", "1,000", "a:b"); " joins only
// Hebrew letters (WB7b), listed to be safe.
const JOINER = 4;
const OTHER = 0; // '_' (ExtendNumLet joins words: "a_", "__") and control characters: ICU decides
const ASCII_KIND = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  ASCII_KIND[c] = /[a-z0-9]/i.test(ch)
    ? ALNUM
    : /\s/.test(ch)
      ? SPACE
      : `'".,:;`.includes(ch)
        ? JOINER
        : ch === '_' || c < 0x20 || c === 0x7f
          ? OTHER
          : MARK;
}

/**
 * {@link splitWords} of lowercased (or as-is) pure-ASCII text, same tokens as the Segmenter. Whitespace
 * always breaks in ASCII, so each whitespace-delimited chunk is independent: a chunk of alphanumeric runs
 * and marks that join nothing is split here; one where ICU could join across punctuation (a joiner
 * between alphanumerics, '_', a control character) goes to the Segmenter on its own.
 */
function splitAscii(text: string): string[] {
  const tokens: string[] = [];
  const n = text.length;
  let chunkStart = 0;
  let chunkTokens = 0;
  let i = 0;
  while (i < n) {
    const kind = ASCII_KIND[text.charCodeAt(i)];
    if (kind === ALNUM) {
      let end = i + 1;
      while (end < n && ASCII_KIND[text.charCodeAt(end)] === ALNUM) end++;
      tokens.push(text.slice(i, end));
      i = end;
    } else if (kind === SPACE) {
      i++;
      chunkStart = i;
      chunkTokens = tokens.length;
    } else if (
      kind === MARK ||
      (kind === JOINER &&
        !(ASCII_KIND[text.charCodeAt(i - 1)] === ALNUM && ASCII_KIND[text.charCodeAt(i + 1)] === ALNUM))
    ) {
      tokens.push(text[i]);
      i++;
    } else {
      let end = i + 1;
      while (end < n && ASCII_KIND[text.charCodeAt(end)] !== SPACE) end++;
      tokens.length = chunkTokens;
      pushSegments(text.slice(chunkStart, end), tokens);
      i = end;
    }
  }
  return tokens;
}

/** Text → token ids with a fixed vocabulary. */
export class Tokenizer {
  readonly vocab: readonly string[];
  readonly options: Required<TokenizerOptions>;
  private readonly ids: Map<string, number>;

  /**
   * @param vocab Index = token id; ids `padId` and `oovId` are reserved.
   * @example const tokenizer = new Tokenizer(['<pad>', '<unk>', 'good', 'bad'], { maxTokens: 256 });
   */
  constructor(vocab: readonly string[], options: TokenizerOptions = {}) {
    this.options = { ...DEFAULT_TOKENIZER_OPTIONS, ...options };
    const { padId, oovId, maxTokens } = this.options;
    if (!Number.isInteger(maxTokens) || maxTokens < 1)
      throw new RangeError('maxTokens must be a positive integer');
    for (const [name, id] of [
      ['padId', padId],
      ['oovId', oovId],
    ] as const) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab.length) {
        throw new RangeError(`${name} ${id} is outside the vocabulary of ${vocab.length} tokens`);
      }
    }
    this.vocab = vocab;
    this.ids = new Map();
    vocab.forEach((token, id) => {
      if (id !== padId && id !== oovId && !this.ids.has(token)) this.ids.set(token, id);
    });
  }

  /** Number of ids (the embedding's row count). */
  get size(): number {
    return this.vocab.length;
  }

  /**
   * Splits text into tokens (words and punctuation), without a length limit.
   * @example tokenizer.tokenize('Great movie!') // ['great', 'movie', '!']
   */
  tokenize(text: string): string[] {
    return splitBy(this.options.split, text, this.options.lowercase);
  }

  /**
   * Text → token ids. More than `maxTokens` tokens is a {@link PoisonInputError} with reason
   * `too-many-tokens`: the caller decides whether to dead-letter or cut (see {@link encodeTokens}).
   * @example tokenizer.encode('great movie') // Int32Array [2, 7]
   */
  encode(text: string): Int32Array {
    const tokens = this.tokenize(text);
    if (tokens.length > this.options.maxTokens) {
      throw new PoisonInputError(
        'too-many-tokens',
        `message has ${tokens.length} tokens, more than maxTokens ${this.options.maxTokens}`,
      );
    }
    return this.encodeTokens(tokens);
  }

  /** Tokens → ids (unknown tokens → `oovId`), with no length check. */
  encodeTokens(tokens: readonly string[]): Int32Array {
    const out = new Int32Array(tokens.length);
    const fold = this.options.split === 'social';
    for (let i = 0; i < tokens.length; i++)
      out[i] = this.ids.get(tokens[i]) ?? (fold ? this.foldedId(tokens[i]) : this.options.oovId);
    return out;
  }

  /** The id of the first {@link foldedVariants} spelling in the vocabulary, else `oovId`. */
  private foldedId(token: string): number {
    for (const variant of foldedVariants(token)) {
      const id = this.ids.get(variant);
      if (id !== undefined) return id;
    }
    return this.options.oovId;
  }

  /** Ids → tokens, for debugging. */
  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => this.vocab[id] ?? OOV_TOKEN);
  }
}

/** Options of {@link buildVocabulary}. */
export interface VocabularyOptions {
  /** Least number of occurrences for a token to get its own id. @default 2 */
  minCount?: number;
  /** Largest vocabulary, reserved tokens included. @default 20000 */
  maxSize?: number;
  /** Lowercase before counting (must match the tokenizer's setting). @default true */
  lowercase?: boolean;
  /** Splitting rules (must match the tokenizer's setting). @default 'words' */
  split?: SplitRules;
}

/** Defaults of {@link VocabularyOptions}. */
export const DEFAULT_VOCABULARY_OPTIONS: Required<VocabularyOptions> = {
  minCount: 2,
  maxSize: 20000,
  lowercase: true,
  split: 'words',
};

/**
 * Builds a vocabulary from training texts: `<pad>`, `<unk>`, then tokens by decreasing count (ties in
 * code-point order, so the result is deterministic).
 * @example const vocab = buildVocabulary(texts, { minCount: 2, maxSize: 20000 });
 */
export function buildVocabulary(texts: Iterable<string>, options: VocabularyOptions = {}): string[] {
  const { minCount, maxSize, lowercase, split } = { ...DEFAULT_VOCABULARY_OPTIONS, ...options };
  if (maxSize < 2) throw new RangeError('maxSize must be at least 2 (<pad> and <unk>)');
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const token of splitBy(split, text, lowercase)) counts.set(token, (counts.get(token) ?? 0) + 1);
  }
  counts.delete(PAD_TOKEN);
  counts.delete(OOV_TOKEN);
  const kept = [...counts]
    .filter(([, count]) => count >= minCount)
    .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxSize - 2)
    .map(([token]) => token);
  return [PAD_TOKEN, OOV_TOKEN, ...kept];
}
