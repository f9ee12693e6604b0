/**
 * Child processes of the end-to-end benchmark: each measured program runs in its own process (its own
 * event loop and engine), as it would in production, and reports through its last JSON stdout line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { BENCH_WORDS } from './memorySource.js';
import { seededRandom } from './random.js';

/** `node` with tsx, for the bench scripts (TypeScript sources). */
export const TSX = [process.execPath, '--import', 'tsx'];
/** The `rnnstream` command as users run it (the build in dist/). */
export const RNNSTREAM = [process.execPath, 'bin/rnnstream.js'];

/** A finished child: exit code and what it printed. */
export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `argv`; stdout/stderr are collected (stderr also echoed when `echo`). */
export function start(
  argv: readonly string[],
  echo = false,
): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (echo) process.stderr.write(d);
  });
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

/** Runs `argv` to the end and returns its last JSON line; throws with its stderr when it fails. */
export async function runJson<T>(argv: readonly string[]): Promise<T> {
  const { code, stdout, stderr } = await start(argv).done;
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (code !== 0 || line === undefined) {
    throw new Error(`${argv.slice(1, 4).join(' ')} … exited ${code}:\n${stderr.slice(-2000)}`);
  }
  return JSON.parse(line) as T;
}

/** A TCP port free right now on 127.0.0.1 (for a `--metrics-port`; the fault tests use it too). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/**
 * Writes `count` JSON-lines texts of `words` words drawn from the benchmark's English word list (seeded), for
 * `rnnstream feed --texts`: every word is one token of the shipped vocabulary.
 */
export async function writeTexts(path: string, count: number, words: number, seed = 1): Promise<void> {
  const next = seededRandom(seed);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const text = Array.from({ length: words }, () => BENCH_WORDS[Math.floor(next() * BENCH_WORDS.length)]);
    lines.push(JSON.stringify({ text: text.join(' ') }));
  }
  await writeFile(path, `${lines.join('\n')}\n`);
}

/**
 * The value of one series in Prometheus `/metrics` text (0 when absent); with `label` (e.g. `op="load"`),
 * of the series carrying it. Written here because prom-client formats this text but does not parse it.
 * @example metricValue(text, 'rnnstream_process_resident_memory_bytes') // 314572800
 */
export function metricValue(metrics: string, series: string, label?: string): number {
  const line = metrics
    .split('\n')
    .find(
      (l) =>
        (l.startsWith(`${series} `) || l.startsWith(`${series}{`)) &&
        (label === undefined || l.includes(label)),
    );
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/**
 * Sum and count of a Prometheus histogram in `/metrics` text; with `label`, of the series carrying it.
 * @example histogramTotals(text, 'rnnstream_state_seconds', 'op="load"') // { sum: 1.2, count: 40 }
 */
export function histogramTotals(
  metrics: string,
  name: string,
  label?: string,
): { sum: number; count: number } {
  return {
    sum: metricValue(metrics, `${name}_sum`, label),
    count: metricValue(metrics, `${name}_count`, label),
  };
}

/** Stops a child with SIGTERM (graceful drain) and returns its exit code. */
export async function terminate(
  child: ChildProcess,
  done: Promise<Finished>,
  timeoutMs = 30_000,
): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return (await done).code;
  } finally {
    clearTimeout(timer);
  }
}
