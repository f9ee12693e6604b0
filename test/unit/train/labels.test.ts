import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../core/errors.js';
import { binaryClass, inferHead, inferHeadOfFiles, labelIndex } from '../../../model/data/labels.js';
import type { HeadSpec } from '../../../model/types.js';

const binary: HeadSpec = { kind: 'sigmoid', labels: ['negative', 'positive'] };
const at = { file: 'reviews.csv', line: 7 };

describe('label parsing', () => {
  for (const [pos, neg] of [
    ['1', '0'],
    ['1', '-1'],
    ['positive', 'negative'],
    ['pos', 'neg'],
    ['POSITIVE', ' Negative '],
  ]) {
    it(`reads ${pos}/${neg} as a binary sigmoid head`, () => {
      assert.deepEqual(inferHead([pos, neg, pos]), binary);
      assert.equal(labelIndex(pos, binary, at), 1);
      assert.equal(labelIndex(neg, binary, at), 0);
    });
  }

  it('maps binary spellings to classes and leaves others undefined', () => {
    assert.equal(binaryClass('+1'), 1);
    assert.equal(binaryClass('-1'), 0);
    assert.equal(binaryClass('maybe'), undefined);
  });

  it('gives a softmax head with the label names for other label sets', () => {
    assert.deepEqual(inferHead(['sports', 'politics', 'tech', 'sports']), {
      kind: 'softmax',
      labels: ['politics', 'sports', 'tech'],
    });
    // 1, 0 and -1 together are three classes, not a binary set.
    assert.equal(inferHead(['1', '0', '-1']).kind, 'softmax');
  });

  it('reads files with different binary spellings (1/0 and 1/-1) as one binary set', () => {
    assert.deepEqual(
      inferHeadOfFiles([
        ['1', '0'],
        ['1', '-1'],
      ]),
      binary,
    );
    assert.equal(inferHeadOfFiles([['1', '0', '-1']]).kind, 'softmax');
  });

  it('refuses an unknown label, naming the file and the line', () => {
    assert.throws(
      () => labelIndex('maybe', binary, at),
      (error: unknown) =>
        error instanceof ConfigError && /reviews\.csv:7: unknown label "maybe"/.test(error.message),
    );
    const topics: HeadSpec = { kind: 'softmax', labels: ['politics', 'sports'] };
    assert.equal(labelIndex('sports', topics, at), 1);
    assert.throws(
      () => labelIndex('tech', topics, at),
      /reviews\.csv:7: unknown label "tech" \(expected politics, sports\)/,
    );
  });
});
