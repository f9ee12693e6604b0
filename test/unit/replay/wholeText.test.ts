import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SinkRecord, SourcePosition, SourceRecord } from '../../../core/contracts.js';
import { rootLogger } from '../../../pipeline/logger.js';
import { runWholeTextPipeline, type WholeTextModel } from '../../../pipeline/replay/wholeText.js';
import { ArrayDeadLetterSink, ArraySink, ArraySource, jsonRecord } from '../../fixtures/memoryConnectors.js';

const log = rootLogger().child({ ns: 'test' });

/** Tokens are word lengths; the "embedding" is [token count, sum of tokens]; label by token count. */
function fakeModel() {
  const batches: number[] = [];
  let predicted = 0;
  const model: WholeTextModel = {
    id: 'fake@0123',
    tokenize: (text) => Int32Array.from(text.split(' ').map((w) => w.length)),
    encodeTokens: async (rows) => {
      batches.push(rows.length);
      return rows.map((r) =>
        Float32Array.of(
          r.length,
          r.reduce((s, t) => s + t, 0),
        ),
      );
    },
    predict: (hidden) => {
      predicted += hidden.length;
      return hidden.map((h) => ({ label: h[0] > 1 ? 'long' : 'short', score: h[1], probs: [] }));
    },
  };
  return { model, batches, predicted: () => predicted };
}

const records = (): SourceRecord[] => [
  jsonRecord('a', 'good movie', 0),
  {
    key: Buffer.from('b'),
    value: Buffer.from('not json'),
    source: { topic: 'test', partition: 0, offset: '1' },
  },
  jsonRecord('a', 'bad', 2),
  jsonRecord('c', 'so so so', 3, { end: true }),
];

describe('runWholeTextPipeline', () => {
  it('scores each text on its own, dead-letters bad input, and acks every position in source order', async () => {
    const { model, batches } = fakeModel();
    const source = new ArraySource(records());
    const sink = new ArraySink();
    const deadLetters = new ArrayDeadLetterSink();
    const stats = await runWholeTextPipeline({ source, sink, deadLetters, model, log }, { maxBatchRows: 2 })
      .done;
    const out = sink.records.map((r: SinkRecord) => [
      r.key,
      r.value.source.offset,
      r.value.tokens,
      r.value.sentiment,
    ]);
    assert.deepEqual(out, [
      ['a', '0', 2, { label: 'long', score: 9 }],
      ['a', '2', 1, { label: 'short', score: 3 }],
      ['c', '3', 3, { label: 'long', score: 6 }],
    ]);
    // No state carried: the second text of key a is scored as if it came first.
    assert.equal(sink.records[1].value.totalTokens, 1);
    assert.equal(sink.records[2].value.end, true);
    assert.ok(sink.records.every((r) => r.value.model === 'fake@0123'));
    assert.deepEqual(
      deadLetters.dead.map((d) => [d.record.source.offset, d.stage]),
      [['1', 'decode']],
    );
    assert.deepEqual(
      source.acked.map((p: SourcePosition) => p.offset),
      ['0', '1', '2', '3'],
    );
    assert.ok(
      batches.every((n) => n <= 2),
      `batches of at most maxBatchRows texts: ${batches}`,
    );
    assert.deepEqual([stats.messagesIn, stats.outputs, stats.deadLetters, stats.tokens], [4, 3, 1, 6]);
  });

  it('calls no head without sentiment, and emits the embedding when asked', async () => {
    const { model, predicted } = fakeModel();
    const sink = new ArraySink();
    await runWholeTextPipeline(
      { source: new ArraySource(records()), sink, deadLetters: new ArrayDeadLetterSink(), model, log },
      { emit: { sentiment: false, embedding: true } },
    ).done;
    assert.equal(predicted(), 0);
    assert.deepEqual(
      sink.records.map((r) => [r.value.sentiment, r.value.embedding]),
      [
        [undefined, [2, 9]],
        [undefined, [1, 3]],
        [undefined, [3, 6]],
      ],
    );
  });

  it('writes to a sink that commits offsets even when a batch has no outputs', async () => {
    const { model } = fakeModel();
    const writes: [number, string[]][] = [];
    const sink = {
      commitsOffsets: true,
      write: async (outputs: readonly SinkRecord[], consumed: readonly SourcePosition[]) => {
        writes.push([outputs.length, consumed.map((p) => p.offset)]);
      },
      close: async () => {},
    };
    const bad = records()[1];
    await runWholeTextPipeline(
      { source: new ArraySource([bad]), sink, deadLetters: new ArrayDeadLetterSink(), model, log },
      {},
    ).done;
    assert.deepEqual(writes, [[0, ['1']]]);
  });
});
