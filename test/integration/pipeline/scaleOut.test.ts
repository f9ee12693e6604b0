/**
 * Scale out (issue 3, "Done when"): two workers in one consumer group split a 4-partition topic,
 * together write every output, and leave the same states as a single worker over the same input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  consumeAll,
  diffStates,
  jsonMessages,
  keyedInputs,
  produce,
  useFixture,
  type WorkerProcess,
} from '../../harness/index.js';

const KEYS = 40;
const PER_KEY = 8;
const N = KEYS * PER_KEY;
const PARTITIONS = [0, 1, 2, 3];

/** True when the workers' latest assignments are disjoint, non-empty and together cover every partition. */
function split(workers: readonly WorkerProcess[]): boolean {
  const all = workers.map((w) => w.assigned());
  if (all.some((a) => a.length === 0)) return false;
  const union = all.flat().sort((a, b) => a - b);
  return union.length === PARTITIONS.length && union.every((p, i) => p === PARTITIONS[i]);
}

describe('two workers in one group', { timeout: 180_000 }, () => {
  const ctx = useFixture();

  it('split the partitions, write every output together, and end with a single worker’s states', async (t) => {
    const { input, output, prefix, group } = await ctx.names('scale', 4);
    const watcher = await ctx.watch(output);

    const a = ctx.worker({ input, group, output, prefix, name: 'a' });
    const b = ctx.worker({ input, group, output, prefix, name: 'b' });
    // Input only once both are in the group, so that each gets its share from the start.
    // Whichever worker logs the join that completes the split sees it: wait on both, take the first.
    const waits = [a, b].map((w) => w.waitFor(() => split([a, b]), 'the partitions to be split', 60_000));
    for (const wait of waits) wait.catch(() => undefined);
    await Promise.race(waits);
    t.diagnostic(`a has ${a.assigned()}, b has ${b.assigned()}`);

    await produce(ctx.brokers, input, jsonMessages(keyedInputs({ keys: KEYS, perKey: PER_KEY, seed: 23 })));
    const inputs = await consumeAll(ctx.brokers, input, { count: N });
    await watcher.waitForInputs(inputs, 90_000);
    // The split the inputs were read under: once one worker stops, the other is given every partition.
    const assigned = new Map([a, b].map((w) => [w, w.assigned()] as const));
    const [statsA, statsB] = await Promise.all([a.stop(), b.stop()]);
    t.diagnostic(`a read ${statsA.messagesIn}, b read ${statsB.messagesIn}`);

    // Each worker read exactly the inputs of its own partitions.
    const perPartition = new Map<number, number>();
    for (const m of inputs) perPartition.set(m.partition, (perPartition.get(m.partition) ?? 0) + 1);
    const share = (w: WorkerProcess) =>
      (assigned.get(w) ?? []).reduce((sum, p) => sum + (perPartition.get(p) ?? 0), 0);
    assert.equal(statsA.messagesIn, share(a), 'a read its partitions');
    assert.equal(statsB.messagesIn, share(b), 'b read its partitions');
    assert.ok(statsA.outputs > 0 && statsB.outputs > 0, 'both workers wrote outputs');
    const counts = watcher.perPosition;
    for (const m of inputs)
      assert.equal(counts.get(`${m.partition}:${m.offset}`), 1, `outputs of ${m.partition}:${m.offset}`);

    const refPrefix = await ctx.referenceRun('scale-ref', input, inputs);

    const keys = [...new Set(inputs.map((m) => m.key ?? ''))];
    const together = await ctx.states(prefix, keys);
    const alone = await ctx.states(refPrefix, keys);
    assert.deepEqual(diffStates(keys, together, alone, 1e-5), []);
  });
});
