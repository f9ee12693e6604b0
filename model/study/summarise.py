"""Summarises torch_replica.py's results (JSON lines) as a Markdown table: per variant, the mean over seeds of
each figure on the plain split, the selection score (the mean of sentence validation and live-feed dev
accuracy, as make model chooses), and the 10-fold cross-validation's P&L accuracy, mean ± sd over folds.
Where the runs carry their probabilities, a row "NAME ×N" scores the ensemble of the variant's N seeds
(the mean of their probabilities), with the labels from the study's data.json.

  python3 model/study/summarise.py RESULTS.jsonl [DATA_JSON (default data/cache/study/data.json)]
"""
import collections
import json
import os
import statistics
import sys

FIGURES = ['val660', 'liveFeed', 'plTest', 'uciTest', 'reviews', 'r50', 'feedTest']


def pct(x):
    return '%.1f' % (100 * x)


def labels_of(data_path):
    """The labels of each scored set, in the order torch_replica.py scores them."""
    if not os.path.exists(data_path):
        return None
    d = json.load(open(data_path))
    labels = {n: [r['y'] for r in rs] for n, rs in d['sets'].items()}
    labels['val660'] = [r['y'] for r in d['rows'] if r['s'] == 'val' and r['f'] in (0, 1)]
    labels['r50'] = labels['reviews']
    return labels


def ensemble_line(name, rs, labels):
    """The row of the ensemble of a variant's seeds: the mean of their probabilities on each set."""
    figures = {}
    for k in FIGURES:
        mean = [statistics.mean(ps) for ps in zip(*(r['probs'][k] for r in rs))]
        figures[k] = sum((p > 0.5) == (y == 1) for p, y in zip(mean, labels[k])) / len(mean)
    selection = (figures['val660'] + figures['liveFeed']) / 2
    cells = ' | '.join(pct(figures[k]) for k in FIGURES)
    return selection, f'| {name} ×{len(rs)} | ensemble | {pct(selection)} | {cells} | - | - |'


def main(path, data_path='data/cache/study/data.json'):
    labels = labels_of(data_path)
    runs = [json.loads(line) for line in open(path)]
    plain = collections.defaultdict(list)
    folds = collections.defaultdict(dict)
    for r in runs:
        if r['fold'] is None:
            plain[r['name']].append(r)
        else:
            folds[r['name']][r['fold']] = r
    print('| variant | seeds | selection | ' + ' | '.join(FIGURES) + ' | CV folds | CV P&L mean ± sd |')
    print('|' + '---|' * (len(FIGURES) + 5))
    lines = []
    for name, rs in plain.items():
        selection = statistics.mean((r['val660'] + r['liveFeed']) / 2 for r in rs)
        cv = [f['cvPL'] for f in folds.get(name, {}).values()]
        cv_text = f'{pct(statistics.mean(cv))} ± {pct(statistics.stdev(cv))}' if len(cv) > 1 else '-'
        cells = ' | '.join(pct(statistics.mean(r[k] for r in rs)) for k in FIGURES)
        lines.append((selection, f'| {name} | {len(rs)} | {pct(selection)} | {cells} | {len(cv)} | {cv_text} |'))
        with_probs = [r for r in rs if 'probs' in r]
        if labels and len(with_probs) > 1:
            lines.append(ensemble_line(name, with_probs, labels))
    for _, line in sorted(lines, reverse=True):
        print(line)


if __name__ == '__main__':
    main(*sys.argv[1:3])
