import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endToEndOptions } from '../../../bench/e2eOptions.js';
import { type Arrival, latencies, maxRate, percentile } from '../../../bench/e2eProbe.js';
import { histogramTotals } from '../../../bench/e2eProcesses.js';
import { runTotalsOf, stageMs } from '../../../bench/e2eRun.js';

const arrival = (sentAt: number, receivedAt: number, tokens = 20): Arrival => ({
  sentAt,
  receivedAt,
  tokens,
});

describe('end-to-end bench measurements', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(values, 50), 50);
    assert.equal(percentile(values, 99), 99);
    assert.equal(percentile(values, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('times the maximum rate from the first arrival, leaving that arrival out', () => {
    // Three outputs arrive with the first batch at t=1000, then 100 more over 2 s.
    const arrivals = [arrival(0, 1000), arrival(0, 1000), arrival(0, 1000, 5)];
    for (let i = 1; i <= 100; i++) arrivals.push(arrival(0, 1000 + 20 * i, 10));
    const max = maxRate(arrivals.reverse());
    assert.deepEqual(max, { messages: 100, tokens: 1000, seconds: 2 });
  });

  it('measures latency only for inputs sent inside the window', () => {
    const arrivals = [arrival(900, 2000), arrival(1000, 1010), arrival(1500, 1530), arrival(2000, 2100)];
    const l = latencies(arrivals, 1000, 2000);
    assert.equal(l.messages, 3);
    assert.equal(l.p50_ms, 30);
    assert.equal(l.p99_ms, 100);
    assert.equal(l.max_ms, 100);
    assert.equal(l.achieved_messages_per_s, 3);
  });

  it('reads histogram sums and counts from /metrics text, per label', () => {
    const text = [
      '# HELP rnnstream_state_seconds x',
      'rnnstream_state_seconds_bucket{le="0.1",op="load"} 3',
      'rnnstream_state_seconds_sum{op="load"} 0.25',
      'rnnstream_state_seconds_count{op="load"} 4',
      'rnnstream_state_seconds_sum{op="write"} 0.5',
      'rnnstream_state_seconds_count{op="write"} 2',
      'rnnstream_batch_rows_sum 1200',
      'rnnstream_batch_rows_count 3',
    ].join('\n');
    assert.deepEqual(histogramTotals(text, 'rnnstream_state_seconds', 'op="write"'), { sum: 0.5, count: 2 });
    assert.deepEqual(histogramTotals(text, 'rnnstream_state_seconds', 'op="load"'), { sum: 0.25, count: 4 });
    assert.deepEqual(histogramTotals(text, 'rnnstream_batch_rows'), { sum: 1200, count: 3 });
    assert.deepEqual(histogramTotals(text, 'rnnstream_missing'), { sum: 0, count: 0 });
  });

  it("reads the run's totals and per-stage means from its /metrics", () => {
    const metrics = (steps: number, stepSeconds: number) =>
      [
        'rnnstream_batch_rows_sum 600',
        'rnnstream_batch_rows_count 2',
        'rnnstream_batch_tokens_sum 12000',
        'rnnstream_batch_tokens_count 2',
        `rnnstream_step_seconds_sum ${stepSeconds}`,
        `rnnstream_step_seconds_count ${steps}`,
        'rnnstream_process_resident_memory_bytes 314572800',
        'rnnstream_nodejs_heap_size_used_bytes 104857600',
        'rnnstream_nodejs_external_memory_bytes 1048576',
      ].join('\n');
    const before = runTotalsOf(metrics(2, 0.05));
    const after = runTotalsOf(metrics(4, 0.13));
    assert.equal(after.rows, 600);
    assert.equal(after.tokens, 12000);
    assert.equal(after.rssBytes, 300 * 2 ** 20);
    assert.equal(after.heapBytes, 100 * 2 ** 20);
    assert.equal(after.externalBytes, 2 ** 20);
    assert.deepEqual(stageMs(before, after), { load_ms: 0, step_ms: 40, write_ms: 0, sink_ms: 0 });
    assert.equal(stageMs(undefined, after).step_ms, 32.5);
  });

  it('parses its flags with clear errors', () => {
    const o = endToEndOptions({ out: 'x.jsonl', keys: '500', modes: 'exactly-once', fractions: '0.25,0.5' });
    assert.equal(o.keys, 500);
    assert.deepEqual(o.modes, ['exactly-once']);
    assert.deepEqual(o.fractions, [0.25, 0.5]);
    assert.throws(() => endToEndOptions({}), /--out FILE\.jsonl is required/);
    assert.throws(() => endToEndOptions({ out: 'x', modes: 'twice' }), /"twice" is not one of/);
    assert.throws(() => endToEndOptions({ out: 'x', fractions: '1.5' }), /--fractions/);
    assert.equal(endToEndOptions({ out: 'x' }).memoryKeys, 100_000);
    assert.deepEqual(endToEndOptions({ out: 'x', skip: 'memory,naive' }).skip, ['memory', 'naive']);
  });
});
