import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchMain } from '../../../bench/cli.js';
import { DEFAULT_END_TO_END_OPTIONS, endToEndFlags, endToEndOptions } from '../../../bench/e2eOptions.js';
import { parseFlags } from '../../../bench/flags.js';
import { kafkaCeilingFlags } from '../../../bench/kafkaCeiling.js';
import { naiveFlags } from '../../../bench/naive.js';
import { ConfigError } from '../../../core/errors.js';

describe('bench script flags (commander)', () => {
  it('maps every end-to-end flag to its option', () => {
    const argv = [
      ...['--out', 'r.jsonl', '--brokers', 'a:1,b:2', '--redis', 'redis://r:1', '--keys', '11'],
      ...['--messages', '12', '--seconds', '13', '--naive-messages', '14', '--ceiling-messages', '15'],
      ...['--modes', 'exactly-once', '--fractions', '0.5', '--partitions', '16', '--words', '17'],
      ...['--memory-keys', '18', '--feed-tick-ms', '19', '--skip', 'naive', '--compare-backends', 'cpu'],
      ...['--engine-workers', '20', '--target-latency-ms', '21'],
    ];
    const o = endToEndOptions(parseFlags(endToEndFlags(), argv));
    assert.deepEqual(o, {
      out: 'r.jsonl',
      brokers: ['a:1', 'b:2'],
      redis: 'redis://r:1',
      keys: 11,
      messages: 12,
      seconds: 13,
      naiveMessages: 14,
      ceilingMessages: 15,
      modes: ['exactly-once'],
      fractions: [0.5],
      partitions: 16,
      wordsPerText: 17,
      memoryKeys: 18,
      feedTickMs: 19,
      skip: ['naive'],
      compareBackends: ['cpu'],
      engineWorkers: 20,
      targetLatencyMs: 21,
    });
    assert.equal(
      endToEndOptions(parseFlags(endToEndFlags(), ['--out', 'r'])).keys,
      DEFAULT_END_TO_END_OPTIONS.keys,
    );
  });

  it('names a mistyped flag, a missing value and a stray argument in one line', () => {
    assert.throws(
      () => parseFlags(endToEndFlags(), ['--out', 'r', '--kees', '5']),
      (e: unknown) =>
        e instanceof ConfigError && /^unknown option '--kees' \(Did you mean --keys\?\)$/.test(e.message),
    );
    assert.throws(() => parseFlags(naiveFlags(), ['--count']), /option '--count <n>' argument missing/);
    assert.throws(() => parseFlags(kafkaCeilingFlags(), ['--topic', 't', 'extra']), /too many arguments/);
  });

  it('parses the naive baseline and Kafka ceiling flags of their headers', () => {
    assert.deepEqual(
      parseFlags(naiveFlags(), ['--brokers', 'h:1', '--in', 'a', '--out', 'b', '--count', '3', '--json']),
      {
        brokers: 'h:1',
        in: 'a',
        out: 'b',
        count: '3',
        json: true,
      },
    );
    assert.deepEqual(
      parseFlags(kafkaCeilingFlags(), ['--topic', 't', '--value-bytes', '8', '--batch-size', '9']),
      {
        topic: 't',
        valueBytes: '8',
        batchSize: '9',
      },
    );
  });

  it('bench/cli.ts refuses an unknown bench and a missing one', async () => {
    await assert.rejects(
      benchMain(['kernal']),
      (e: unknown) => e instanceof ConfigError && /unknown command 'kernal'/.test(e.message),
    );
    await assert.rejects(benchMain([]), /use a bench: kernel, pipeline or memory/);
    await assert.rejects(benchMain(['kernel', '--cel', 'gru']), /unknown option '--cel'/);
  });
});
