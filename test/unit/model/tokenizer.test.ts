import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PoisonInputError } from '../../../core/errors.js';
import { buildVocabulary, splitWords, splitWordsSegmenter, Tokenizer } from '../../../model/tokenizer.js';

describe('tokenizer', () => {
  it('lowercases Unicode text and splits words and each punctuation mark', () => {
    assert.deepEqual(splitWords("Ça VA? C'est génial!!"), ['ça', 'va', '?', "c'est", 'génial', '!', '!']);
    assert.deepEqual(splitWords('ÉTÉ   À   PARIS…'), ['été', 'à', 'paris', '.', '.', '.']);
    assert.deepEqual(splitWords('Straße ΣΟΦΊΑ'), ['straße', 'σοφία']);
    assert.deepEqual(splitWords('ｆｕｌｌ　ｗｉｄｔｈ'), ['full', 'width']);
    assert.deepEqual(splitWords('I ❤️ it 👍🏽!'), ['i', '❤️', 'it', '👍🏽', '!']);
    assert.deepEqual(splitWords('3.14 is (roughly) π'), ['3.14', 'is', '(', 'roughly', ')', 'π']);
    assert.deepEqual(splitWords(' \n\t '), []);
    assert.deepEqual(splitWords('KEEP Case', false), ['KEEP', 'Case']);
  });

  it('maps tokens to ids with pad 0 and oov 1', () => {
    const tokenizer = new Tokenizer(['<pad>', '<unk>', 'ça', 'va', '?', 'génial', '!']);
    assert.deepEqual([...tokenizer.encode("Ça va? C'est GÉNIAL!")], [2, 3, 4, 1, 5, 6]);
    assert.deepEqual(tokenizer.decode([2, 1, 99]), ['ça', '<unk>', '<unk>']);
    assert.equal(tokenizer.size, 7);
    // The reserved ids never come out of a text, even if the text contains their spelling.
    const withPadWord = new Tokenizer(['pad', 'unk', 'x']);
    assert.deepEqual([...withPadWord.encode('pad unk x')], [1, 1, 2]);
  });

  it('refuses a message over maxTokens as poison input, and leaves the decision to the caller', () => {
    const tokenizer = new Tokenizer(['<pad>', '<unk>', 'a'], { maxTokens: 3 });
    assert.equal(tokenizer.encode('a a a').length, 3);
    assert.throws(
      () => tokenizer.encode('a a a a'),
      (e: unknown) => e instanceof PoisonInputError && e.reason === 'too-many-tokens' && !e.retriable,
    );
    assert.equal(tokenizer.encodeTokens(tokenizer.tokenize('a a a a').slice(0, 3)).length, 3);
    assert.throws(() => new Tokenizer(['<pad>'], {}), /oovId 1 is outside/);
  });

  it('builds a vocabulary by count, with minCount and maxSize, deterministically', () => {
    const texts = ['the cat, the dog', 'The cat!', 'a dog', 'zebra'];
    assert.deepEqual(buildVocabulary(texts, { minCount: 2 }), ['<pad>', '<unk>', 'the', 'cat', 'dog']);
    assert.deepEqual(buildVocabulary(texts, { minCount: 1, maxSize: 4 }), ['<pad>', '<unk>', 'the', 'cat']);
    assert.deepEqual(buildVocabulary(texts, { minCount: 1 }).slice(5), ['!', ',', 'a', 'zebra']);
  });

  it('splits ASCII text on its fast path exactly as ICU does, chunks ICU joins across punctuation included', () => {
    const cases: [string, string[]][] = [
      // Punctuation next to one word: never joined.
      ["'abc", ["'", 'abc']],
      ["abc'", ['abc', "'"]],
      ['abc.', ['abc', '.']],
      ['.abc', ['.', 'abc']],
      ['a-b', ['a', '-', 'b']],
      ['#tag', ['#', 'tag']],
      ['@user', ['@', 'user']],
      ['$5', ['$', '5']],
      ['5%', ['5', '%']],
      [':)', [':', ')']],
      ['...', ['.', '.', '.']],
      ['a,b a;b a.1 a"b', ['a', ',', 'b', 'a', ';', 'b', 'a', '.', '1', 'a', '"', 'b']],
      [
        '(a) [b] {c} <d> a--b',
        ['(', 'a', ')', '[', 'b', ']', '{', 'c', '}', '<', 'd', '>', 'a', '-', '-', 'b'],
      ],
      // Joined by UAX#29 (these chunks go to the Segmenter).
      ["don't", ["don't"]],
      ['3.14', ['3.14']],
      ['e.g e.g.', ['e.g', 'e.g', '.']],
      ['a:b x.y.z', ['a:b', 'x.y.z']],
      ["1,000 1;2 1'2", ['1,000', '1;2', "1'2"]],
      ['abc_ _x __ _', ['abc_', '_x', '__', '_']],
      ['a\u0001b', ['a', '\u0001', 'b']],
      // Fast chunks and Segmenter chunks in one text, lowercased; non-ASCII sends the whole text to ICU.
      ["Don't STOP, it's 3.14!", ["don't", 'stop', ',', "it's", '3.14', '!']],
      ["café don't", ['café', "don't"]],
      ['\t\n\r\v\f ', []],
    ];
    for (const [text, expected] of cases) {
      assert.deepEqual(splitWords(text), expected, JSON.stringify(text));
      assert.deepEqual(splitWordsSegmenter(text), expected, JSON.stringify(text));
    }
    assert.deepEqual(splitWords("Don't A_B", false), ["Don't", 'A_B']);
  });

  it('gives the same tokens as the Segmenter alone on random mostly-ASCII text (property)', () => {
    const chars = (s: string) => fc.constantFrom(...Array.from(s));
    const unit = fc.oneof(
      { weight: 8, arbitrary: chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ') },
      { weight: 3, arbitrary: chars('0123456789') },
      { weight: 3, arbitrary: chars(' \t\n\r\v\f') },
      { weight: 5, arbitrary: chars(`!"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}~`) },
      { weight: 1, arbitrary: chars('\u0000\u0001\u001f\u007f') },
      { weight: 1, arbitrary: fc.constantFrom('é', 'É', 'ﬁ', '\u0301', '\u00a0', '’', '😀', '👍🏽', '中文') },
      {
        weight: 2,
        arbitrary: fc.constantFrom("don't", '3.14', 'e.g.', 'a_b', '1,000', 'a:b', '...', ' -- '),
      },
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), fc.boolean(), (text, lowercase) => {
        assert.deepEqual(splitWords(text, lowercase), splitWordsSegmenter(text, lowercase));
      }),
      { numRuns: 4000 },
    );
  });
});
