/**
 * Scores token sequences with a model package through the serving engine (the same code that runs in
 * `run`/`score`), in bounded chunks, optionally reading the score at fractions of each text as well.
 */
import { createStreamingEngine, createWholeEncoder, type ModelPackage } from '../modelPackage.js';

/** Options of {@link scoreTokens}. */
export interface ScoreOptions {
  /**
   * Fractions of each text (0 < f < 1) after which the score is also read: the stream's view after
   * that much of the text arrived. Unidirectional models only.
   * @default []
   */
  fractions?: number[];
  /** Most tokens per engine call (bounds memory on long reviews). @default 32768 */
  chunkTokens?: number;
  /** Most rows per engine call. @default 256 */
  chunkRows?: number;
}

/** What {@link scoreTokens} returns, per row in input order. */
export interface Scored {
  /** Head probabilities after the whole text. */
  probs: number[][];
  /** The embedding (last layer's final hidden state). */
  hidden: Float32Array[];
  /** `prefixProbs[f][i]`: probabilities of row i after `fractions[f]` of its tokens. */
  prefixProbs: number[][][];
}

/** Token count after fraction `f` of `n` tokens (at least one token when there are any). */
export const prefixLength = (n: number, f: number) => (n === 0 ? 0 : Math.max(1, Math.round(n * f)));

/**
 * Runs every row through the package's engine and head.
 * @example const { probs } = await scoreTokens(model, texts.map((t) => model.tokenizer.encodeTokens(model.tokenizer.tokenize(t))));
 */
export async function scoreTokens(
  model: ModelPackage,
  rows: readonly Int32Array[],
  options: ScoreOptions = {},
): Promise<Scored> {
  const { fractions = [], chunkTokens = 32768, chunkRows = 256 } = options;
  const out: Scored = {
    probs: new Array(rows.length),
    hidden: new Array(rows.length),
    prefixProbs: fractions.map(() => new Array(rows.length)),
  };
  // Chunks of rows of similar length keep each engine call's packed batch dense.
  const order = rows.map((_, i) => i).sort((a, b) => rows[b].length - rows[a].length);
  const chunks: number[][] = [];
  let current: number[] = [];
  let tokens = 0;
  for (const i of order) {
    if (current.length > 0 && (current.length >= chunkRows || tokens + rows[i].length > chunkTokens)) {
      chunks.push(current);
      current = [];
      tokens = 0;
    }
    current.push(i);
    tokens += rows[i].length;
  }
  if (current.length > 0) chunks.push(current);

  if (model.bidirectional) {
    if (fractions.length > 0) throw new RangeError('prefix scores need a unidirectional model');
    const encoder = createWholeEncoder(model);
    try {
      for (const chunk of chunks) {
        const hidden = await encoder.encodeTokens(chunk.map((i) => rows[i]));
        chunk.forEach((row, k) => {
          out.hidden[row] = hidden[k];
          out.probs[row] = model.head.predictOne(hidden[k]).probs;
        });
      }
    } finally {
      encoder.dispose();
    }
    return out;
  }
  const engine = createStreamingEngine(model);
  try {
    for (const chunk of chunks) {
      const results = await engine.step(
        chunk.map((i) => ({
          tokens: rows[i],
          marks: fractions.map((f) => prefixLength(rows[i].length, f)),
        })),
      );
      chunk.forEach((row, k) => {
        const result = results[k];
        out.hidden[row] = result.last;
        out.probs[row] = model.head.predictOne(result.last).probs;
        result.marked.forEach((h, f) => {
          out.prefixProbs[f][row] = model.head.predictOne(h).probs;
        });
      });
    }
  } finally {
    engine.dispose();
  }
  return out;
}
