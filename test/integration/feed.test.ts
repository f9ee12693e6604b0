import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { consumeAll, deleteTopics, getServices, uniqueName } from '../harness/index.js';

describe('rnnstream feed (load generator)', () => {
  let brokers: string[];
  const topic = uniqueName('feed');
  before(async () => {
    brokers = (await getServices()).kafkaBrokers;
  });
  after(() => deleteTopics(brokers, [topic]));

  it('sends --count keyed JSON messages round-robin over --keys', async () => {
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'pipeline/cli.ts',
        'feed',
        '--to',
        `kafka://${brokers[0]}/${topic}`,
        '--keys',
        '7',
        '--rate',
        '2000',
        '--count',
        '210',
        '--json',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim()).sent, 210);
    const messages = await consumeAll(brokers, topic, { count: 210, timeoutMs: 30_000 });
    assert.equal(messages.length, 210);
    const keys = new Set(messages.map((m) => m.key?.toString()));
    assert.equal(keys.size, 7);
    for (const m of messages) assert.equal(typeof JSON.parse(m.value!.toString()).text, 'string');
  });
});
