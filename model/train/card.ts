/**
 * The model card written by `rnnstream train`: data, hyper-parameters (the gradient clip included),
 * training history and metrics through the serving engine.
 */
import { basename } from 'node:path';
import type { Metrics } from '../eval/metrics.js';
import type { TrainResult } from './train.js';

/** A percentage with one decimal, or `-`. */
export const pct = (x: number | undefined) =>
  x === undefined || Number.isNaN(x) ? '-' : (100 * x).toFixed(1);

/** A metrics table row: accuracy, F1, AUC (percent) and n. */
export const metricsCells = (m: Metrics) => `${pct(m.accuracy)} | ${pct(m.f1)} | ${pct(m.auc)} | ${m.n}`;

/** The hyper-parameter table of a run. */
export function hyperParameterTable(
  result: Pick<TrainResult, 'options' | 'vocabSize' | 'bestEpoch' | 'backend' | 'trainedRows'>,
): string {
  const o = result.options;
  const vocabulary = o.glove
    ? `${result.vocabSize} tokens: the ${result.trainedRows} of the training split (count ≥ ${o.minCount}, or any count with a vector or a valence), then lexicon entries, then GloVe's most frequent words`
    : `${result.vocabSize} tokens (training split, count ≥ ${o.minCount})`;
  const rows: [string, string][] = [
    [
      'network',
      `Embedding(${result.vocabSize}, ${o.embed}) → ${o.layers}× ${o.cell.toUpperCase()}(${o.hidden}) → Dense`,
    ],
    ...(o.members > 1
      ? ([
          [
            'ensemble (folded at export)',
            `${o.members} ${o.cell.toUpperCase()}s of ${o.hidden / o.members} units, each with its own head and loss${o.separateInputs ? ` and its own ${o.embed / o.members} input columns` : ''}, side by side (block-diagonal weights); the head averages their logits`,
          ],
        ] as [string, string][])
      : []),
    ...(o.glove
      ? ([
          [
            'input (folded at export)',
            `[GloVe 100-d + ${o.deltaScale}× trained correction${o.priors ? ' | VADER, AFINN valence' : ''}] → Linear(${o.priors ? 102 : 100} → ${o.embed})`,
          ],
        ] as [string, string][])
      : []),
    ['tokenizer', `${o.split ?? 'words'} rules, lowercase`],
    ...(o.dataWeights
      ? ([['data weights', o.data.map((d, i) => `${basename(d)} ×${o.dataWeights?.[i]}`).join(', ')]] as [
          string,
          string,
        ][])
      : []),
    ['optimizer', `Adam, learning rate ${o.learningRate}, batch ${o.batchSize}`],
    ['gradient clip', `global L2 norm ≤ ${o.clipNorm} (gradients rescaled)`],
    [
      'regularisation',
      `embedding dropout ${o.embedDropout}, output dropout ${o.outputDropout}, word dropout ${o.wordDropout}`,
    ],
    ...(o.weightAverage
      ? ([
          [
            'weight average',
            `moving average of the weights, decay ${o.weightAverage}: validation and the package use it`,
          ],
        ] as [string, string][])
      : []),
    ...(o.teachers?.length
      ? ([
          [
            'distillation',
            `soft targets: the mean probabilities of ${o.teachers.length} teacher package(s) (${o.teachers.join(', ')}) on each epoch's examples, weighted ${Number((1 - o.labelWeight).toFixed(6))} beside the label's ${o.labelWeight}`,
          ],
        ] as [string, string][])
      : []),
    [
      'augmentation',
      `random prefixes for ${pct(o.prefixShare)}% of sentences; ${pct(o.concatShare)}% extra texts of 2–${o.concatMax} same-label sentences`,
    ],
    ['sequence length', `last ${o.maxTokens} tokens of a training text (none cut at serving)`],
    ['vocabulary', vocabulary],
    [
      'epochs',
      `at most ${o.epochs}, early stopping on validation accuracy (patience ${o.patience}); kept epoch ${result.bestEpoch}`,
    ],
    ['seed', String(o.seed)],
    ['backend', `TF.js ${result.backend}`],
  ];
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

/**
 * Markdown of MODEL_CARD.md for a training run.
 * @example await writeFile('MODEL_CARD.md', renderTrainCard(result));
 */
export function renderTrainCard(result: TrainResult, extra?: string): string {
  const o = result.options;
  const history = result.history
    .map(
      (h) =>
        `| ${h.epoch} | ${h.loss.toFixed(4)} | ${pct(h.accuracy)} | ${pct(h.valAccuracy)} | ${h.seconds.toFixed(1)} |`,
    )
    .join('\n');
  return `# ${result.model.name}

Trained by \`rnnstream train\` on ${o.data.map((d) => `\`${basename(d)}\``).join(', ')}: ${result.sizes.train} training,
${result.sizes.val} validation and ${result.sizes.test} test texts (stable split by a hash of the text, 80/10/10).
Head: ${result.head.kind} over ${result.head.labels.join(', ')}.

## Hyper-parameters
${hyperParameterTable(result)}

## Metrics (through the serving engine)
| split | accuracy % | F1 % | ROC-AUC % | n |
|---|---|---|---|---|
| validation | ${metricsCells(result.validation)} |
| test | ${metricsCells(result.test)} |

Largest difference between the training network's and the served package's probabilities:
${result.servingDifference.toExponential(2)}. Training time: ${result.trainSeconds.toFixed(0)} s.

## Training history
| epoch | loss | accuracy % | validation accuracy % | seconds |
|---|---|---|---|---|
${history}
${extra ? `\n${extra}\n` : ''}`;
}
