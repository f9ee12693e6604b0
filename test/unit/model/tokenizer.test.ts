import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildVocabulary, splitWords, Tokenizer } from '../../../model/tokenizer.js';
import { PoisonInputError } from '../../../pipeline/errors.js';

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
});
