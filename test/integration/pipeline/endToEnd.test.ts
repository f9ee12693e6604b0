/**
 * `rnnstream run` end to end against the real broker and Redis (issue 3, "Done when"):
 * produce → run → consume gives one output per input in per-key order with its source position; a second
 * pass over the same input (a new group from the beginning, like an offset reset) changes no state and
 * re-emits every output marked `replayed`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OutputMessage } from '../../../core/contracts.js';
import {
  committedOffsets,
  countBySource,
  E2eContext,
  jsonMessages,
  keyedInputs,
  outputsByKey,
  parseOutput,
  positionsOf,
  readRawStates,
  readStates,
  topicEnds,
} from '../../fixtures/kafkaRun.js';
import { type ConsumedMessage, consumeAll, produce } from '../../harness/index.js';

const KEYS = 30;
const PER_KEY = 10;
const N = KEYS * PER_KEY;

describe('rnnstream run: Kafka in, Kafka out, state in Redis', { timeout: 150_000 }, () => {
  let ctx: E2eContext;
  let input: string;
  let prefix: string;
  let inputs: ConsumedMessage[];
  let keys: string[];
  /** Outputs of the first pass, parsed, in arrival order. */
  let first: OutputMessage[] = [];

  before(async () => {
    ctx = await E2eContext.create();
    input = await ctx.topic('e2e-in', 4);
    prefix = ctx.prefix('e2e-state');
    await produce(ctx.brokers, input, jsonMessages(keyedInputs({ keys: KEYS, perKey: PER_KEY, seed: 7 })));
    // The positions the broker gave each input: what every output's `source` must name.
    inputs = await consumeAll(ctx.brokers, input, { count: N });
    keys = [...new Set(inputs.map((m) => m.key ?? ''))].sort();
  });

  after(() => ctx?.cleanup());

  it('writes exactly one output per input, in per-key order, with its source position', async () => {
    const output = await ctx.topic('e2e-out', 4);
    const group = ctx.group('e2e');
    const watcher = await ctx.watch(output);
    const worker = ctx.worker({ input, group, output, dlq: ctx.topicName('e2e-dlq'), prefix });
    await watcher.waitForSources(positionsOf(inputs), 90_000);
    const stats = await worker.stop();

    // Everything the worker wrote, read to the topic's end: nothing more, nothing less.
    const { records } = await topicEnds(ctx.brokers, output);
    await watcher.waitForCount(records);
    first = watcher.messages.map(parseOutput);
    assert.equal(first.length, N, 'one output per input');
    const counts = countBySource(first);
    const byPosition = new Map(inputs.map((m) => [`${m.partition}:${m.offset}`, m]));
    for (const [at, count] of counts) {
      assert.equal(count, 1, `outputs of input ${at}`);
      assert.ok(byPosition.has(at), `output names a source ${at} that is not an input`);
    }
    for (const [i, out] of first.entries()) {
      const source = byPosition.get(`${out.source.partition}:${out.source.offset}`);
      assert.equal(out.source.topic, input);
      assert.equal(out.key, source?.key, `key of the output of ${out.source.partition}:${out.source.offset}`);
      assert.equal(watcher.messages[i].key, out.key, 'the Kafka key of an output is its sequence key');
      assert.match(out.model, /^tiny-gru@[0-9a-f]+$/);
      assert.ok(out.sentiment && ['negative', 'positive'].includes(out.sentiment.label));
      assert.ok(out.sentiment.score >= 0 && out.sentiment.score <= 1);
      assert.equal(out.replayed, undefined);
    }

    // Per-key order: a key's outputs arrive in source-offset order, and totalTokens accumulates.
    const byKey = outputsByKey(first);
    assert.deepEqual([...byKey.keys()].sort(), keys);
    for (const [key, list] of byKey) {
      assert.equal(list.length, PER_KEY, `outputs of ${key}`);
      let total = 0;
      for (const [i, out] of list.entries()) {
        assert.equal(out.source.partition, list[0].source.partition, `${key} stays on one partition`);
        if (i > 0) assert.ok(BigInt(out.source.offset) > BigInt(list[i - 1].source.offset), `${key} order`);
        assert.ok(out.tokens >= 1);
        total += out.tokens;
        assert.equal(out.totalTokens, total, `${key} totalTokens after message ${i}`);
      }
    }

    // State: one record per key, fenced at its last message, holding the whole sequence's tokens.
    const states = await readStates(ctx.redis, prefix, keys, ctx.schema);
    for (const [key, list] of byKey) {
      const last = list[list.length - 1];
      const state = states.get(key);
      assert.equal(state?.kind, 'ok', `state of ${key}`);
      if (state?.kind !== 'ok') continue;
      assert.equal(state.stored.totalTokens, last.totalTokens);
      assert.deepEqual(state.stored.fence, { partition: last.source.partition, offset: last.source.offset });
      assert.equal(state.stored.state.h.length, ctx.schema.layers * ctx.schema.hidden);
    }

    // The drain committed every offset it read.
    const ends = (await topicEnds(ctx.brokers, input)).byPartition;
    assert.deepEqual(await committedOffsets(ctx.brokers, group, input), ends);
    assert.equal(stats.messagesIn, N);
    assert.equal(stats.outputs, N);
    assert.equal(stats.deadLetters, 0);
    assert.equal(stats.replayed, 0);
  });

  it('replays the topic from the beginning without changing any state, re-emitting every output', async () => {
    assert.equal(first.length, N, 'needs the first pass');
    const before = await readRawStates(ctx.redis, prefix, keys);
    assert.equal(before.size, KEYS);
    const output = await ctx.topic('e2e-replay-out', 4);
    const watcher = await ctx.watch(output);
    // A new group reading from the beginning: the same as resetting the group's offsets.
    const worker = ctx.worker({ input, group: ctx.group('e2e-replay'), output, prefix, name: 'replay' });
    await watcher.waitForSources(positionsOf(inputs), 90_000);
    const stats = await worker.stop();
    const { records } = await topicEnds(ctx.brokers, output);
    await watcher.waitForCount(records);

    const replayed = watcher.messages.map(parseOutput);
    assert.equal(replayed.length, N);
    for (const [at, count] of countBySource(replayed)) assert.equal(count, 1, `outputs of ${at}`);
    const after = await readRawStates(ctx.redis, prefix, keys);
    for (const key of keys) {
      assert.ok(after.get(key)?.equals(before.get(key) ?? Buffer.alloc(0)), `state of ${key} changed`);
    }
    const finalTokens = new Map(
      [...outputsByKey(first)].map(([key, list]) => [key, list[list.length - 1].totalTokens]),
    );
    for (const out of replayed) {
      assert.equal(out.replayed, true, `output of ${out.source.partition}:${out.source.offset} is a replay`);
      assert.equal(out.totalTokens, finalTokens.get(out.key), 'a replay reports the stored sequence');
    }
    assert.equal(stats.replayed, N);
  });
});
