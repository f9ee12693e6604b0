import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScoredMessage, SinkRecord, TokenizedMessage } from '../../../core/contracts.js';
import { float32ToBase64, type OutputEmitOptions, toOutput } from '../../../operators/toOutputs.js';

function msg(key: string, offset: string, extra: Partial<TokenizedMessage> = {}): TokenizedMessage {
  return {
    key,
    text: 'hello world',
    end: false,
    tokens: Int32Array.from([4, 5]),
    record: { key: Buffer.from(key), value: null, source: { topic: 'in', partition: 3, offset } },
    ...extra,
  };
}

const embedding = Float32Array.from([0.5, -1.25, 3]);
const scored: ScoredMessage = {
  message: msg('k', '10', { id: 'm-1' }),
  totalTokens: 12,
  prediction: { label: 'positive', score: 0.75, probs: [0.25, 0.75] },
  embedding,
  replayed: false,
};
const ended: ScoredMessage = { message: msg('k', '11', { end: true }), totalTokens: 14, replayed: true };

const DEFAULT_EMIT: OutputEmitOptions = { sentiment: true, embedding: false };

describe('toOutput', () => {
  it('maps scored messages to the output contract', () => {
    assert.deepStrictEqual(toOutput(scored, 'gru@abc', DEFAULT_EMIT), {
      key: 'k',
      value: {
        key: 'k',
        id: 'm-1',
        source: { topic: 'in', partition: 3, offset: '10' },
        tokens: 2,
        totalTokens: 12,
        sentiment: { label: 'positive', score: 0.75 },
        model: 'gru@abc',
      },
    } satisfies SinkRecord);
    assert.deepStrictEqual(toOutput(ended, 'gru@abc', DEFAULT_EMIT), {
      key: 'k',
      value: {
        key: 'k',
        source: { topic: 'in', partition: 3, offset: '11' },
        tokens: 2,
        totalTokens: 14,
        model: 'gru@abc',
        end: true,
        replayed: true,
      },
    } satisfies SinkRecord);
  });

  it('emits embeddings as numbers or base64 little-endian float32, and sentiment only when asked', () => {
    const project = (emit: Partial<OutputEmitOptions>) =>
      toOutput(scored, 'm', { ...DEFAULT_EMIT, ...emit }).value;
    assert.deepEqual(project({ embedding: true }).embedding, [0.5, -1.25, 3]);
    const b64 = project({ embedding: 'base64', sentiment: false });
    assert.equal(b64.sentiment, undefined);
    const bytes = Buffer.from(b64.embedding as string, 'base64');
    assert.equal(bytes.length, 12);
    assert.deepEqual([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)], [0.5, -1.25, 3]);
    assert.equal(float32ToBase64(Float32Array.from([1])), Buffer.from([0, 0, 0x80, 0x3f]).toString('base64'));
    assert.equal(project({}).embedding, undefined, 'no embedding by default');
    // The output is JSON: it must survive a round trip unchanged.
    const json = project({ embedding: true });
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  });
});
