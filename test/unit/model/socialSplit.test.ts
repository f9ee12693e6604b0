import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalEmoticon, foldedVariants, splitSocial } from '../../../model/socialSplit.js';
import { buildVocabulary, splitWords, Tokenizer } from '../../../model/tokenizer.js';

describe('social splitting rules', () => {
  it('keeps emoticons whole, in one spelling, and leaves look-alikes in words and numbers alone', () => {
    const cases: [string, string[]][] = [
      ['great :) but :( now', ['great', ':)', 'but', ':(', 'now']],
      ['great:) :-) =) :] :)))', ['great', ':)', ':)', ':)', ':)', ':)']],
      [':-( :(( :[ >:( ;-) ;)', [':(', ':(', ':(', '>:(', ';)', ';)']],
      [
        ":D XD xD :P :p <3 </3 :'( :/ -_- ^_^",
        [':d', 'xd', 'xd', ':p', ':p', '<3', '</3', ":'(", ':/', '-_-', '^_^'],
      ],
      // Not emoticons: a URL, a ratio, a time, letters after the mouth, a digit before the eyes.
      [
        'http://x.io a:b 10:30 :)x 8)',
        ['http', ':', '/', '/', 'x.io', 'a:b', '10', ':', '30', ':', ')', 'x', '8', ')'],
      ],
      ['boxd xdx', ['boxd', 'xdx']],
    ];
    for (const [text, expected] of cases) assert.deepEqual(splitSocial(text), expected, text);
    assert.equal(canonicalEmoticon('=-DDD'), ':d');
  });

  it('drops emoji skin tones and variation selectors, and folds letter runs to two', () => {
    assert.deepEqual(splitSocial('I ❤️ it 👍🏽 👍 😂😂'), ['i', '❤', 'it', '👍', '👍', '😂', '😂']);
    assert.deepEqual(splitSocial('Sooo GOOOOD, yesss!!!'), ['soo', 'good', ',', 'yess', '!', '!', '!']);
    assert.deepEqual(splitSocial('1000 zzz'), ['1000', 'zz']);
    assert.deepEqual(foldedVariants('soo'), ['so']);
    assert.deepEqual(foldedVariants('cooll'), ['cool', 'coll', 'col']);
    assert.deepEqual(foldedVariants('cat'), []);
  });

  it('looks a folded token up with its doubled letters made single, only when it is unknown', () => {
    const vocab = buildVocabulary(['so good', 'so cool :)', 'good'], { minCount: 1, split: 'social' });
    assert.ok(vocab.includes(':)'));
    const social = new Tokenizer(vocab, { split: 'social' });
    const ids = (text: string) => social.decode(social.encode(text));
    assert.deepEqual(ids('sooo goood :-) coooolll'), ['so', 'good', ':)', 'cool']);
    assert.deepEqual(ids('zooo'), ['<unk>']);
    // The original rules are unchanged: no folding, emoticons are punctuation.
    const words = new Tokenizer(vocab);
    assert.deepEqual(words.decode(words.encode('sooo :)')), ['<unk>', '<unk>', '<unk>']);
  });

  it('equals the word split on text without emoticon characters, runs or emoji (property)', () => {
    const unit = fc.constantFrom(...Array.from('abcdefghijklmnopqrstuvwABC0123 ,.!?\'"()/-é'));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (text) => {
        fc.pre(!/(\p{L})\1\1/iu.test(text) && !/[:;=<^_x-]/i.test(text));
        assert.deepEqual(splitSocial(text), splitWords(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('never yields an empty token, whitespace or a run of three letters, and is stable (property)', () => {
    const unit = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...Array.from('aaooxXdDpP:;=-()<3^_/ \t!.,')) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(':)', ':-(', 'XD', '<3', '😂', '👍🏽', '❤️', 'sooo', 'http://'),
      },
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 30 }), fc.boolean(), (text, lowercase) => {
        const tokens = splitSocial(text, lowercase);
        for (const token of tokens) {
          assert.ok(token.length > 0 && !/\s/u.test(token), JSON.stringify(token));
          assert.ok(!/(\p{L})\1\1/u.test(token), JSON.stringify(token));
        }
        // Each (lowercased) token split on its own is itself: folding and spellings are fixed points.
        if (lowercase) for (const token of tokens) assert.deepEqual(splitSocial(token), [token]);
      }),
      { numRuns: 2000 },
    );
  });
});
