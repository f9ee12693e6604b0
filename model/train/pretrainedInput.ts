/**
 * The input layer of a pretrained model: a fixed table of GloVe vectors and lexicon prior columns
 * (model/train/priors.ts), a trainable correction of the vectors for the rows training sees, and a
 * learned projection to the network's input width:
 *
 *   x(id) = [glove(id) + scale · delta(id) | priors(id)] · W + b
 *
 * Every term depends on the id alone, so the whole layer folds into one plain embedding table
 * ({@link PretrainedInput.table}) and the serving engine never knows it existed.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherRows, uniform } from './hostOps.js';
import type { SeededRandom } from './random.js';

/** What a {@link PretrainedInput} is built from. */
export interface PretrainedSpec {
  /** `[rows, width]` fixed input: `vectorWidth` vector columns, then the prior columns. */
  base: Float32Array;
  /** Columns of `base`. */
  width: number;
  /** Leading columns of `base` that are word vectors (the delta corrects these). */
  vectorWidth: number;
  /**
   * Rows `0 … trainedRows−1` get a trainable correction (the tokens of the training texts); the others
   * keep their pretrained vector, so words never seen in training mean what GloVe says they mean.
   */
  trainedRows: number;
  /**
   * Scale of the correction: Adam moves each parameter by about the learning rate per step, so the
   * vectors move `scale` times as fast as the other weights. 0 freezes the vectors.
   */
  deltaScale: number;
}

/** The trainable pretrained input (see the file's comment). */
export class PretrainedInput {
  readonly spec: PretrainedSpec;
  readonly rows: number;
  private readonly base: tf.Tensor2D;
  private readonly delta?: tf.Variable;
  private readonly projection: tf.Variable;
  private readonly bias: tf.Variable;

  /** Draws W from `random` (PyTorch's Linear default: uniform ±1/√width); delta and b start at zero. */
  constructor(spec: PretrainedSpec, embed: number, random: SeededRandom) {
    this.spec = spec;
    this.rows = spec.base.length / spec.width;
    this.base = tf.tensor2d(spec.base, [this.rows, spec.width]);
    if (spec.deltaScale > 0) {
      this.delta = tf.variable(tf.zeros([spec.trainedRows, spec.vectorWidth]), true, 'embeddingDelta');
    }
    const bound = 1 / Math.sqrt(spec.width);
    this.projection = tf.variable(
      tf.tensor2d(uniform(spec.width * embed, bound, random), [spec.width, embed]),
      true,
      'embeddingProjection',
    );
    this.bias = tf.variable(tf.zeros([embed]), true, 'embeddingBias');
  }

  /** The trainable variables, in a fixed order. */
  variables(): tf.Variable[] {
    return [...(this.delta ? [this.delta] : []), this.projection, this.bias];
  }

  /** `x(id)` of each id, `[ids, embed]`. Call inside `tf.tidy` (or `tf.variableGrads`). */
  lookup(ids: Int32Array): tf.Tensor2D {
    const base = tf.gather(this.base, tf.tensor1d(ids, 'int32')) as tf.Tensor2D;
    let x = tf.matMul(base, this.projection);
    if (this.delta) {
      const { trainedRows, vectorWidth, deltaScale } = this.spec;
      // Rows without a correction read row 0 (<pad>, never in a training text), whose delta stays 0.
      const deltaIds = ids.map((id) => (id < trainedRows ? id : 0));
      const delta = tf.mul(gatherRows(this.delta as tf.Tensor2D, deltaIds), deltaScale);
      const vectorProjection = this.projection.slice([0, 0], [vectorWidth, -1]);
      x = tf.add(x, tf.matMul(delta, vectorProjection));
    }
    return tf.add(x, this.bias) as tf.Tensor2D;
  }

  /** The folded table `[rows, embed]` (row 0, `<pad>`, zero: it never reaches the cell). */
  table(): Float32Array {
    const embed = this.projection.shape[1] as number;
    const out = new Float32Array(this.rows * embed);
    const chunk = 4096;
    for (let start = 0; start < this.rows; start += chunk) {
      const ids = Int32Array.from({ length: Math.min(chunk, this.rows - start) }, (_, i) => start + i);
      out.set(
        tf.tidy(() => this.lookup(ids).dataSync()),
        start * embed,
      );
    }
    out.fill(0, 0, embed);
    return out;
  }

  /** Releases the fixed table (the variables are released with the network's). */
  dispose(): void {
    this.base.dispose();
  }
}
