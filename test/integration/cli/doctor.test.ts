/**
 * `rnnstream doctor` against the real broker and Redis (issue 13): it reports the input topic's partition
 * count and the group's committed offsets, an output topic still to be created, Redis' persistence as the
 * server itself states it, the model and backend; and names every part that is wrong, with exit code 1.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { makeTinyModel } from '../../fixtures/tinyModel.js';
import {
  createTopic,
  deleteTopics,
  getServices,
  REPO_ROOT,
  redisClient,
  type Services,
  uniqueName,
} from '../../harness/index.js';

function doctor(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'pipeline/cli.ts', 'doctor', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, RNNSTREAM_LOG_LEVEL: 'error' },
    timeout: 90_000,
  });
}

describe('rnnstream doctor (broker, Redis)', () => {
  let services: Services;
  let model: string;
  const topics: string[] = [];
  before(async () => {
    services = await getServices();
    model = await makeTinyModel({ cell: 'lstm', seed: 3 });
  });
  after(async () => {
    await deleteTopics(services.kafkaBrokers, topics).catch(() => undefined);
    await services?.stop();
  });

  it('describes healthy parts, and says whether the state is durable as Redis itself says', async () => {
    const input = uniqueName('doctor-in');
    const output = uniqueName('doctor-out');
    topics.push(input, output);
    await createTopic(services.kafkaBrokers, input, 3);
    const broker = services.kafkaBrokers[0];
    const redis = await redisClient(services.redisUrl);
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, save] = (await redis.config('GET', 'save')) as string[];
    await redis.quit();
    const durable = appendonly === 'yes' || save.trim() !== '';

    const r = doctor([
      '--in',
      `kafka://${broker}/${input}?group=${uniqueName('doctor-g')}`,
      '--out',
      `kafka://${broker}/${output}`,
      '--state',
      `${services.redisUrl.replace(/\/+$/, '')}/0?prefix=${uniqueName('doctor')}:`,
      '--model',
      model,
      '--backend',
      'wasm',
    ]);
    const line = (option: string) => r.stdout.split('\n').find((l) => l.includes(` ${option} `)) ?? '';
    assert.match(
      line('--in'),
      /^ok .*topic \S+: 3 partitions; group \S+: committed offsets on 0 of 3, the partitions start at the earliest offset/,
    );
    assert.match(line('--out'), /^ok .*does not exist yet: run creates it/);
    assert.match(line('--model'), /^ok .*lstm, \d+ layers? × \d+; backend wasm/);
    if (durable) {
      assert.match(line('--state'), /^ok .*Redis answers .*persistence:/);
      assert.equal(r.status, 0, r.stdout + r.stderr);
    } else {
      assert.match(
        line('--state'),
        /^WARN .*state is not durable: Redis has neither AOF \(appendonly no\) nor RDB snapshots/,
      );
      assert.match(r.stdout, /1 problem found/);
      assert.equal(r.status, 1, r.stdout + r.stderr);
    }
  });

  it('names every part that is wrong, in plain words, and exits 1', () => {
    const r = doctor([
      '--in',
      'kafka://127.0.0.1:1/texts?group=g',
      '--out',
      'file:/missing-dir/out.jsonl',
      '--state',
      'redis://127.0.0.1:1/0',
      '--model',
      '/missing-model',
    ]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^ERROR --in kafka:\/\/127\.0\.0\.1:1\/texts\?group=g: cannot reach the Kafka broker/m,
    );
    assert.match(r.stdout, /^ERROR --out file:\/missing-dir\/out\.jsonl: cannot write/m);
    assert.match(r.stdout, /^ERROR --state redis:\/\/127\.0\.0\.1:1\/0: cannot reach Redis/m);
    assert.match(r.stdout, /^ERROR --model \/missing-model: no such folder/m);
    assert.match(r.stdout, /4 problems found/);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
  });
});
