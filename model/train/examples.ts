/**
 * Training examples and batches: token ids with a class, length-bucketed batches (little padding work
 * for the packed network), and the augmentations that make a sentence-trained model useful on a stream
 * whose score is read after every message.
 */
import { type PackedBatch, packSorted } from './network.js';
import type { SeededRandom } from './random.js';

/** One encoded example. */
export interface Example {
  ids: Int32Array;
  /** Class index (sigmoid: 0 negative, 1 positive). */
  label: number;
  /** With teachers (distillation): the mean of their class probabilities for these ids. */
  soft?: number[];
}

/** A packed batch with its labels (and any soft targets) in the batch's (sorted) row order. */
export interface LabelledBatch {
  batch: PackedBatch;
  labels: number[];
  soft?: number[][];
}

/** Augmentations of {@link epochExamples}. */
export interface AugmentOptions {
  /**
   * Share of training sentences also seen as a random prefix (at least half of it) with the sentence's
   * label: a stream is scored after every message, i.e. on prefixes.
   * @default 0.2
   */
  prefixShare?: number;
  /**
   * Synthetic multi-sentence texts per epoch, as a share of the training sentences: 2…`concatMax`
   * sentences of one label joined, so the state learns to carry a judgement across sentences (sessions
   * and reviews are many sentences long; training only ever saw one).
   * @default 0.15
   */
  concatShare?: number;
  /** Most sentences joined into one synthetic text. @default 4 */
  concatMax?: number;
  /** Probability of replacing a token by `<unk>` (word dropout). @default 0.1 */
  wordDropout?: number;
  /** Longest training sequence; longer ones keep their last tokens (the end decides the final state). @default 128 */
  maxTokens?: number;
}

/** Defaults of {@link AugmentOptions}. */
export const DEFAULT_AUGMENT_OPTIONS: Required<AugmentOptions> = {
  prefixShare: 0.2,
  concatShare: 0.15,
  concatMax: 4,
  wordDropout: 0.1,
  maxTokens: 128,
};

/** Keeps the last `max` ids. */
export const lastTokens = (ids: Int32Array, max: number) =>
  ids.length > max ? ids.subarray(ids.length - max) : ids;

/**
 * One epoch's examples: the training sentences (word dropout applied), random prefixes and synthetic
 * multi-sentence texts, all drawn from `random`.
 */
export function epochExamples(
  train: readonly Example[],
  options: Required<AugmentOptions>,
  random: SeededRandom,
  oovId: number,
): Example[] {
  const out: Example[] = [];
  const dropWords = (ids: Int32Array): Int32Array => {
    if (options.wordDropout <= 0) return ids;
    const copy = ids.slice();
    for (let i = 0; i < copy.length; i++) if (random.next() < options.wordDropout) copy[i] = oovId;
    return copy;
  };
  for (const example of train) {
    out.push({ ids: dropWords(lastTokens(example.ids, options.maxTokens)), label: example.label });
    if (example.ids.length >= 4 && random.next() < options.prefixShare) {
      const min = Math.ceil(example.ids.length / 2);
      const length = min + random.int(example.ids.length - min);
      out.push({
        ids: dropWords(lastTokens(example.ids.subarray(0, length), options.maxTokens)),
        label: example.label,
      });
    }
  }
  const byLabel = new Map<number, Example[]>();
  for (const example of train) byLabel.set(example.label, [...(byLabel.get(example.label) ?? []), example]);
  const synthetic = Math.round(options.concatShare * train.length);
  for (let i = 0; i < synthetic && options.concatMax >= 2; i++) {
    const label = train[random.int(train.length)].label;
    const pool = byLabel.get(label) as Example[];
    const count = 2 + random.int(options.concatMax - 1);
    const parts = Array.from({ length: count }, () => pool[random.int(pool.length)].ids);
    const joined = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    out.push({ ids: dropWords(lastTokens(joined, options.maxTokens)), label });
  }
  return out;
}

/**
 * Length-bucketed batches: examples shuffled, sorted by length within windows of 50 batches, cut into
 * batches, and the batches shuffled. Each batch is sorted by decreasing length and packed.
 */
export function makeBatches(
  examples: readonly Example[],
  batchSize: number,
  random?: SeededRandom,
): LabelledBatch[] {
  const order = examples.filter((e) => e.ids.length > 0);
  if (random) random.shuffle(order);
  const window = batchSize * 50;
  const groups: Example[][] = [];
  for (let start = 0; start < order.length; start += window) {
    const chunk = order.slice(start, start + window).sort((a, b) => b.ids.length - a.ids.length);
    for (let b = 0; b < chunk.length; b += batchSize) groups.push(chunk.slice(b, b + batchSize));
  }
  if (random) random.shuffle(groups);
  return groups.map((group) => {
    const sorted = [...group].sort((a, b) => b.ids.length - a.ids.length);
    const batch = packSorted(sorted.map((e) => e.ids));
    const labels = sorted.map((e) => e.label);
    return sorted[0].soft
      ? { batch, labels, soft: sorted.map((e) => e.soft as number[]) }
      : { batch, labels };
  });
}
