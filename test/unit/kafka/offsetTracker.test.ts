import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextOffsets, PartitionTracker } from '../../../pipeline/kafka/offsetTracker.js';

describe('PartitionTracker', () => {
  it('commits only the contiguous acked prefix, whatever the ack order', () => {
    const t = new PartitionTracker('t', 0);
    for (const o of ['10', '11', '12', '13']) t.push(o, 5);
    assert.equal(t.ack('12'), 5);
    assert.equal(t.advance(), undefined, '10 and 11 not acked: nothing to commit');
    t.ack('10');
    assert.equal(t.advance(), '11');
    t.ack('11');
    assert.equal(t.advance(), '13', 'past 12, already acked');
    assert.equal(t.advance(), undefined, 'no move, no commit');
    assert.equal(t.pending, 1);
    assert.equal(t.nextFetchOffset, '14');
  });

  it('ignores unknown and repeated acks', () => {
    const t = new PartitionTracker('t', 0);
    t.push('1', 3);
    assert.equal(t.ack('2'), undefined);
    assert.equal(t.ack('1'), 3);
    assert.equal(t.ack('1'), undefined);
  });

  it('handles offsets beyond 2^53', () => {
    const t = new PartitionTracker('t', 0);
    t.push('9007199254740993', 1);
    t.ack('9007199254740993');
    assert.equal(t.advance(), '9007199254740994');
  });

  it('refuses offsets that do not increase', () => {
    const t = new PartitionTracker('t', 0);
    t.push('5', 1);
    assert.throws(() => t.push('5', 1), /must increase/);
  });

  it('keeps memory proportional to the records in flight', () => {
    const t = new PartitionTracker('t', 0);
    for (let i = 0; i < 5000; i++) {
      t.push(String(i), 1);
      t.ack(String(i));
      t.advance();
    }
    assert.equal(t.pending, 0);
    assert.equal(t.pendingBytes(), 0);
  });
});

describe('nextOffsets', () => {
  it('is the highest offset + 1 per partition', () => {
    assert.deepEqual(
      nextOffsets([
        { topic: 'a', partition: 0, offset: '4' },
        { topic: 'a', partition: 0, offset: '9' },
        { topic: 'a', partition: 1, offset: '2' },
        { topic: 'b', partition: 0, offset: '7' },
      ]),
      [
        { topic: 'a', partition: 0, offset: '10' },
        { topic: 'a', partition: 1, offset: '3' },
        { topic: 'b', partition: 0, offset: '8' },
      ],
    );
  });
});
