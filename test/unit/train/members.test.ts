import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { blockMask, meanOverMembers, memberLogits } from '../../../model/train/members.js';
import { packSorted, TrainableNetwork } from '../../../model/train/network.js';
import { SeededRandom } from '../../../model/train/random.js';

/**
 * Member 0's logits on a small batch before and after `perturb` changes the network's weights (a copy of
 * `snapshot()`, in the order of `variables()`, with their shapes) must be equal.
 */
function assertMember0Unchanged(
  net: TrainableNetwork,
  perturb: (weights: Float32Array[], shapes: number[][]) => void,
): void {
  const batch = packSorted([Int32Array.of(1, 2, 3, 4), Int32Array.of(5, 6)]);
  const member0 = () =>
    tf.tidy(() => Array.from(net.memberLogits(batch).dataSync()).filter((_, i) => i % 2 === 0));
  const before = member0();
  const weights = net.snapshot().map((w) => w.slice());
  perturb(
    weights,
    net.variables().map((v) => v.shape),
  );
  net.restore(weights);
  const after = member0();
  before.forEach((l, i) => {
    assert.ok(Math.abs(l - after[i]) < 1e-6, `row ${i}: ${l} → ${after[i]}`);
  });
  net.dispose();
}

describe('members (an ensemble folded into one network)', () => {
  it('masks a transposed kernel block-diagonally in every gate', () => {
    // 4 units, 2 members, 2 gates: member 0 is units 0–1, member 1 units 2–3, in both gates' columns.
    const rows = Array.from({ length: 4 }, (_, i) =>
      Array.from(blockMask(4, 4, 2, 2).slice(i * 8, i * 8 + 8)),
    );
    assert.deepEqual(rows, [
      [1, 1, 0, 0, 1, 1, 0, 0],
      [1, 1, 0, 0, 1, 1, 0, 0],
      [0, 0, 1, 1, 0, 0, 1, 1],
      [0, 0, 1, 1, 0, 0, 1, 1],
    ]);
  });

  it("gives each member its own head's logit, and their mean", () => {
    tf.tidy(() => {
      const hidden = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]); // 2 rows, 2 members of 2 units
      const headW = tf.tensor2d([0.5, -1, 2, 0.25], [4, 1]);
      const headB = tf.tensor2d([0.1, -0.2], [2, 1]);
      const logits = memberLogits(hidden, headW, headB);
      const expected = [1 * 0.5 - 2 + 0.1, 3 * 2 + 4 * 0.25 - 0.2, 5 * 0.5 - 6 + 0.1, 7 * 2 + 8 * 0.25 - 0.2];
      Array.from(logits.dataSync()).forEach((l, i) => {
        assert.ok(Math.abs(l - expected[i]) < 1e-6, `${l} vs ${expected[i]}`);
      });
      const mean = Array.from(meanOverMembers(logits, 2).dataSync());
      assert.ok(Math.abs(mean[0] - (expected[0] + expected[1]) / 2) < 1e-6);
      assert.ok(Math.abs(mean[1] - (expected[2] + expected[3]) / 2) < 1e-6);
    });
  });

  it("keeps each member's logit independent of the other members' weights", () => {
    const net = new TrainableNetwork(
      { cell: 'gru', vocabSize: 10, embed: 4, hiddenSize: 6, numLayers: 2, outputs: 1, members: 2 },
      new SeededRandom(3),
    );
    // Change every weight from or to member 1 (units 3–5 of each gate) in both layers and its head: member
    // 0's logits must not move (the masks cut the weights from member 1 to member 0). Variables: the input
    // table, then wIh [in, 3H], wHh [H, 3H], bIh, bHh per layer, then headW [H, 1], headB [2, 1].
    const H = 6;
    assertMember0Unchanged(net, (weights, shapes) => {
      const last = weights.length - 1;
      weights.forEach((w, k) => {
        if (k === 0) return; // the shared input table
        const cols = shapes[k][1] ?? 1;
        for (let i = 0; i < w.length; i++) {
          const row = Math.floor(i / cols);
          const member1 =
            k === last // headB [2, 1]
              ? row === 1
              : k === last - 1 // headW [H, 1]
                ? row >= 3
                : (i % cols) % H >= 3 || (k !== 1 && shapes[k].length === 2 && row >= 3); // to, or from member 1
          if (member1) w[i] += 0.5;
        }
      });
    });
  });

  it('with separate inputs, keeps a member independent of the input columns of the others', () => {
    const net = new TrainableNetwork(
      {
        cell: 'lstm',
        vocabSize: 10,
        embed: 4,
        hiddenSize: 6,
        numLayers: 1,
        outputs: 1,
        members: 2,
        separateInputs: true,
      },
      new SeededRandom(4),
    );
    // Member 1's input columns are 2–3 of the table [10, 4]: change them, and every wIh entry from them.
    assertMember0Unchanged(net, ([table, wIh]) => {
      table.forEach((_, i) => {
        if (i % 4 >= 2) table[i] += 0.5;
      });
      wIh.forEach((_, i) => {
        if (Math.floor(i / 24) >= 2) wIh[i] += 0.5; // wIh [4, 4·6]
      });
    });
  });

  it('refuses a member count that does not divide the hidden size', () => {
    assert.throws(
      () =>
        new TrainableNetwork(
          { cell: 'gru', vocabSize: 10, embed: 4, hiddenSize: 6, numLayers: 1, outputs: 1, members: 4 },
          new SeededRandom(3),
        ),
      /members must be a positive integer dividing the hidden size 6, got 4/,
    );
  });
});
