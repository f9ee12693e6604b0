/**
 * An ensemble folded into one recurrent network. `members` independent cells of `H / members` units each
 * read the same input table; side by side they are one cell of H units whose hidden-to-hidden weights (and,
 * in a deeper layer, input weights) are block-diagonal, gate by gate, because every gate is elementwise.
 * Each member has its own head and is trained on its own loss, so the members learn like the models of an
 * ensemble (from their own random start); at export the heads are averaged into one, which makes the served
 * logit the mean of the members' logits, and the package stays a plain Embedding → cell → Dense.
 * On small data the members' errors partly cancel: the mean varies less from seed to seed than one cell of
 * the same width, at the same serving cost.
 */
import * as tf from '@tensorflow/tfjs';

/** The member (block) a unit of a layer of `hidden` units belongs to. */
const memberOf = (unit: number, hidden: number, members: number) => Math.floor(unit / (hidden / members));

/**
 * The 0/1 mask of a `[rows, gates·hidden]` transposed kernel (`W_hhᵀ`, or a deeper layer's `W_ihᵀ`) that
 * keeps the entries from a member's units (the m-th of `members` equal blocks of rows) to the same member's
 * units, in every gate. With separate inputs the first layer's `W_ihᵀ` is masked too: each member then reads
 * its own block of the input table's columns and shares nothing with the others but the table's rows.
 * @example blockMask(4, 4, 2, 1) // [[1,1,0,0],[1,1,0,0],[0,0,1,1],[0,0,1,1]] as a flat array
 */
export function blockMask(rows: number, hidden: number, members: number, gates: number): Float32Array {
  const mask = new Float32Array(rows * gates * hidden);
  for (let i = 0; i < rows; i++)
    for (let g = 0; g < gates; g++)
      for (let j = 0; j < hidden; j++)
        if (memberOf(i, rows, members) === memberOf(j, hidden, members))
          mask[i * gates * hidden + g * hidden + j] = 1;
  return mask;
}

/**
 * Each member's head logits `[rows · members, outputs]` (row r's members at r·members … r·members + members − 1)
 * from the last hidden state `[rows, H]`, the heads' weights `[H, outputs]` (member m reads units
 * m·H/members …) and biases `[members, outputs]`.
 */
export function memberLogits(hidden: tf.Tensor2D, headW: tf.Tensor2D, headB: tf.Tensor2D): tf.Tensor2D {
  const [rows, H] = hidden.shape;
  const [members, outputs] = headB.shape;
  const width = H / members;
  const perMember = tf.matMul(
    tf.transpose(tf.reshape(hidden, [rows, members, width]), [1, 0, 2]),
    tf.reshape(headW, [members, width, outputs]),
  ); // [members, rows, outputs]
  return tf.reshape(tf.add(tf.transpose(perMember, [1, 0, 2]), headB), [rows * members, outputs]);
}

/**
 * The mean over members of {@link memberLogits}' output: `[rows, outputs]`, what the folded head computes.
 * With one member, the logits themselves (the same tensor, so a single network trains exactly as before).
 */
export const meanOverMembers = (logits: tf.Tensor2D, members: number): tf.Tensor2D => {
  if (members === 1) return logits;
  const [n, outputs] = logits.shape;
  return tf.mean(tf.reshape(logits, [n / members, members, outputs]), 1);
};
