/**
 * End-to-end throughput of one worker (Kafka → run → Kafka, state in Redis), and Redis round trips per
 * batch. A measurement, not a check: it runs only with `RNNSTREAM_MEASURE=1` (and prints its figures as
 * test diagnostics and one JSON line per model on stdout).
 *
 *   RNNSTREAM_MEASURE=1 KAFKA_BROKERS=127.0.0.1:9092 REDIS_URL=redis://127.0.0.1:6379 \
 *     node --import tsx --test test/integration/pipeline/throughput.test.ts
 *
 * `RNNSTREAM_MEASURE_MESSAGES` (default 5000) and `RNNSTREAM_MEASURE_MODELS` (comma-separated package
 * folders; default the tiny random model plus models/sentiment when it exists) tune it. Redis round trips
 * come from `INFO commandstats` deltas (MGET = one load, EVALSHA/EVAL = one fenced write on a single
 * node), so other clients of the same Redis during the run inflate them.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { seededRandom } from '../../../model/verify.js';
import { TINY_VOCAB } from '../../fixtures/tinyModel.js';
import { parseOutput, produce, REPO_ROOT, useFixture } from '../../harness/index.js';

const ENABLED = process.env.RNNSTREAM_MEASURE === '1';
const MESSAGES = Number(process.env.RNNSTREAM_MEASURE_MESSAGES ?? 5000);
const KEYS = 500;
const WORDS = 20;

/** Calls of each Redis command so far (`INFO commandstats`). */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1], Number(match[2]));
  return calls;
}

/** Messages of ~`WORDS` words over `KEYS` keys, as JSON input values. */
function texts(count: number): { key: string; value: string }[] {
  const random = seededRandom(5);
  const words = [...TINY_VOCAB.slice(2), 'movie', 'plot', 'actors'];
  return Array.from({ length: count }, (_, i) => ({
    key: `user-${i % KEYS}`,
    value: JSON.stringify({
      text: Array.from({ length: WORDS }, () => words[Math.floor(random() * words.length)]).join(' '),
    }),
  }));
}

describe('throughput of one worker, end to end', {
  skip: ENABLED ? false : 'a measurement: set RNNSTREAM_MEASURE=1 to run it',
  timeout: 600_000,
}, () => {
  const ctx = useFixture();

  const shipped = join(REPO_ROOT, 'models', 'sentiment');
  const models = process.env.RNNSTREAM_MEASURE_MODELS?.split(',') ?? [
    'tiny',
    ...(existsSync(join(shipped, 'rnnstream.json')) ? [shipped] : []),
  ];

  for (const model of models) {
    it(`measures messages/s, tokens/s and Redis round trips per batch (${model})`, async (t) => {
      const input = await ctx.topic('tput-in', 4);
      const output = await ctx.topic('tput-out', 4);
      await produce(ctx.brokers, input, texts(MESSAGES), { timeoutMs: 120_000 });
      const watcher = await ctx.watch(output);
      const before = await commandCalls(ctx.redis);
      const worker = ctx.worker({
        input,
        group: ctx.group('tput'),
        output,
        prefix: ctx.prefix('tput-state'),
        ...(model === 'tiny' ? {} : { model }),
      });
      const started = await worker.waitForLog('kafka source started', 120_000);
      await watcher.waitForCount(MESSAGES, 540_000);
      const stats = await worker.stop();
      const calls = await commandCalls(ctx.redis);
      const delta = (name: string) => (calls.get(name) ?? 0) - (before.get(name) ?? 0);

      const outputs = watcher.messages.map(parseOutput);
      const lastOutputAt = Math.max(...watcher.messages.map((m) => m.timestamp));
      const seconds = (lastOutputAt - Number(started.time)) / 1000;
      const tokens = outputs.reduce((sum, o) => sum + o.tokens, 0);
      const loads = delta('mget');
      const writes = delta('evalsha') + delta('eval');
      const figures = {
        model: outputs[0]?.model,
        messages: outputs.length,
        tokens,
        seconds: Number(seconds.toFixed(2)),
        messagesPerSecond: Math.round(outputs.length / seconds),
        tokensPerSecond: Math.round(tokens / seconds),
        batches: stats.batches,
        rowsPerBatch: Number((stats.rows / stats.batches).toFixed(1)),
        redisLoads: loads,
        redisWrites: writes,
        redisRoundTripsPerBatch: Number(((loads + writes) / stats.batches).toFixed(2)),
      };
      t.diagnostic(JSON.stringify(figures));
      console.log(JSON.stringify(figures));
      assert.equal(outputs.length, MESSAGES);
    });
  }
});
