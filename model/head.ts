/**
 * The output head over the last hidden state: one logit through a sigmoid (labels `[negative, positive]`)
 * or one logit per label through a softmax. Small enough (C × H multiply-adds per row) to run on the host
 * in float64 for a whole batch, with no tensors to manage.
 */

import type { Prediction } from '../core/contracts.js';
import { ModelFormatError } from '../core/errors.js';
import type { HostTensor } from './safetensors.js';
import type { HeadSpec } from './types.js';

/** A dense layer plus sigmoid or softmax, applied to a batch of hidden states. */
export class Head {
  readonly spec: HeadSpec;
  /** Width of the hidden state it reads (H, or 2H for a bidirectional network). */
  readonly inputSize: number;
  private readonly weight: Float32Array;
  private readonly bias: Float32Array;
  private readonly outputs: number;

  /**
   * @param weight `[C, inputSize]` (PyTorch `Linear.weight`); C = 1 for sigmoid, one per label for softmax.
   * @param bias `[C]`; absent = zeros.
   * @example const head = new Head({ kind: 'sigmoid', labels: ['negative', 'positive'] }, weight, bias);
   */
  constructor(spec: HeadSpec, weight: HostTensor, bias?: HostTensor) {
    const outputs = spec.kind === 'sigmoid' ? 1 : spec.labels.length;
    if (spec.kind === 'sigmoid' && spec.labels.length !== 2) {
      throw new ModelFormatError(`a sigmoid head needs exactly 2 labels, got ${spec.labels.length}`);
    }
    if (spec.kind === 'softmax' && spec.labels.length < 2) {
      throw new ModelFormatError('a softmax head needs at least 2 labels');
    }
    if (weight.shape.length !== 2 || weight.shape[0] !== outputs) {
      throw new ModelFormatError(
        `tensor "head.weight" has shape [${weight.shape.join(', ')}], expected [${outputs}, hidden]`,
      );
    }
    if (bias && (bias.shape.length !== 1 || bias.shape[0] !== outputs)) {
      throw new ModelFormatError(
        `tensor "head.bias" has shape [${bias.shape.join(', ')}], expected [${outputs}]`,
      );
    }
    this.spec = { kind: spec.kind, labels: [...spec.labels] };
    this.inputSize = weight.shape[1];
    this.outputs = outputs;
    this.weight = weight.data;
    this.bias = bias?.data ?? new Float32Array(outputs);
  }

  /** The raw logits of one hidden state. */
  logits(hidden: Float32Array): number[] {
    if (hidden.length !== this.inputSize) {
      throw new RangeError(`head expects a hidden state of ${this.inputSize} values, got ${hidden.length}`);
    }
    const out: number[] = [];
    for (let c = 0; c < this.outputs; c++) {
      let sum = this.bias[c];
      const row = c * this.inputSize;
      for (let i = 0; i < this.inputSize; i++) sum += this.weight[row + i] * hidden[i];
      out.push(sum);
    }
    return out;
  }

  /**
   * Predictions for a batch of last hidden states (score = probability of the chosen label).
   * @example const [p] = head.predict([result.last]); // { label: 'positive', score: 0.93, probs: [0.07, 0.93] }
   */
  predict(hidden: readonly Float32Array[]): Prediction[] {
    return hidden.map((h) => this.predictOne(h));
  }

  /** The prediction for one hidden state. */
  predictOne(hidden: Float32Array): Prediction {
    const logits = this.logits(hidden);
    let probs: number[];
    if (this.spec.kind === 'sigmoid') {
      const p = 1 / (1 + Math.exp(-logits[0]));
      probs = [1 - p, p];
    } else {
      const max = Math.max(...logits);
      const exps = logits.map((l) => Math.exp(l - max));
      const total = exps.reduce((a, b) => a + b, 0);
      probs = exps.map((e) => e / total);
    }
    let best = 0;
    for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
    return { label: this.spec.labels[best], score: probs[best], probs };
  }
}
