/**
 * CommitCoordinator against a fake source and sink: reads of two partitions complete in batches, in any
 * order, with revocations (exactly-once) anywhere. What a run relies on, as properties:
 * - every output written is the output of a position the same write commits (exactly-once: a transaction
 *   holds exactly the outputs of the offsets it commits), and none is written twice;
 * - per partition, committed positions are the reads in source order, each once, never past one still
 *   in flight;
 * - once every read completed, every output of a read that was not abandoned was written, and every read
 *   was acked (abandoned ones only give budget back, never committed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Subject } from 'rxjs';
import type { SinkRecord, SourcePosition } from '../../../core/contracts.js';
import { CommitCoordinator } from '../../../pipeline/commitCoordinator.js';

const pos = (offset: number, partition = 0): SourcePosition => ({
  topic: 't',
  partition,
  offset: String(offset),
});

function output(position: SourcePosition): SinkRecord {
  return {
    key: `k${position.offset}`,
    value: {
      key: `k${position.offset}`,
      source: position,
      tokens: 1,
      totalTokens: 1,
      model: 'tiny@abc',
    },
  };
}

function fakes(commitsOffsets: boolean) {
  const revoked$ = new Subject<{ topic: string; partition: number }[]>();
  const writes: { outputs: readonly SinkRecord[]; consumed: readonly SourcePosition[] }[] = [];
  const acks: SourcePosition[][] = [];
  const commits = new CommitCoordinator({
    source: {
      revoked$,
      ack: async (positions) => {
        acks.push([...positions]);
      },
    },
    sink: {
      commitsOffsets,
      write: async (outputs, consumed) => {
        writes.push({ outputs: [...outputs], consumed: [...consumed] });
      },
    },
    retry: (_op, fn) => fn(),
  });
  return { commits, revoked$, writes, acks };
}

describe('CommitCoordinator', () => {
  it('exactly-once: holds an output until its position is released, then writes it with that position', async () => {
    const { commits, writes, acks } = fakes(true);
    const [a, b] = [pos(0), pos(1)];
    commits.register(a);
    commits.register(b);
    await commits.complete([b], [output(b)]);
    assert.deepEqual(writes, [], 'offset 1 waits for offset 0: nothing to commit yet');
    await commits.complete([a], [output(a)]);
    await commits.flush();
    assert.deepEqual(writes, [{ outputs: [output(a), output(b)], consumed: [a, b] }], 'in source order');
    assert.deepEqual(acks, [[a, b]]);
    assert.equal(commits.inFlight, 0);
  });

  it('at-least-once: writes outputs at once, and acks only the contiguous prefix', async () => {
    const { commits, writes, acks } = fakes(false);
    const [a, b] = [pos(0), pos(1)];
    commits.register(a);
    commits.register(b);
    await commits.complete([b], [output(b)]);
    assert.deepEqual(writes, [{ outputs: [output(b)], consumed: [] }]);
    await commits.complete([a], [output(a)]);
    await commits.flush();
    assert.deepEqual(acks, [[a, b]]);
  });

  it('exactly-once: a revoked partition’s held outputs are dropped and its reads only acked (budget back)', async () => {
    const { commits, revoked$, writes, acks } = fakes(true);
    const [a, b] = [pos(0), pos(1)];
    commits.register(a);
    commits.register(b);
    await commits.complete([b], [output(b)]);
    revoked$.next([{ topic: 't', partition: 0 }]);
    assert.ok(commits.isAbandoned(a));
    await commits.complete([a], []);
    await commits.flush();
    assert.deepEqual(writes, [], 'nothing of a revoked partition is committed');
    assert.deepEqual(acks.flat(), [b, a]);
    commits.close();
  });

  it('exactly-once: after a revocation, a re-read of the same offsets writes only the new reads’ outputs', async () => {
    const { commits, revoked$, writes } = fakes(true);
    const [a, b] = [pos(0), pos(1)];
    commits.register(a);
    commits.register(b);
    await commits.complete([b], [output(b)]);
    revoked$.next([{ topic: 't', partition: 0 }]);
    // The partition comes back: kafkajs reads it again from the committed offset (new reads, same offsets).
    const [a2, b2] = [pos(0), pos(1)];
    commits.register(a2);
    commits.register(b2);
    await commits.complete([a2, b2], [output(a2), output(b2)]);
    await commits.complete([a], []);
    await commits.flush();
    assert.deepEqual(
      writes.flatMap((w) => w.outputs.map((o) => o.value.source)),
      [a2, b2],
      'the first read’s held output of offset 1 is not written beside the second’s',
    );
  });

  it('property: outputs are written with the offsets they commit, once, in order; everything is acked in the end', async () => {
    const scenario = fc.record({
      exactlyOnce: fc.boolean(),
      reads: fc.array(fc.constantFrom(0, 1), { minLength: 1, maxLength: 30 }),
      // Each read's batch (completion group) and the order batches complete in.
      batchOf: fc.array(fc.nat({ max: 5 }), { minLength: 30, maxLength: 30 }),
      order: fc.shuffledSubarray([0, 1, 2, 3, 4, 5], { minLength: 6, maxLength: 6 }),
      revokeAfter: fc.option(fc.record({ batch: fc.nat({ max: 5 }), partition: fc.constantFrom(0, 1) })),
      dead: fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ exactlyOnce, reads, batchOf, order, revokeAfter, dead }) => {
        const { commits, revoked$, writes, acks } = fakes(exactlyOnce);
        const next = [0, 0];
        const positions = reads.map((partition) => pos(next[partition]++, partition));
        for (const p of positions) commits.register(p);
        const revokedPartitions = new Set<number>();
        for (const [step, batch] of order.entries()) {
          const members = positions.filter((_, i) => batchOf[i] === batch);
          const outputs = members
            .filter((p) => !dead[positions.indexOf(p)] && !commits.isAbandoned(p))
            .map(output);
          await commits.complete(members, outputs);
          if (exactlyOnce && revokeAfter && revokeAfter.batch === step) {
            revokedPartitions.add(revokeAfter.partition);
            revoked$.next([{ topic: 't', partition: revokeAfter.partition }]);
          }
        }
        await commits.flush();
        commits.close();

        const written = writes.flatMap((w) => w.outputs);
        assert.equal(new Set(written).size, written.length, 'an output written twice');
        if (exactlyOnce) {
          for (const w of writes) {
            for (const o of w.outputs)
              assert.ok(w.consumed.includes(o.value.source), 'output without its offset');
          }
        }
        const acked = acks.flat();
        assert.equal(new Set(acked).size, acked.length, 'a read acked twice');
        assert.deepEqual(new Set(acked), new Set(positions), 'every read acked in the end');
        for (const partition of [0, 1]) {
          const committed = (exactlyOnce ? writes.flatMap((w) => w.consumed) : acked).filter(
            (p) => p.partition === partition,
          );
          const inOrder = positions.filter((p) => p.partition === partition).slice(0, committed.length);
          assert.deepEqual(committed, inOrder, `partition ${partition}: committed out of order`);
        }
        if (revokedPartitions.size === 0) {
          const expected = positions.filter((p) => !dead[positions.indexOf(p)]);
          assert.deepEqual(new Set(written.map((o) => o.value.source)), new Set(expected));
        }
      }),
      { numRuns: 300 },
    );
  });
});
