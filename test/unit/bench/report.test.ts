import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderLogLogChart, shortNumber } from '../../../bench/chart.js';
import {
  type BenchResults,
  type KernelPoint,
  kernelCharts,
  renderMarkdown,
  summarize,
  writeReport,
} from '../../../bench/report.js';

const point = (
  impl: string,
  cell: string,
  batch: number,
  tokens_per_s: number,
  gflops: number,
): KernelPoint => ({
  impl,
  tokens_per_s,
  backend: impl.startsWith('rnnstream') ? (impl.includes('wasm') ? 'wasm' : 'onnxruntime') : 'torch cpu',
  cell,
  batch,
  steps: 32,
  hidden: 256,
  embed: 128,
  vocab: 20000,
  flops_per_token: 1e5,
  gflops,
});

const results: BenchResults = {
  machine: { date: '2025-01-01', cores: 2 },
  sgemm: { gflops: 100 },
  kernel: [
    point('rnnstream', 'gru', 1, 1000, 0.1),
    point('pytorch-cpu', 'gru', 1, 2000, 0.5),
    point('rnnstream', 'gru', 256, 60000, 6),
    point('pytorch-cpu', 'gru', 256, 50000, 20),
    point('rnnstream', 'gru', 1024, 40000, 4),
    point('pytorch-cpu', 'gru', 1024, 50000, 20),
    point('pytorch-cpu-1t', 'gru', 256, 30000, 12),
  ],
  kernelAt: [{ ...point('rnnstream-2w', 'gru', 500, 50000, 5), steps: 20, context: 'pipeline' }],
  pipeline: [
    {
      mode: 'batched',
      tokens_per_s: 30000,
      messages_per_s: 1500,
      keys: 1000,
      messages: 20000,
      rows_per_batch: 500,
      tokens_per_batch: 10000,
      model: 'random',
      backend: 'wasm',
    },
    {
      mode: 'single',
      tokens_per_s: 1000,
      messages_per_s: 50,
      keys: 1000,
      messages: 2000,
      rows_per_batch: 1,
      tokens_per_batch: 20,
      model: 'random',
      backend: 'wasm',
    },
  ],
  memory: [
    {
      via: 'store',
      keys: 100000,
      held: 100000,
      rss_mb: 350,
      rss_before_mb: 230,
      peak_rss_mb: 360,
      bytes_per_key: 1200,
      model: 'random',
    },
  ],
  replay: [
    {
      mode: 'run',
      messages: 1000,
      tokens: 20000,
      batches: 4,
      seconds: 2,
      messages_per_s: 500,
      tokens_per_s: 10000,
    },
    {
      mode: 'replay',
      messages: 1000,
      tokens: 20000,
      batches: 2,
      seconds: 1,
      messages_per_s: 1000,
      tokens_per_s: 20000,
    },
  ],
  e2e: [
    {
      bench: 'kafka-ceiling',
      messages: 1000,
      value_bytes: 160,
      produce_messages_per_s: 90000,
      consume_messages_per_s: 150000,
    },
    {
      bench: 'e2e',
      part: 'max',
      mode: 'at-least-once',
      keys: 10000,
      messages: 60000,
      tokens: 1200000,
      messages_per_s: 3000,
      tokens_per_s: 60000,
      tokens_per_message: 20,
      rows_per_batch: 400,
      tokens_per_batch: 8000,
    },
    {
      bench: 'kernel',
      impl: 'rnnstream-2w',
      context: 'e2e at-least-once',
      tokens_per_s: 150000,
      batch: 400,
      steps: 20,
    },
    {
      bench: 'e2e',
      part: 'latency',
      mode: 'at-least-once',
      fraction: 0.5,
      target_messages_per_s: 1500,
      achieved_messages_per_s: 1490,
      messages: 25000,
      p50_ms: 40,
      p99_ms: 90,
      p99_9_ms: 120,
      max_ms: 130,
      rows_per_batch: 60,
      max_delay_ms: 5,
      target_latency_ms: 250,
      feed_tick_ms: 10,
      stage_fetch_ms: 3.5,
      stage_key_gate_ms: 1,
      stage_batch_ms: 4,
      stage_load_ms: 2,
      stage_step_ms: 15,
      stage_store_ms: 3,
      stage_sink_ms: 8,
      stage_commit_ms: 6,
      worker_mean_ms: 33,
      overload_batches: 0,
    },
    {
      bench: 'e2e',
      part: 'max',
      mode: 'at-least-once',
      backend: 'wasm',
      keys: 10000,
      messages: 60000,
      tokens: 1200000,
      messages_per_s: 1200,
      tokens_per_s: 24000,
      tokens_per_message: 20,
      rows_per_batch: 900,
      tokens_per_batch: 18000,
    },
    { bench: 'naive', messages: 3000, messages_per_s: 200, tokens_per_s: 4000 },
    { bench: 'e2e', part: 'memory', state: 'redis', keys: 100000, rss_mb: 380, peak_rss_mb: 520 },
  ],
  notes: ['a note'],
};

describe('bench report', () => {
  it('computes ratios to PyTorch, fractions of peak and the goals', () => {
    const s = summarize(results);
    assert.equal(s.kernelRatio.gru['1'], 0.5);
    assert.equal(s.kernelRatio.gru['256'], 1.2);
    assert.equal(s.kernelRatio.gru['1024'], 0.8);
    assert.equal(s.peakFraction['pytorch-cpu'].gru['256'], 0.2);
    assert.equal(s.batchingRatio, 30);
    const byGoal = (start: string) => s.goals.find((g) => g.goal.startsWith(start));
    assert.equal(byGoal('Kernel GRU batch 256 ≥ 1.3×')?.met, false, '1.2× is below 1.3×');
    assert.equal(
      byGoal('Kernel GRU batch 256 ≥ 1.3×')?.measured,
      '1.20× (rnnstream 60,000 vs pytorch-cpu 50,000 tok/s)',
    );
    assert.equal(byGoal('Kernel LSTM')?.met, undefined, 'not measured');
    assert.equal(byGoal('Kernel GRU batch 256 ≥ 70%')?.met, false, '6 of 100 GFLOP/s');
    assert.equal(byGoal('Kernel GRU batch 1')?.met, false, '1 000 tokens/s');
    // 30 000 ÷ 50 000 tokens/s of the kernel at the pipeline's batch.
    assert.equal(byGoal('Embedded pipeline ≥ 50%')?.met, true);
    assert.match(byGoal('Embedded pipeline ≥ 50%')?.measured ?? '', /^60\.0% .* at 500 rows × 20 steps/);
    assert.equal(byGoal('Batching')?.met, true);
    assert.equal(byGoal('Memory')?.met, true);
    assert.equal(byGoal('GPU')?.met, undefined);
    // 60 000 ÷ 150 000 = 40% of the kernel (missed); 15× naive; p99 90 ms > 50 ms at 50%; 90% not measured.
    assert.equal(byGoal('End to end (at-least-once) ≥ 50%')?.met, false);
    assert.match(byGoal('End to end (at-least-once) ≥ 50%')?.measured ?? '', /^40% /);
    assert.equal(byGoal('End to end (at-least-once) ≥ 10×')?.met, true);
    assert.equal(byGoal('End to end (at-least-once) ≥ 10×')?.measured, '15.0×');
    // 3 000 ÷ 1 200 messages/s on wasm in the same run; the wasm line is no second at-least-once mode.
    assert.equal(byGoal('End to end (at-least-once) ≥ 2× the messages/s of the wasm')?.met, true);
    assert.match(
      byGoal('End to end (at-least-once) ≥ 2× the messages/s of the wasm')?.measured ?? '',
      /^2\.50× /,
    );
    assert.equal(s.goals.filter((g) => g.goal.startsWith('End to end (at-least-once) ≥ 10×')).length, 1);
    assert.equal(byGoal('End to end (at-least-once) p99 latency ≤ 50 ms at 50%')?.met, false);
    assert.equal(
      byGoal('End to end (at-least-once) p99 latency ≤ 50 ms at 50%')?.measured,
      'p99 90 ms (p50 40 ms)',
    );
    assert.equal(byGoal('End to end (at-least-once) p99 latency ≤ 250 ms at 90%')?.met, undefined);
    // The peak counts: 520 MB is over the 500 MB bound even though the end is under it.
    assert.equal(byGoal('Memory: RSS ≤ 500 MB with 100 000 active keys (Redis')?.met, false);
  });

  it('judges the kernel goal against the best PyTorch run, one thread included', () => {
    const s = summarize({
      ...results,
      kernel: [
        point('rnnstream', 'gru', 256, 60000, 6),
        point('pytorch-cpu', 'gru', 256, 50000, 5),
        point('pytorch-cpu-1t', 'gru', 256, 80000, 8),
      ],
    });
    const goal = s.goals.find((g) => g.goal.startsWith('Kernel GRU batch 256 ≥ 1.3×'));
    assert.equal(goal?.met, false);
    assert.equal(goal?.measured, '0.75× (rnnstream 60,000 vs pytorch-cpu-1t 80,000 tok/s)');
    assert.equal(s.kernelRatio.gru['256'], 0.75, 'the table compares with the best run too');
  });

  it("judges the kernel goal on rnnstream's best onnxruntime configuration, never on wasm", () => {
    const s = summarize({
      ...results,
      kernel: [
        point('rnnstream', 'gru', 256, 60000, 6),
        point('rnnstream-2w', 'gru', 256, 140000, 75),
        point('rnnstream-wasm-2w', 'gru', 256, 900000, 90),
        point('pytorch-cpu-1t', 'gru', 256, 100000, 8),
      ],
    });
    const goal = s.goals.find((g) => g.goal.startsWith('Kernel GRU batch 256 ≥ 1.3×'));
    assert.equal(goal?.met, true);
    assert.match(goal?.measured ?? '', /^1\.40× \(rnnstream-2w/);
    assert.equal(s.goals.find((g) => g.goal.startsWith('Kernel GRU batch 256 ≥ 70%'))?.met, true);
  });

  it('says a goal is not measured when its part is missing', () => {
    const s = summarize({ kernel: [], pipeline: [], memory: [], replay: [], e2e: [], notes: [] });
    assert.ok(s.goals.every((g) => g.met === undefined));
  });

  it('renders side-by-side tables, the charts and the notes', () => {
    const md = renderMarkdown(results, summarize(results), (cell) => `charts/${cell}.svg`);
    assert.match(md, /Replay ÷ run: \*\*2\.00×\*\*/);
    assert.match(md, /\| 256 \| 60,000 \| 50,000 \| 1\.20× \| 6\.0% \| 20\.0% \| 50,000 \| 30,000 \|/);
    assert.match(md, /the pipeline reaches \*\*60\.0%\*\* of it/);
    assert.match(md, /Batched ÷ single: \*\*30\.00×\*\*/);
    assert.match(md, /!\[gru tokens\/s vs batch\]\(charts\/gru\.svg\)/);
    assert.match(md, /- a note/);
    assert.match(md, /\| rnnstream run, at-least-once, maximum \| 3,000 \| 60,000 \| 400\.0 \| 8,000 \|/);
    assert.match(
      md,
      /\| at-least-once \| 50% \| 1,500 \| 1,490 \| 40 \| 90 \| 120 \| 130 \| 60\.0 \| 250 \|/,
    );
    // The stage breakdown: fetch, key gate, batch, load, step, store, sink, (no transaction), commit.
    assert.match(
      md,
      /\| at-least-once \| 50% \| 3\.5 \| 1\.0 \| 4\.0 \| 2\.0 \| 15\.0 \| 3\.0 \| 8\.0 \| – \| 6\.0 \| 33\.0 \| 0 \|/,
    );
    assert.match(
      md,
      /Memory: `rnnstream run` with redis state after 100,000 keys .*: 380 MB resident at the end, 520 MB at the peak/,
    );
    assert.match(md, /\| rnnstream run, at-least-once, maximum, --backend wasm \| 1,200 \|/);
    assert.match(md, /\| Kafka raw produce \(160-byte values, the I\/O ceiling\) \| 90,000 \|/);
    const charts = kernelCharts(results);
    assert.deepEqual(Object.keys(charts), ['gru']);
    assert.match(charts.gru, /<svg/);
    assert.equal((charts.gru.match(/<polyline/g) ?? []).length, 4, 'three implementations and the roofline');
    assert.match(charts.gru, /pytorch-cpu-1t/);
  });

  it('writes summary.json, the charts and the markdown from a results folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    writeFileSync(join(dir, 'kernel.jsonl'), `${results.kernel.map((p) => JSON.stringify(p)).join('\n')}\n`);
    writeFileSync(join(dir, 'sgemm.json'), JSON.stringify(results.sgemm));
    const md = join(dir, 'BENCHMARKS.md');
    const summary = writeReport(dir, md);
    assert.equal(summary.kernelRatio.gru['256'], 1.2);
    assert.match(readFileSync(md, 'utf8'), /## \(a\) Kernel/);
    assert.match(readFileSync(join(dir, 'kernel-gru.svg'), 'utf8'), /<\/svg>/);
    assert.equal(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).batchingRatio, undefined);
  });
});

describe('renderLogLogChart', () => {
  it('places points on log axes inside the plot', () => {
    const svg = renderLogLogChart(
      [
        {
          label: 'a<b',
          color: '#000',
          points: [
            { x: 1, y: 10 },
            { x: 100, y: 1000 },
            { x: 0, y: 5 },
          ],
        },
      ],
      { title: 't', xLabel: 'x', yLabel: 'y', width: 640, height: 400 },
    );
    const coords = (svg.match(/<polyline points="([^"]+)"/)?.[1] ?? '')
      .split(' ')
      .map((p) => p.split(',').map(Number));
    assert.equal(coords.length, 2, 'the point at x = 0 has no place on a log axis');
    const [[x1, y1], [x2, y2]] = coords;
    assert.ok(x2 > x1 && y2 < y1, 'up and to the right');
    assert.match(svg, /a&lt;b/);
  });

  it('abbreviates tick labels', () => {
    assert.equal(shortNumber(1), '1');
    assert.equal(shortNumber(1000), '1k');
    assert.equal(shortNumber(25_000_000), '25M');
  });
});
