import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitByText, splitOf } from '../../../model/data/split.js';
import { embeddingSanity, formatEvaluation } from '../../../model/eval/evaluate.js';
import { fitThreshold, lexiconProbs } from '../../../model/eval/lexicons.js';
import { computeMetrics, rocAuc } from '../../../model/eval/metrics.js';

describe('metrics', () => {
  it('computes ROC-AUC as the rank statistic, ties counted half', () => {
    assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
    assert.equal(rocAuc([0.5, 0.5], [0, 1]), 0.5);
    assert.ok(Number.isNaN(rocAuc([0.2, 0.3], [1, 1])));
  });

  it('computes accuracy and the positive class F1', () => {
    const m = computeMetrics(
      [
        [0.2, 0.8],
        [0.6, 0.4],
        [0.3, 0.7],
        [0.9, 0.1],
      ],
      [1, 1, 0, 0],
    );
    assert.equal(m.accuracy, 0.5);
    assert.equal(m.f1, 0.5); // tp 1, fp 1, fn 1
    assert.equal(m.n, 4);
  });

  it('macro-averages F1 for more classes', () => {
    const m = computeMetrics(
      [
        [0.8, 0.1, 0.1],
        [0.1, 0.8, 0.1],
        [0.1, 0.1, 0.8],
      ],
      [0, 1, 2],
    );
    assert.deepEqual([m.accuracy, m.f1, m.auc], [1, 1, 1]);
  });

  it('fits a lexicon threshold on training scores and keeps the score order for AUC', () => {
    assert.equal(fitThreshold([-2, 0, 3], [0, 1, 1]), -1);
    assert.equal(fitThreshold([1, 2, 3, 4], [0, 0, 1, 1]), 2.5);
    const probs = lexiconProbs([-1, 0.5, 3], 0.5);
    assert.deepEqual(
      probs.map((p) => (p[1] > p[0] ? 1 : 0)),
      [0, 0, 1],
    );
  });

  it('embedding sanity separates same-label from other-label pairs', () => {
    const v = (...x: number[]) => Float32Array.from(x);
    const s = embeddingSanity([v(1, 0), v(0.9, 0.1), v(0, 1)], [1, 1, 0]);
    assert.ok(s.sameLabel > 0.99 && s.otherLabel < 0.2);
  });

  it('ends the --json report with the metrics object', () => {
    const text = formatEvaluation(
      {
        accuracy: 0.8,
        f1: 0.75,
        auc: 0.9,
        n: 10,
        model: 'm@x',
        prefixAccuracy: [{ fraction: 1, accuracy: 0.8 }],
        meanTokens: 5,
      },
      true,
    );
    assert.deepEqual(JSON.parse(text.split('\n').at(-1) as string), {
      accuracy: 0.8,
      f1: 0.75,
      auc: 0.9,
      n: 10,
    });
  });
});

describe('stable split', () => {
  it('puts a text in the same split whatever its whitespace, about 80/10/10', () => {
    assert.equal(splitOf('a  great\tfilm '), splitOf('a great film'));
    const texts = Array.from({ length: 5000 }, (_, i) => ({ text: `text number ${i}` }));
    const split = splitByText(texts);
    assert.ok(Math.abs(split.train.length / 5000 - 0.8) < 0.02, `train ${split.train.length}`);
    assert.ok(Math.abs(split.val.length / 5000 - 0.1) < 0.02, `val ${split.val.length}`);
    assert.equal(split.train.length + split.val.length + split.test.length, 5000);
  });
});
