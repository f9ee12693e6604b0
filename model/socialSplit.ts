/**
 * The `social` splitting rules of the tokenizer (docs/MODEL_PACKAGE.md, `tokenizer.split`): the word
 * split of {@link splitWords}, plus what live chat and feeds depend on —
 * - ASCII emoticons are one token each, in a canonical spelling (":-)" ":)" "=)" ":]" → ":)", ":-((" → ":(",
 *   ":D" → ":d", "<3", "xd", "^_^", ";)", ":'(", ":/", ":p" …);
 * - emoji keep their grapheme, skin-tone modifiers and the emoji variation selector dropped
 *   ("👍🏽" → "👍", "❤️" → "❤");
 * - a run of three or more of one letter is folded to two ("sooo" → "soo", "goooood" → "good");
 *   {@link foldedVariants} lists the spellings a vocabulary lookup tries next ("soo" → "so").
 */
import { splitWords } from './tokenizer.js';

// Eyes, optional nose, mouth (repeatable). Mouths that are letters, digits or slashes are ambiguous
// ("http://", "a:b", "10:30"), so those emoticons must not follow a letter or digit; the others
// (":)", ":(", ":]") may follow a word directly ("great:)") but never a digit.
const CLEAR_MOUTH = String.raw`[:;=][-^]?(?:\)+|\(+|\]+|\[+|\*+)|:'[-]?(?:\(+|\)+)|>:[-]?(?:\(+|\)+)`;
const AMBIGUOUS = String.raw`[:;=][-^]?(?:d+|p+|o+|\/+|\\+|\|+|3+|\$+|s+|x+)|<\/?3+|x-?d+|\^_*\^|-_+-|t_+t|o_o`;
const EMOTICON = new RegExp(
  String.raw`(?<!\p{N})(?:${CLEAR_MOUTH})(?![\p{L}\p{N}])|(?<![\p{L}\p{N}])(?:${AMBIGUOUS})(?![\p{L}\p{N}])`,
  'giu',
);
const HAS_EMOTICON_CHAR = /[:;=<^_x-]/i;

/** Canonical spelling of a matched emoticon: lowercase, no nose, one mouth character, `=` eyes as `:`. */
export function canonicalEmoticon(raw: string): string {
  let e = raw.toLowerCase();
  if (/^[:;=>]/.test(e) || e.startsWith(":'")) {
    e = e.replace(/^=/, ':').replace(/^([>]?[:;]'?)[-^]/, '$1');
    e = e.replace(/(.)\1+$/u, '$1');
    e = e.replace(/\]$/, ')').replace(/\[$/, '(');
  } else if (/^x-?d+$/.test(e)) e = 'xd';
  else if (/^<\/?3+$/.test(e)) e = e.replace(/3+$/, '3');
  else e = e.replace(/_+/g, '_');
  return e;
}

const SKIN_AND_VS16 = /[\u{1F3FB}-\u{1F3FF}\u{FE0F}]/gu;
const LETTER_RUN = /(\p{L})\1{2,}/gu;

/** Folds one word or symbol token: emoji modifiers dropped, letter runs of 3+ cut to 2. */
function foldToken(token: string): string {
  // Fast path (most tokens): ASCII with no character three times in a row is left as it is.
  let plain = true;
  for (let i = 0; i < token.length && plain; i++) {
    const c = token.charCodeAt(i);
    plain = c < 128 && !(i >= 2 && c === token.charCodeAt(i - 1) && c === token.charCodeAt(i - 2));
  }
  if (plain) return token;
  if (token.length > 1 && /\P{ASCII}/u.test(token)) {
    const bare = token.replace(SKIN_AND_VS16, '');
    if (bare !== '') token = bare;
  }
  return token.replace(LETTER_RUN, '$1$1');
}

/**
 * Splits text by the `social` rules (see the file's comment).
 * @example splitSocial('Sooo good :-) 👍🏽') // ['soo', 'good', ':)', '👍']
 */
export function splitSocial(text: string, lowercase = true): string[] {
  const tokens: string[] = [];
  const push = (piece: string) => {
    for (const token of splitWords(piece, lowercase)) tokens.push(foldToken(token));
  };
  if (!HAS_EMOTICON_CHAR.test(text)) {
    push(text);
    return tokens;
  }
  let from = 0;
  for (const match of text.matchAll(EMOTICON)) {
    const at = match.index as number;
    if (at > from) push(text.slice(from, at));
    tokens.push(canonicalEmoticon(match[0]));
    from = at + match[0].length;
  }
  if (from < text.length) push(text.slice(from));
  return tokens;
}

/**
 * Other spellings of a token with doubled letters, tried in order when it is not in the vocabulary:
 * each combination of its doubled letters made single, fewest changes first, left to right
 * ("soo" → ["so"], "cooll" → ["cool", "coll", "col"]). At most 4 doubled runs are varied.
 * @example foldedVariants('yess') // ['yes']
 */
export function foldedVariants(token: string): string[] {
  const runs: number[] = [];
  for (let i = 0; i + 1 < token.length && runs.length < 4; i++) {
    if (token[i] === token[i + 1] && /\p{L}/u.test(token[i]) && token[i + 2] !== token[i]) {
      runs.push(i);
      i++;
    }
  }
  if (runs.length === 0) return [];
  const masks = Array.from({ length: (1 << runs.length) - 1 }, (_, m) => m + 1);
  const bits = (m: number) => m.toString(2).replace(/0/g, '').length;
  // Fewest singled runs first; among equals, the rightmost runs singled first ("cooll" → "cool").
  masks.sort((a, b) => bits(a) - bits(b) || b - a);
  return masks.map((mask) => {
    let out = '';
    for (let i = 0, r = 0; i < token.length; i++) {
      out += token[i];
      if (r < runs.length && runs[r] === i) {
        if (!(mask & (1 << r))) out += token[i + 1];
        i++;
        r++;
      }
    }
    return out;
  });
}
