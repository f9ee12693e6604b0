"""Summarises torch_replica.py's results (JSON lines) as a Markdown table: per variant, the mean over seeds of
each figure on the plain split, the selection score (the mean of sentence validation and live-feed dev
accuracy, as make model chooses), and the 10-fold cross-validation's P&L accuracy, mean ± sd over folds.

  python3 model/study/summarise.py RESULTS.jsonl
"""
import collections
import json
import statistics
import sys

FIGURES = ['val660', 'liveFeed', 'plTest', 'uciTest', 'reviews', 'r50', 'feedTest']


def pct(x):
    return '%.1f' % (100 * x)


def main(path):
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
    for _, line in sorted(lines, reverse=True):
        print(line)


if __name__ == '__main__':
    main(sys.argv[1])
