/**
 * An exponential moving average of the trainable weights (Polyak averaging), kept beside them during
 * training: validation, early stopping and the saved package use the averaged weights, which on small,
 * noisy data generalise better than the last step's. Deterministic: plain arithmetic on the weights.
 *
 * The decay warms up like TensorFlow's `ExponentialMovingAverage(num_updates)`: at step t it is
 * `min(decay, (1 + t) / (10 + t))`, so the first steps are not dominated by the random initialisation.
 */
import * as tf from '@tensorflow/tfjs';

/** The effective decay after `step` updates (see the file's comment). */
export const warmedDecay = (decay: number, step: number) => Math.min(decay, (1 + step) / (10 + step));

/** A moving average of `variables`, updated after each optimiser step. */
export class WeightAverage {
  private readonly variables: tf.Variable[];
  private readonly averages: tf.Variable[];
  private readonly decay: number;
  private steps = 0;

  /** Starts the average at the variables' current values. */
  constructor(variables: tf.Variable[], decay: number) {
    if (!(decay > 0 && decay < 1))
      throw new RangeError(`weight-average decay must be in (0, 1), got ${decay}`);
    this.variables = variables;
    this.decay = decay;
    this.averages = variables.map((v) => tf.variable(v.clone(), false, `${v.name}Average`));
  }

  /** Folds the variables' current values into the average: `a ← d·a + (1 − d)·w`. */
  update(): void {
    const d = warmedDecay(this.decay, this.steps++);
    tf.tidy(() => {
      this.averages.forEach((a, i) => {
        a.assign(tf.add(tf.mul(a, d), tf.mul(this.variables[i], 1 - d)));
      });
    });
  }

  /** The averaged values, in the variables' order (what `TrainableNetwork.restore` takes). */
  values(): Float32Array[] {
    return this.averages.map((a) => a.dataSync().slice() as Float32Array);
  }

  /** Releases the averages. */
  dispose(): void {
    tf.dispose(this.averages);
  }
}
