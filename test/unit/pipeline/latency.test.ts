import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  Batch,
  OutputMessage,
  SinkRecord,
  SourceRecord,
  TokenizedMessage,
} from '../../../core/contracts.js';
import { MessageTimings, overloadReporter } from '../../../pipeline/latency.js';
import type { Logger } from '../../../pipeline/logger.js';
import { PipelineMetrics } from '../../../pipeline/metrics.js';

function record(offset: number, timestamp?: number): SourceRecord {
  return {
    key: Buffer.from('k'),
    value: null,
    source: { topic: 't', partition: 0, offset: String(offset) },
    timestamp,
  };
}

function message(r: SourceRecord): TokenizedMessage {
  return { key: 'k', text: 'x', end: false, tokens: new Int32Array(1), record: r };
}

function output(r: SourceRecord): SinkRecord {
  return {
    key: 'k',
    value: { key: 'k', source: r.source, tokens: 1, totalTokens: 1, model: 'm' } as OutputMessage,
  };
}

/** Sum and count of one histogram series, from the registry. */
async function series(metrics: PipelineMetrics, name: string, stage?: string) {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const pick = (suffix: string) =>
    metric?.values.find(
      (v) =>
        (v as { metricName?: string }).metricName === `${name}_${suffix}` &&
        (stage === undefined || v.labels.stage === stage),
    )?.value;
  return { sum: pick('sum'), count: pick('count') };
}

describe('MessageTimings', () => {
  it('observes, per written output, each stage between its marks and its end-to-end latencies', async () => {
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    let now = 1000;
    const timings = new MessageTimings(metrics, false, () => now);
    const [a, b] = [record(0, 990), record(1, 995)];
    timings.arrived(a); // fetch 10 ms
    now = 1002;
    timings.arrived(b); // fetch 7 ms
    now = 1004;
    const batch: Batch = { seq: 0, rows: [{ key: 'k', messages: [message(a)] }] };
    timings.emitted(batch); // a waited 4 ms
    now = 1010;
    timings.reached(0, 'loaded');
    now = 1030;
    timings.reached(0, 'stepped');
    now = 1035;
    timings.reached(0, 'stored');
    timings.held(message(b), 33); // b was held back by the key gate from 1002 to 1035
    timings.emitted({ seq: 1, rows: [{ key: 'k', messages: [message(b)] }] });
    now = 1045;
    await timings.around({ write: async () => {}, close: async () => {} }).write([output(a)], [a.source]);
    now = 1050;
    timings.committed([a.source]);
    const ms = async (stage: string) =>
      ((await series(metrics, 'rnnstream_message_stage_seconds', stage)).sum ?? 0) * 1000;
    assert.equal(Math.round(await ms('fetch')), 10);
    assert.equal(Math.round(await ms('batch')), 4);
    assert.equal(Math.round(await ms('load')), 6);
    assert.equal(Math.round(await ms('step')), 20);
    assert.equal(Math.round(await ms('store')), 5);
    assert.equal(Math.round(await ms('sink')), 10);
    assert.equal(Math.round(await ms('commit')), 5);
    assert.equal(
      Math.round(((await series(metrics, 'rnnstream_message_latency_seconds')).sum ?? 0) * 1000),
      55,
    );
    assert.equal(
      Math.round(((await series(metrics, 'rnnstream_worker_latency_seconds')).sum ?? 0) * 1000),
      45,
    );
    // b's output is not written yet: nothing observed for it. Then its key-gate wait and batch wait split.
    assert.equal((await series(metrics, 'rnnstream_message_stage_seconds', 'key_gate')).count, 1);
    now = 1060;
    timings.written([output(b)]);
    assert.equal(Math.round(await ms('key_gate')), 33);
    assert.equal(Math.round(await ms('batch')), 4, 'b entered its batch as soon as released');
  });

  it('exactly-once: the write is the transaction; no separate commit stage', async () => {
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    let now = 0;
    const timings = new MessageTimings(metrics, true, () => now);
    const a = record(0, 0);
    timings.arrived(a);
    timings.emitted({ seq: 0, rows: [{ key: 'k', messages: [message(a)] }] });
    timings.reached(0, 'stored');
    now = 12;
    timings.written([output(a)]);
    timings.committed([a.source]);
    assert.equal((await series(metrics, 'rnnstream_message_stage_seconds', 'transaction')).sum, 0.012);
    assert.equal((await series(metrics, 'rnnstream_message_stage_seconds', 'commit')).count, undefined);
  });
});

describe('overloadReporter', () => {
  it('counts every overloaded batch and warns at most once per interval', async () => {
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const warnings: unknown[] = [];
    const log = { warn: (fields: unknown) => warnings.push(fields) } as unknown as Logger;
    let now = 0;
    const report = overloadReporter(log, metrics, 1000, () => now);
    const miss = { seq: 0, rows: 10, tokens: 100, predictedMs: 300, targetMs: 250 };
    for (let i = 0; i < 5; i++) report(miss);
    now = 1500;
    report(miss);
    assert.equal(
      (await metrics.registry.getSingleMetric('rnnstream_latency_overload_batches_total')?.get())?.values[0]
        .value,
      6,
    );
    assert.equal(warnings.length, 2);
    assert.equal((warnings[1] as { batches: number }).batches, 5);
  });
});
