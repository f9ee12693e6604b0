import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inSubsample } from '../../../model/train/learningCurve.js';

describe('learning curve subsample', () => {
  const texts = Array.from({ length: 4000 }, (_, i) => `a sentence of the review number ${i} .`);

  it('keeps about PERCENT% of the texts, nested: a smaller subsample is inside a larger one', () => {
    const kept = (percent: number) => texts.filter((t) => inSubsample(t, percent));
    const [ten, half, all] = [kept(10), kept(50), kept(100)];
    assert.ok(Math.abs(ten.length - 400) < 80, `10%: ${ten.length} of 4000`);
    assert.ok(Math.abs(half.length - 2000) < 150, `50%: ${half.length} of 4000`);
    assert.equal(all.length, texts.length);
    const inHalf = new Set(half);
    assert.ok(
      ten.every((t) => inHalf.has(t)),
      'every text of the 10% subsample is in the 50% one',
    );
  });
});
