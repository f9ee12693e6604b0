/**
 * Turns the raw results of `bench/run.sh` (bench/results/*.json, *.jsonl) into `bench/results/summary.json`,
 * one SVG chart per cell and `BENCHMARKS.md`: tables side by side, ratios, fraction of the sgemm peak, and
 * which goals of the performance issue hold.
 *
 * Usage: `node --import tsx bench/report.ts [resultsDir] [markdownPath]`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_COLORS, type ChartSeries, renderLogLogChart } from './chart.js';
import { fmt } from './format.js';
import { type E2eLine, e2eGoals, renderE2e } from './reportE2e.js';

/** One kernel measurement (either implementation): the fields both bench/kernel.ts and pytorch_kernel.py print. */
export interface KernelPoint {
  impl: string;
  tokens_per_s: number;
  backend: string;
  cell: string;
  batch: number;
  steps: number;
  hidden: number;
  embed: number;
  vocab: number;
  flops_per_token: number;
  gflops: number;
  /** Set when the point was measured for a context (`pipeline`: at the pipeline's batch), not the sweep. */
  context?: string;
  /** Rows per call of a contextual point (the sweep's is `batch`). */
  rows_per_batch?: number;
}

/** Everything `bench/run.sh` may have written (each part absent when it was skipped or failed). */
export interface BenchResults {
  machine?: Record<string, unknown>;
  sgemm?: { gflops: number; threads?: number; blas?: string };
  /** The kernel sweep (points without a context). */
  kernel: KernelPoint[];
  /** Kernel points measured for a context, e.g. at the embedded pipeline's batch. */
  kernelAt?: KernelPoint[];
  pipeline: {
    mode: string;
    tokens_per_s: number;
    messages_per_s: number;
    keys: number;
    messages: number;
    rows_per_batch: number;
    tokens_per_batch: number;
    model: string;
    backend: string;
  }[];
  memory: {
    via: string;
    keys: number;
    held: number;
    rss_mb: number;
    rss_before_mb: number;
    peak_rss_mb: number;
    bytes_per_key: number;
    model: string;
  }[];
  /** `rnnstream run` and `rnnstream replay` on the same file (bench/replayVsRun.sh). */
  replay: {
    mode: string;
    messages: number;
    tokens: number;
    batches: number;
    seconds: number;
    messages_per_s: number;
    tokens_per_s: number;
  }[];
  /** End to end through Kafka and Redis (bench/e2e.ts). */
  e2e: E2eLine[];
  /** Free-form notes of the run (skipped parts and why). */
  notes: string[];
}

/** A goal of the issue, with whether this run met it. */
export interface GoalStatus {
  goal: string;
  measured: string;
  /** `undefined` = not measured in this run. */
  met?: boolean;
}

/** The ratios a reader wants first; also written as summary.json. */
export interface BenchSummary {
  /** rnnstream (ONNX Runtime, one engine) ÷ the best PyTorch CPU run's tokens/s, per cell and batch. */
  kernelRatio: Record<string, Record<string, number>>;
  /** Fraction of the sgemm peak, per implementation, cell and batch. */
  peakFraction: Record<string, Record<string, Record<string, number>>>;
  /** Batched ÷ single pipeline tokens/s. */
  batchingRatio?: number;
  goals: GoalStatus[];
}

const RNNSTREAM = 'rnnstream';
const PYTORCH = 'pytorch-cpu';

/** Parses a JSON-lines file, skipping blank lines; a missing file is an empty list. */
function readLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as T);
}

function readJson<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

/**
 * Reads what `bench/run.sh` wrote into a results folder.
 * @example const results = readResults('bench/results');
 */
export function readResults(dir: string): BenchResults {
  const notesPath = join(dir, 'notes.txt');
  const kernel = readLines<KernelPoint>(join(dir, 'kernel.jsonl'));
  return {
    machine: readJson(join(dir, 'machine.json')),
    sgemm: readJson(join(dir, 'sgemm.json')),
    kernel: kernel.filter((p) => !p.context),
    kernelAt: kernel.filter((p) => p.context),
    pipeline: readLines(join(dir, 'pipeline.jsonl')),
    memory: readLines(join(dir, 'memory.jsonl')),
    replay: readLines(join(dir, 'replay.jsonl')),
    e2e: readLines(join(dir, 'e2e.jsonl')),
    notes: existsSync(notesPath)
      ? readFileSync(notesPath, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
      : [],
  };
}

/** The fastest of some points. */
function bestOf(points: KernelPoint[]): KernelPoint | undefined {
  return points.reduce<KernelPoint | undefined>(
    (best, p) => (best && best.tokens_per_s >= p.tokens_per_s ? best : p),
    undefined,
  );
}

/** PyTorch's best CPU setting at a cell and batch (all threads, or one thread: often faster on small machines). */
function bestTorch(results: BenchResults, cell: string, batch: number): KernelPoint | undefined {
  return bestOf(
    results.kernel.filter((p) => p.impl.startsWith(PYTORCH) && p.cell === cell && p.batch === batch),
  );
}

/** The kernel point of an implementation at a cell and batch (the last one wins if measured twice). */
function pointOf(results: BenchResults, impl: string, cell: string, batch: number): KernelPoint | undefined {
  return results.kernel.filter((p) => p.impl === impl && p.cell === cell && p.batch === batch).at(-1);
}

const unique = <T>(values: T[]) => [...new Set(values)];
const pct = (n: number | undefined) => (n === undefined ? '–' : `${(100 * n).toFixed(n < 0.01 ? 2 : 1)}%`);
const ratio = (n: number | undefined) => (n === undefined ? '–' : `${n.toFixed(2)}×`);

/**
 * Computes the ratios and goal statuses of a run.
 * @example const summary = summarize(readResults('bench/results'));
 */
export function summarize(results: BenchResults): BenchSummary {
  const kernelRatio: BenchSummary['kernelRatio'] = {};
  const peakFraction: BenchSummary['peakFraction'] = {};
  /** `table[a][b][c] = value`, creating the levels on the way. */
  const put = (table: Record<string, Record<string, number>>, cell: string, batch: number, value: number) => {
    table[cell] = { ...table[cell], [String(batch)]: value };
  };
  for (const p of results.kernel) {
    if (results.sgemm) {
      peakFraction[p.impl] = peakFraction[p.impl] ?? {};
      put(peakFraction[p.impl], p.cell, p.batch, p.gflops / results.sgemm.gflops);
    }
    if (p.impl !== RNNSTREAM) continue;
    const base = bestTorch(results, p.cell, p.batch);
    if (base) put(kernelRatio, p.cell, p.batch, p.tokens_per_s / base.tokens_per_s);
  }
  const batched = results.pipeline.filter((p) => p.mode === 'batched').at(-1);
  const single = results.pipeline.filter((p) => p.mode === 'single').at(-1);
  const batchingRatio = batched && single ? batched.tokens_per_s / single.tokens_per_s : undefined;

  const goals: GoalStatus[] = [];
  // Kernel goals at batch 256: rnnstream's best ONNX Runtime configuration (one engine, engine workers, or
  // one session of several threads) against PyTorch's best CPU setting (all threads, or one thread).
  for (const cell of ['gru', 'lstm', 'rnn']) {
    const ours = bestOf(
      results.kernel.filter((p) => p.backend === 'onnxruntime' && p.cell === cell && p.batch === 256),
    );
    const base = bestTorch(results, cell, 256);
    const r = ours && base ? ours.tokens_per_s / base.tokens_per_s : undefined;
    goals.push({
      goal: `Kernel ${cell.toUpperCase()} batch 256 ≥ 1.3× the best PyTorch CPU run`,
      measured:
        ours && base && r !== undefined
          ? `${ratio(r)} (${ours.impl} ${fmt(ours.tokens_per_s)} vs ${base.impl} ${fmt(base.tokens_per_s)} tok/s)`
          : 'not measured',
      met: r === undefined ? undefined : r >= 1.3,
    });
    if (cell !== 'gru') continue;
    const peak = ours && results.sgemm ? ours.gflops / results.sgemm.gflops : undefined;
    goals.push({
      goal: 'Kernel GRU batch 256 ≥ 70% of the sgemm peak, counting the FLOPs it does',
      measured:
        ours && peak !== undefined
          ? `${pct(peak)} (${ours.impl}, ${fmt(ours.gflops, 1)} GFLOP/s)`
          : 'not measured',
      met: peak === undefined ? undefined : peak >= 0.7,
    });
  }
  const one = pointOf(results, RNNSTREAM, 'gru', 1);
  goals.push({
    goal: 'Kernel GRU batch 1 ≥ 100 000 tokens/s (onnxruntime)',
    measured: one ? `${fmt(one.tokens_per_s)} tok/s` : 'not measured',
    met: one ? one.tokens_per_s >= 100_000 : undefined,
  });
  const kernelAtPipeline = (results.kernelAt ?? []).filter((p) => p.context === 'pipeline').at(-1);
  const pipelineShare =
    batched && kernelAtPipeline ? batched.tokens_per_s / kernelAtPipeline.tokens_per_s : undefined;
  goals.push({
    goal: "Embedded pipeline ≥ 50% of the kernel's tokens/s at the batch shape it formed",
    measured:
      pipelineShare === undefined || !batched || !kernelAtPipeline
        ? 'not measured'
        : `${pct(pipelineShare)} (${fmt(batched.tokens_per_s)} vs ${fmt(kernelAtPipeline.tokens_per_s)} tok/s at ${kernelAtPipeline.batch} rows × ${kernelAtPipeline.steps} steps)`,
    met: pipelineShare === undefined ? undefined : pipelineShare >= 0.5,
  });
  goals.push({
    goal: 'Batching ≥ 20× the one-at-a-time pipeline at 1 000 active keys',
    measured: batchingRatio === undefined ? 'not measured' : ratio(batchingRatio),
    met: batchingRatio === undefined ? undefined : batchingRatio >= 20,
  });
  const memory = results.memory.filter((m) => m.keys >= 100_000);
  goals.push({
    goal: 'Memory: RSS ≤ 500 MB with 100 000 active keys (memory state)',
    measured: memory.length ? memory.map((m) => `${fmt(m.rss_mb)} MB (${m.via})`).join(', ') : 'not measured',
    met: memory.length ? memory.every((m) => m.rss_mb <= 500) : undefined,
  });
  goals.push(...e2eGoals(results.e2e));
  goals.push({
    goal: 'GPU: ≥ 25 M tokens/s at batch 16 384 on an H100',
    measured: 'not measured by bench/run.sh (see bench/gpu/)',
  });
  return { kernelRatio, peakFraction, batchingRatio, goals };
}

/**
 * One log-log chart per cell: tokens/s against batch, a line per implementation, and the sgemm peak
 * expressed in tokens/s of rnnstream's FLOPs per token as a dashed roofline.
 */
export function kernelCharts(results: BenchResults): Record<string, string> {
  const impls = unique(results.kernel.map((p) => p.impl));
  const charts: Record<string, string> = {};
  for (const cell of unique(results.kernel.map((p) => p.cell))) {
    const points = results.kernel.filter((p) => p.cell === cell);
    const series: ChartSeries[] = impls.map((impl, i) => ({
      label: `${impl}${impl === RNNSTREAM ? ` (${points.find((p) => p.impl === impl)?.backend ?? ''})` : ''}`,
      color: CHART_COLORS[i % CHART_COLORS.length],
      points: points.filter((p) => p.impl === impl).map((p) => ({ x: p.batch, y: p.tokens_per_s })),
    }));
    const ours = points.find((p) => p.impl === RNNSTREAM) ?? points[0];
    if (results.sgemm && ours) {
      const roof = (results.sgemm.gflops * 1e9) / ours.flops_per_token;
      const batches = points.map((p) => p.batch);
      series.push({
        label: `sgemm peak (${fmt(results.sgemm.gflops)} GFLOP/s)`,
        color: '#555',
        dashed: true,
        points: [
          { x: Math.min(...batches), y: roof },
          { x: Math.max(...batches), y: roof },
        ],
      });
    }
    const shape = ours ? `E ${ours.embed}, H ${ours.hidden}, ${ours.steps} steps` : '';
    charts[cell] = renderLogLogChart(series, {
      title: `${cell.toUpperCase()} kernel: tokens/s vs batch (${shape})`,
      xLabel: 'batch (rows per step call)',
      yLabel: 'tokens/s',
    });
  }
  return charts;
}

/**
 * The whole BENCHMARKS.md text. `chartPath(cell)` is the path of a cell's chart relative to the markdown.
 * @example const md = renderMarkdown(results, summarize(results), (cell) => `bench/results/kernel-${cell}.svg`);
 */
export function renderMarkdown(
  results: BenchResults,
  summary: BenchSummary,
  chartPath: (cell: string) => string,
): string {
  const m = results.machine ?? {};
  const lines: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by bench/report.ts from bench/results/ — run `make bench` to regenerate; do not edit by hand. -->',
    '',
    `Run: ${m.date ?? 'unknown date'} · ${m.cpu ?? 'unknown CPU'} · ${m.cores ?? '?'} cores · Node ${m.node ?? '?'} · commit ${m.commit ?? '?'}`,
    `Load average at start / end: ${m.load_start ?? '?'} / ${m.load_end ?? '?'} (above the core count the figures are noisy).`,
    '',
    'All figures come from one run of `bench/run.sh` on one machine; ratios compare implementations measured side by side.',
    '',
    '## Goals',
    '',
    '| goal | measured | met |',
    '| --- | --- | --- |',
    ...summary.goals.map(
      (g) => `| ${g.goal} | ${g.measured} | ${g.met === undefined ? '–' : g.met ? 'yes' : '**no**'} |`,
    ),
    '',
    '## (a) Kernel: rnnstream vs PyTorch CPU',
    '',
  ];
  if (results.sgemm) {
    lines.push(
      `Roofline: float32 sgemm peak ${fmt(results.sgemm.gflops, 1)} GFLOP/s (numpy, ${results.sgemm.blas ?? 'BLAS'}, ${results.sgemm.threads ?? '?'} threads).`,
      '',
    );
  }
  const first = results.kernel[0];
  if (!first) {
    lines.push('Not measured in this run.', '');
  } else {
    lines.push(
      `Shapes: vocab ${first.vocab}, embed ${first.embed}, hidden ${first.hidden}, ${first.steps} steps per call, state carried between calls.`,
      'FLOPs per token count 2 per multiply-add of the math each implementation does: the recurrent `h·W_hhᵀ` (2·G·H·H) plus the input',
      'projection (2·G·H·E) — except in rnnstream on TF.js (`-wasm`), where layer 0 is a precomputed `[vocab, G·H]` table lookup. "% peak" = GFLOP/s ÷ sgemm peak.',
      "`rnnstream` is the default backend (ONNX Runtime, one session of one thread); `-Nw` = N engine workers (run's default: one per core), `-Nt` = one session of N threads,",
      '`-wasm` = TF.js wasm. PyTorch is compared at its best setting per point (`pytorch-cpu` all threads, `pytorch-cpu-1t` one thread).',
      '',
    );
    const impls = unique(results.kernel.map((p) => p.impl));
    const others = impls.filter((i) => i !== RNNSTREAM);
    for (const cell of unique(results.kernel.map((p) => p.cell))) {
      const backend = results.kernel.find((p) => p.impl === RNNSTREAM && p.cell === cell)?.backend ?? '?';
      lines.push(
        `### ${cell.toUpperCase()}`,
        '',
        `| batch | rnnstream (${backend}) tok/s | best PyTorch CPU tok/s | ratio | rnnstream % peak | PyTorch % peak |${others.map((o) => ` ${o} tok/s |`).join('')}`,
        `| ---: | ---: | ---: | ---: | ---: | ---: |${others.map(() => ' ---: |').join('')}`,
      );
      const batches = unique(results.kernel.filter((p) => p.cell === cell).map((p) => p.batch)).sort(
        (a, b) => a - b,
      );
      for (const batch of batches) {
        const ours = pointOf(results, RNNSTREAM, cell, batch);
        const base = bestTorch(results, cell, batch);
        const rest = others.map((o) => ` ${fmt(pointOf(results, o, cell, batch)?.tokens_per_s)} |`).join('');
        lines.push(
          `| ${batch} | ${fmt(ours?.tokens_per_s)} | ${fmt(base?.tokens_per_s)} | ${ratio(summary.kernelRatio[cell]?.[String(batch)])} | ${pct(summary.peakFraction[RNNSTREAM]?.[cell]?.[String(batch)])} | ${pct(base ? summary.peakFraction[base.impl]?.[cell]?.[String(batch)] : undefined)} |${rest}`,
        );
      }
      lines.push('', `![${cell} tokens/s vs batch](${chartPath(cell)})`, '');
    }
  }
  lines.push('## (b) Pipeline: micro-batched vs one message at a time', '');
  if (results.pipeline.length === 0) {
    lines.push('Not measured in this run.', '');
  } else {
    const p0 = results.pipeline[0];
    lines.push(
      `Embedded pipeline (generated source, memory state, counting sink), ${p0.keys} active keys, model: ${p0.model}, backend ${p0.backend}.`,
      '',
      '| mode | messages | tokens/s | messages/s | rows/batch | tokens/batch |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...results.pipeline.map(
        (p) =>
          `| ${p.mode} | ${p.messages} | ${fmt(p.tokens_per_s)} | ${fmt(p.messages_per_s)} | ${fmt(p.rows_per_batch, 1)} | ${fmt(p.tokens_per_batch)} |`,
      ),
      '',
      `Batched ÷ single: **${ratio(summary.batchingRatio)}** (goal ≥ 20×).`,
      '',
    );
    const at = (results.kernelAt ?? []).filter((k) => k.context === 'pipeline').at(-1);
    const batched = results.pipeline.filter((r) => r.mode === 'batched').at(-1);
    if (at && batched) {
      lines.push(
        `The kernel alone at the batch the pipeline formed (${at.batch} rows × ${at.steps} steps, ${at.impl}, ${at.backend}): ${fmt(at.tokens_per_s)} tokens/s; the pipeline reaches **${pct(batched.tokens_per_s / at.tokens_per_s)}** of it.`,
        '',
      );
    }
  }
  lines.push('## Memory', '');
  if (results.memory.length === 0) {
    lines.push('Not measured in this run.', '');
  } else {
    lines.push(
      '| keys held | filled via | RSS before | RSS after | peak RSS | bytes/key | model |',
      '| ---: | --- | ---: | ---: | ---: | ---: | --- |',
      ...results.memory.map(
        (r) =>
          `| ${fmt(r.held)} | ${r.via} | ${fmt(r.rss_before_mb)} MB | ${fmt(r.rss_mb)} MB | ${fmt(r.peak_rss_mb)} MB | ${fmt(r.bytes_per_key)} | ${r.model} |`,
      ),
      '',
    );
  }
  lines.push('## Replay vs run', '');
  const runPoint = results.replay.filter((r) => r.mode === 'run').at(-1);
  const replayPoint = results.replay.filter((r) => r.mode === 'replay').at(-1);
  if (!runPoint || !replayPoint) {
    lines.push('Not measured in this run.', '');
  } else {
    lines.push(
      "The same JSON-lines file (2 000 keys) through `rnnstream run` (streaming batch defaults) and `rnnstream replay` (batch defaults), memory state, outputs to /dev/null; pipeline time from each command's own log.",
      '',
      '| command | messages | tokens | batches | seconds | messages/s | tokens/s |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...[runPoint, replayPoint].map(
        (r) =>
          `| ${r.mode} | ${fmt(r.messages)} | ${fmt(r.tokens)} | ${fmt(r.batches)} | ${r.seconds.toFixed(2)} | ${fmt(r.messages_per_s)} | ${fmt(r.tokens_per_s)} |`,
      ),
      '',
      `Replay ÷ run: **${ratio(replayPoint.tokens_per_s / runPoint.tokens_per_s)}**.`,
      '',
    );
  }
  lines.push(
    ...renderE2e(results.e2e),
    '## (d) GPU',
    '',
    'Run separately on an NVIDIA GPU machine with `bash bench/gpu/run.sh`; see bench/gpu/README.md.',
    '',
  );
  if (results.notes.length > 0)
    lines.push('## Notes of this run', '', ...results.notes.map((n) => `- ${n}`), '');
  return `${lines.join('\n')}`;
}

/**
 * Writes summary.json, the charts and the markdown report.
 * @example writeReport('bench/results', 'BENCHMARKS.md');
 */
export function writeReport(dir: string, markdownPath: string): BenchSummary {
  const results = readResults(dir);
  const summary = summarize(results);
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  for (const [cell, svg] of Object.entries(kernelCharts(results)))
    writeFileSync(join(dir, `kernel-${cell}.svg`), svg);
  writeFileSync(
    markdownPath,
    renderMarkdown(results, summary, (cell) => `bench/results/kernel-${cell}.svg`),
  );
  return summary;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir = 'bench/results', markdown = 'BENCHMARKS.md'] = process.argv.slice(2);
  const summary = writeReport(dir, markdown);
  for (const g of summary.goals)
    process.stdout.write(
      `${g.met === undefined ? '  -  ' : g.met ? ' yes ' : ' NO  '} ${g.goal}: ${g.measured}\n`,
    );
  process.stdout.write(`wrote ${markdown}, ${join(dir, 'summary.json')} and one chart per cell\n`);
}
