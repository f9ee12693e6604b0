/**
 * Bad input (issue 3, "Done when"): invalid JSON, an empty text and invalid UTF-8 land in the DLQ topic
 * with their original bytes and an `rnnstream-reason` header; the good messages around them flow, and
 * the group's offsets move past the bad ones too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  committedOffsets,
  consumeAll,
  parseOutput,
  produce,
  topicEnds,
  useFixture,
} from '../../harness/index.js';

const BAD = [
  { value: Buffer.from('{"text": "unterminated'), reason: 'invalid-json' },
  { value: Buffer.from('{"text": ""}'), reason: 'empty-text' },
  { value: Buffer.from([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x80, 0x22, 0x7d]), reason: 'invalid-utf8' },
];

describe('dead letters', { timeout: 120_000 }, () => {
  const ctx = useFixture();

  it('sends bad messages to the DLQ topic with their reason and lets the good ones through', async () => {
    const input = await ctx.topic('dlq-in', 2);
    const output = await ctx.topic('dlq-out', 2);
    const dlq = await ctx.topic('dlq-dead', 1);
    const group = ctx.group('dlq');
    const messages = [];
    for (let i = 0; i < 30; i++) {
      messages.push({
        key: `good-${i % 5}`,
        value: Buffer.from(JSON.stringify({ text: `the food was good ${i}` })),
      });
      if (i % 10 === 3) {
        const bad = BAD[(i - 3) / 10];
        messages.push({ key: `bad-${bad.reason}`, value: bad.value, headers: { trace: `t-${bad.reason}` } });
      }
    }
    await produce(ctx.brokers, input, messages);

    const worker = ctx.worker({ input, group, output, dlq, prefix: ctx.prefix('dlq-state') });
    const dead = await consumeAll(ctx.brokers, dlq, { count: BAD.length, timeoutMs: 90_000 });
    const outputs = await consumeAll(ctx.brokers, output, { count: 30, timeoutMs: 60_000 });
    const stats = await worker.stop();

    const byReason = new Map(dead.map((m) => [m.headers['rnnstream-reason'], m]));
    assert.deepEqual([...byReason.keys()].sort(), BAD.map((b) => b.reason).sort());
    for (const bad of BAD) {
      const letter = byReason.get(bad.reason);
      assert.ok(letter, `dead letter for ${bad.reason}`);
      assert.equal(letter.key, `bad-${bad.reason}`, 'the original key');
      assert.ok(letter.rawValue?.equals(bad.value), `the original bytes of the ${bad.reason} message`);
      assert.equal(letter.headers.trace, `t-${bad.reason}`, 'the original headers');
      assert.equal(letter.headers['rnnstream-stage'], 'decode');
      assert.match(letter.headers['rnnstream-source'] ?? '', new RegExp(`^${input}/[01]/\\d+$`));
    }

    const parsed = outputs.map(parseOutput);
    assert.equal(parsed.length, 30);
    assert.ok(parsed.every((o) => o.key.startsWith('good-')));
    assert.equal(stats.deadLetters, BAD.length);
    assert.equal(stats.outputs, 30);
    // Dead letters are done with, too: the group commits past them.
    assert.deepEqual(
      await committedOffsets(ctx.brokers, group, input),
      (await topicEnds(ctx.brokers, input)).byPartition,
    );
  });
});
