import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitByText, splitOf } from '../../../model/data/split.js';
import { calibration, calibrationSvg } from '../../../model/eval/calibration.js';
import { embeddingSanity, formatEvaluation } from '../../../model/eval/evaluate.js';
import { meanSd, wilson, withIntervals } from '../../../model/eval/intervals.js';
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
        intervals: { accuracy: [0.49, 0.94], f1: [0.4, 0.95], auc: [0.7, 1] },
        model: 'm@x',
        prefixAccuracy: [{ fraction: 1, accuracy: 0.8, interval: [0.49, 0.94] }],
        meanTokens: 5,
        ece: 0.05,
        lexicons: [
          {
            name: 'vader',
            threshold: 0,
            accuracy: 0.7,
            f1: 0.7,
            auc: 0.8,
            n: 10,
            intervals: { accuracy: [0.4, 0.89], f1: [0.3, 0.9], auc: [0.5, 1] },
          },
        ],
      },
      true,
    );
    assert.match(text, /accuracy 80\.0 \[49\.0, 94\.0\]%/);
    assert.match(text, /lexicon vader \(score > 0\): accuracy 70\.0 \[40\.0, 89\.0\]%/);
    assert.match(text, /expected calibration error 0\.050/);
    assert.deepEqual(JSON.parse(text.split('\n').at(-1) as string), {
      accuracy: 0.8,
      f1: 0.75,
      auc: 0.9,
      n: 10,
    });
  });
});

describe('intervals and calibration', () => {
  it('gives Wilson intervals for accuracy, t intervals for a fold mean', () => {
    const [lo, hi] = wilson(80, 100);
    assert.ok(Math.abs(lo - 0.7112) < 1e-3 && Math.abs(hi - 0.8666) < 1e-3, `${lo} ${hi}`);
    assert.deepEqual(wilson(0, 10)[0], 0);
    const cv = meanSd([0.78, 0.8, 0.82]);
    assert.ok(Math.abs(cv.mean - 0.8) < 1e-12 && Math.abs(cv.sd - 0.02) < 1e-12);
    // t(0.975, 2 df) = 4.303: mean ± 4.303 · 0.02 / √3.
    assert.ok(Math.abs(cv.interval[1] - (0.8 + (4.303 * 0.02) / Math.sqrt(3))) < 1e-9);
  });

  it('bootstraps F1 and AUC intervals reproducibly, around the figure', () => {
    const probs = Array.from({ length: 200 }, (_, i) => [1 - ((i * 37) % 100) / 100, ((i * 37) % 100) / 100]);
    const truth = probs.map((p, i) => (p[1] > 0.5 === (i % 5 !== 0) ? 1 : 0));
    const a = withIntervals(probs, truth);
    assert.deepEqual(withIntervals(probs, truth), a);
    for (const key of ['accuracy', 'f1', 'auc'] as const) {
      const [lo, hi] = a.intervals[key];
      assert.ok(lo < a[key] && a[key] < hi && hi - lo < 0.2, `${key} ${a[key]} [${lo}, ${hi}]`);
    }
  });

  it('bins predictions for a reliability diagram, with the expected calibration error', () => {
    const c = calibration(
      [
        [0.9, 0.1],
        [0.2, 0.8],
        [0.4, 0.6],
        [0.3, 0.7],
      ],
      [0, 1, 0, 1],
    );
    assert.equal(c.bins.length, 10);
    assert.deepEqual(
      c.bins.map((b) => b.count),
      [0, 1, 0, 0, 0, 0, 1, 1, 1, 0],
    );
    // |0 − 0.1|·¼ + |0 − 0.6|·¼ + |1 − 0.7|·¼ + |1 − 0.8|·¼
    assert.ok(Math.abs(c.ece - 0.3) < 1e-12);
    const svg = calibrationSvg([{ name: 'a <b>', calibration: c, colour: '#123456' }]);
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /a &#60;b&#62; \(ECE 0\.300\)/);
    assert.equal((svg.match(/<circle /g) ?? []).length, 4);
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
