import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import type { SourceRecord } from '../../../core/contracts.js';
import { selectBackend } from '../../../model/backend.js';
import { createWholeEncoder, loadModelPackage, type ModelPackage } from '../../../model/modelPackage.js';
import { rootLogger } from '../../../pipeline/logger.js';
import { PipelineMetrics } from '../../../pipeline/metrics.js';
import { type LoadedModel, loadPipelineModel } from '../../../pipeline/model.js';
import { type RunOptions, runPipeline } from '../../../pipeline/run.js';
import { MemoryStateStore } from '../../../pipeline/state/memoryStore.js';
import { ArrayDeadLetterSink, ArraySink, ArraySource, jsonRecord } from '../../fixtures/memoryConnectors.js';
import { makeTinyModel, TINY_VOCAB } from '../../fixtures/tinyModel.js';

const log = rootLogger().child({ ns: 'test' });
const WORDS = TINY_VOCAB.slice(2).concat(['zebra', 'Ünïcode', 'GREAT']);

async function runOnce(
  loaded: LoadedModel,
  records: SourceRecord[],
  options: Partial<RunOptions> = {},
  store?: MemoryStateStore,
) {
  const source = new ArraySource(records, 64);
  const sink = new ArraySink();
  const deadLetters = new ArrayDeadLetterSink();
  const state = store ?? new MemoryStateStore(loaded.schema);
  const running = runPipeline({ source, sink, deadLetters, store: state, model: loaded.model, log }, options);
  const stats = await running.done;
  return { source, sink, deadLetters, state, stats };
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`pipeline on ${backend}`, () => {
    let dir: string;
    let loaded: LoadedModel;
    let pkg: ModelPackage;

    before(async () => {
      dir = await makeTinyModel({ cell: 'lstm', layers: 2, hidden: 8 });
      loaded = await loadPipelineModel({ dir, backend, log });
      pkg = await loadModelPackage(dir);
    });
    after(() => loaded.model.engine.dispose());

    it('incremental = whole: texts cut into messages, interleaved over keys and batches, give the whole-text outputs', async () => {
      const encoder = createWholeEncoder(pkg);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 20 }), {
              minLength: 1,
              maxLength: 6,
            }),
            fc.integer({ min: 1, max: 2 ** 31 - 1 }),
            fc.integer({ min: 1, max: 8 }),
            async (texts, seed, maxBatchRows) => {
              let rnd = seed;
              const next = () => {
                rnd = (rnd * 48271) % 2147483647;
                return rnd / 2147483647;
              };
              // Cut each text into pieces at random word boundaries.
              const pieces = texts.map((words) => {
                const out: string[] = [];
                let start = 0;
                while (start < words.length) {
                  const len = 1 + Math.floor(next() * words.length);
                  out.push(words.slice(start, start + len).join(' '));
                  start += len;
                }
                return out;
              });
              // Interleave the keys' pieces randomly, keeping each key's order.
              const queues = pieces.map((p) => [...p]);
              const records: SourceRecord[] = [];
              while (queues.some((q) => q.length > 0)) {
                const live = queues.map((q, i) => (q.length > 0 ? i : -1)).filter((i) => i >= 0);
                const k = live[Math.floor(next() * live.length)];
                records.push(jsonRecord(`key-${k}`, queues[k].shift()!, records.length));
              }
              const { sink, deadLetters } = await runOnce(loaded, records, { maxBatchRows, maxDelayMs: 0 });
              assert.equal(deadLetters.dead.length, 0);
              assert.equal(sink.records.length, records.length);
              const whole = pkg.head.predict(await encoder.encodeWhole(texts.map((w) => w.join(' '))));
              for (let k = 0; k < texts.length; k++) {
                const outs = sink.records.filter((r) => r.key === `key-${k}`);
                const offsets = outs.map((o) => Number(o.value.source.offset));
                assert.deepEqual(
                  offsets,
                  [...offsets].sort((a, b) => a - b),
                  'per-key order',
                );
                const last = outs[outs.length - 1].value;
                assert.ok(
                  Math.abs(last.sentiment!.score - whole[k].score) < 1e-5,
                  `key-${k}: ${last.sentiment!.score} vs ${whole[k].score}`,
                );
                assert.equal(last.totalTokens, pkg.tokenizer.encode(texts[k].join(' ')).length);
              }
            },
          ),
          { numRuns: 25, seed: 7 },
        );
      } finally {
        encoder.dispose();
      }
    });
  });
}

describe('pipeline bad input', () => {
  let loaded: LoadedModel;
  before(async () => {
    await selectBackend('wasm');
    loaded = await loadPipelineModel({ dir: await makeTinyModel(), backend: 'wasm', log, maxTokens: 50 });
  });
  after(() => loaded.model.engine.dispose());

  it('sends each bad input to the dead-letter sink with its reason and keeps the good outputs intact', async () => {
    const bad: [string, SourceRecord][] = [
      [
        'invalid-json',
        {
          key: Buffer.from('k'),
          value: Buffer.from('{"text": '),
          source: { topic: 't', partition: 0, offset: '1' },
        },
      ],
      [
        'invalid-utf8',
        {
          key: Buffer.from('k'),
          value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
          source: { topic: 't', partition: 0, offset: '2' },
        },
      ],
      [
        'missing-key',
        {
          key: null,
          value: Buffer.from('{"text":"good"}'),
          source: { topic: 't', partition: 0, offset: '3' },
        },
      ],
      [
        'missing-key',
        {
          key: Buffer.alloc(0),
          value: Buffer.from('{"text":"good"}'),
          source: { topic: 't', partition: 0, offset: '4' },
        },
      ],
      [
        'text-not-string',
        {
          key: Buffer.from('k'),
          value: Buffer.from('{"text":42}'),
          source: { topic: 't', partition: 0, offset: '5' },
        },
      ],
      [
        'empty-text',
        {
          key: Buffer.from('k'),
          value: Buffer.from('{"text":"   "}'),
          source: { topic: 't', partition: 0, offset: '6' },
        },
      ],
      [
        'value-too-large',
        {
          key: Buffer.from('k'),
          value: Buffer.from(JSON.stringify({ text: 'a '.repeat(40000) })),
          source: { topic: 't', partition: 0, offset: '7' },
        },
      ],
      [
        'too-many-tokens',
        {
          key: Buffer.from('k'),
          value: Buffer.from(JSON.stringify({ text: 'good '.repeat(60) })),
          source: { topic: 't', partition: 0, offset: '8' },
        },
      ],
    ];
    const good = ['the food was good', 'but the service', 'was terrible !'];
    const mkGood = (i: number, offset: number) => jsonRecord('good-key', good[i], offset, {}, 't');
    const records = [mkGood(0, 0), ...bad.map(([, r]) => r), mkGood(1, 9), mkGood(2, 10)];
    const { sink, deadLetters, source } = await runOnce(loaded, records, { maxDelayMs: 0 });
    assert.deepEqual(
      deadLetters.dead.map((d) => d.reason),
      bad.map(([reason]) => reason),
    );
    for (const d of deadLetters.dead) assert.ok(d.record.value, 'original bytes kept');
    assert.equal(sink.records.length, 3);
    // The good key's outputs equal a run without the bad messages.
    const clean = await runOnce(loaded, [mkGood(0, 0), mkGood(1, 1), mkGood(2, 2)], { maxDelayMs: 0 });
    assert.deepEqual(
      sink.records.map((r) => r.value.sentiment),
      clean.sink.records.map((r) => r.value.sentiment),
    );
    // Every position was committed, bad ones included, and nothing twice.
    assert.equal(source.acked.length, records.length);
    assert.equal(new Set(source.acked.map((p) => p.offset)).size, records.length);
  });

  it('replays are fenced: the same records again leave the state unchanged and re-emit outputs marked replayed', async () => {
    const store = new MemoryStateStore(loaded.schema);
    const records = ['good movie', 'but terrible food', 'i love it'].map((t, i) => jsonRecord('k', t, i));
    const first = await runOnce(loaded, records, { maxDelayMs: 0 }, store);
    const before = await store.load(['k']);
    const again = await runOnce(loaded, records, { maxDelayMs: 0 }, store);
    const afterLoad = await store.load(['k']);
    assert.deepEqual(afterLoad, before);
    assert.equal(again.sink.records.length, 3);
    assert.ok(again.sink.records.every((r) => r.value.replayed === true));
    assert.equal(again.stats.replayed, 3);
    assert.equal(again.sink.records[2].value.sentiment?.score, first.sink.records[2].value.sentiment?.score);
  });

  it('times every output: per-message stages, latency from the source timestamp and from arrival', async () => {
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const records = Array.from({ length: 40 }, (_, i) => ({
      ...jsonRecord(`k${i % 3}`, 'good food', i),
      timestamp: Date.now(),
    }));
    const sink = new ArraySink();
    const running = runPipeline(
      {
        source: new ArraySource(records, 64),
        sink,
        deadLetters: new ArrayDeadLetterSink(),
        store: new MemoryStateStore(loaded.schema),
        model: loaded.model,
        log,
        metrics,
      },
      { maxDelayMs: 0, maxBatchRows: 2, targetLatencyMs: 100 },
    );
    await running.done;
    const counts = new Map<string, number>();
    for (const metric of await metrics.registry.getMetricsAsJSON()) {
      for (const v of metric.values) {
        const name = (v as { metricName?: string }).metricName ?? metric.name;
        if (name.endsWith('_count'))
          counts.set(`${name}${v.labels.stage ? `:${v.labels.stage}` : ''}`, v.value);
      }
    }
    assert.equal(sink.records.length, 40);
    for (const series of [
      'rnnstream_message_latency_seconds_count',
      'rnnstream_worker_latency_seconds_count',
      ...['fetch', 'key_gate', 'batch', 'load', 'step', 'store', 'sink', 'commit'].map(
        (stage) => `rnnstream_message_stage_seconds_count:${stage}`,
      ),
    ])
      assert.equal(counts.get(series), 40, series);
    assert.equal(counts.get('rnnstream_message_stage_seconds_count:transaction'), undefined);
  });

  it('keeps memory bounded: never more than the source budget in flight, no tensor leak over many batches', async () => {
    const records = Array.from({ length: 3000 }, (_, i) =>
      jsonRecord(`k${i % 50}`, 'good food and bad service', i),
    );
    await runOnce(loaded, records.slice(0, 100), { maxDelayMs: 0 }); // warm-up allocations
    const tensorsBefore = tf.memory().numTensors;
    const { source, stats } = await runOnce(loaded, records, { maxDelayMs: 0, maxBatchRows: 8 });
    assert.ok(stats.batches > 300, `${stats.batches} batches`);
    assert.ok(source.maxInFlightSeen <= 64);
    assert.equal(tf.memory().numTensors, tensorsBefore);
  });
});
