import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { runMemoryBench } from '../../../bench/memory.js';
import { GeneratedSource } from '../../../bench/memorySource.js';
import { runPipelineBench } from '../../../bench/pipeline.js';
import type { SourceRecord } from '../../../core/contracts.js';

const tinyModel = { vocab: 200, embed: 4, hidden: 6 };

describe('GeneratedSource', () => {
  it('spreads messages round robin over keys and pauses at its in-flight budget', async () => {
    const source = new GeneratedSource({
      keys: 3,
      messages: 7,
      tokensPerMessage: 2,
      partitions: 1,
      maxInFlight: 4,
    });
    const seen: SourceRecord[] = [];
    let completed = false;
    source.records$.subscribe({ next: (r) => seen.push(r), complete: () => (completed = true) });
    await source.start();
    assert.equal(seen.length, 4);
    assert.deepEqual(
      seen.map((r) => r.key?.toString()),
      ['key-0', 'key-1', 'key-2', 'key-0'],
    );
    assert.equal(JSON.parse(seen[0].value?.toString() ?? '').text.split(' ').length, 2);
    await source.ack([seen[1].source]); // cumulative: offsets 0 and 1
    await turn();
    assert.equal(seen.length, 6);
    assert.equal(completed, false);
    await source.ack([seen[5].source]);
    await turn();
    assert.equal(seen.length, 7);
    assert.equal(completed, true);
  });
});

describe('runPipelineBench', () => {
  it('runs every message through in both modes, one message per batch in single mode', async () => {
    const common = {
      keys: 5,
      messages: 20,
      tokensPerMessage: 3,
      backend: 'cpu' as const,
      model: 'random',
      randomModel: tinyModel,
    };
    const batched = await runPipelineBench({ ...common, mode: 'batched' });
    const single = await runPipelineBench({ ...common, mode: 'single' });
    for (const r of [batched, single]) {
      assert.equal(r.outputs, 20);
      assert.equal(r.dead_letters, 0);
      assert.equal(r.tokens, 60);
      assert.ok(r.tokens_per_s > 0 && r.messages_per_s > 0);
    }
    assert.equal(single.batches, 20);
    assert.equal(single.rows_per_batch, 1);
    assert.ok(batched.batches < 20, `batched run took ${batched.batches} batches`);
  });
});

describe('runMemoryBench', () => {
  for (const via of ['store', 'pipeline'] as const) {
    it(`holds every key filled via the ${via}`, async () => {
      const r = await runMemoryBench({
        keys: 30,
        via,
        backend: 'cpu',
        model: 'random',
        randomModel: tinyModel,
      });
      assert.equal(r.held, 30);
      assert.ok(r.rss_mb > 0 && r.peak_rss_mb >= r.rss_mb * 0.5);
    });
  }
});
