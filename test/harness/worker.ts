/**
 * A `rnnstream run` worker as a child process, started as a user would start it (the CLI, JSON logs on
 * stderr): its parsed log, conditions to wait on, signals (SIGKILL, SIGTERM, SIGSTOP), and a graceful stop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { RunStats } from '../../pipeline/running.js';
import { withTimeout } from './timeout.js';

/** The repository root: workers run `pipeline/cli.ts` from there. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How to start one worker: the URIs and flags of `rnnstream run`. */
export interface WorkerOptions {
  /** `kafka://…/topic?group=…` input URI (see {@link inputUri}). */
  in: string;
  /** Output URI (see {@link topicUri}). */
  out: string;
  /** Dead-letter URI; absent = dead letters go to stderr. */
  dlq?: string;
  /** `redis://…/0?prefix=…` state URI (see {@link stateUri}). */
  state: string;
  /** Model package folder. */
  model: string;
  /** @default false */
  exactlyOnce?: boolean;
  /** `--on-bad-state`; absent = the CLI's default. */
  onBadState?: 'reset' | 'dlq' | 'fail';
  /** `--input-format`; absent = the CLI's default (json). */
  inputFormat?: 'json' | 'text';
  /** More command-line flags, appended as they are. */
  args?: string[];
  /** More environment. */
  env?: Record<string, string>;
  /** A name for failure messages. @default 'worker' */
  name?: string;
}

/** `kafka://BROKERS/TOPIC` (an output or dead-letter URI). */
export function topicUri(brokers: readonly string[], topic: string): string {
  return `kafka://${brokers.join(',')}/${topic}`;
}

/** `kafka://BROKERS/TOPIC?group=…&fromBeginning=true&…`: an input URI (a new group starts at the earliest offset). */
export function inputUri(
  brokers: readonly string[],
  topic: string,
  group: string,
  more: Record<string, string> = {},
): string {
  return `${topicUri(brokers, topic)}?${new URLSearchParams({ group, fromBeginning: 'true', ...more })}`;
}

/** `REDIS_URL/0?prefix=…`: a state URI over the keys of `prefix`. */
export function stateUri(redisUrl: string, prefix: string): string {
  return `${redisUrl.replace(/\/+$/, '')}/0?prefix=${encodeURIComponent(prefix)}`;
}

/** The command-line arguments of `rnnstream run` for `options` (after `pipeline/cli.ts`). */
export function workerArgs(options: WorkerOptions): string[] {
  const args = ['run', '--in', options.in, '--out', options.out, '--state', options.state];
  args.push('--model', options.model, '--backend', 'wasm', '--log-level', 'info');
  if (options.dlq !== undefined) args.push('--dlq', options.dlq);
  if (options.inputFormat !== undefined) args.push('--input-format', options.inputFormat);
  if (options.exactlyOnce) args.push('--exactly-once');
  if (options.onBadState) args.push('--on-bad-state', options.onBadState);
  args.push(...(options.args ?? []));
  return args;
}

/** A structured log line of the worker (pino JSON). */
export interface WorkerLog {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** How a worker process ended. */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The counts a worker logs with "done". */
export type WorkerStats = RunStats;

/** Log lines kept per worker (oldest dropped first), so a long run cannot fill the test's memory. */
const MAX_KEPT_LOGS = 5_000;

const live = new Set<WorkerProcess>();
// A test that fails half-way must not leave workers consuming (and holding the test run open).
process.once('exit', () => {
  for (const worker of live) worker.kill('SIGKILL');
});

/**
 * `node --import tsx pipeline/cli.ts run …` as a child process, with its JSON logs parsed.
 *
 * @example
 * const worker = WorkerProcess.start({ in, out, state, model });
 * await worker.running();
 * worker.kill('SIGKILL');
 * await worker.exited;
 */
export class WorkerProcess {
  readonly logs: WorkerLog[] = [];
  /** Lines of stderr that were not JSON objects (crash traces). */
  readonly rawErrors: string[] = [];
  /** Resolves when the process has exited. */
  readonly exited: Promise<WorkerExit>;
  readonly startedAt = Date.now();
  readonly #waiters = new Set<() => void>();
  readonly #counts = new Map<string, number>();
  #exit: WorkerExit | undefined;
  #partial = '';

  private constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    live.add(this);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.#partial) this.#push(this.#partial);
        this.#partial = '';
        this.#exit = { code, signal };
        live.delete(this);
        this.#wake();
        resolve(this.#exit);
      });
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.#onData(chunk));
  }

  /** Spawns a worker. */
  static start(options: WorkerOptions): WorkerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'pipeline/cli.ts', ...workerArgs(options)], {
      cwd: REPO_ROOT,
      // Not a test-runner child: without NODE_TEST_CONTEXT unset it would report to the runner's IPC.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, RNNSTREAM_LOG_LEVEL: 'info', ...options.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return new WorkerProcess(child, options.name ?? 'worker');
  }

  /** How many log lines had this message (all of them, not only the kept ones). */
  count(msg: string): number {
    return this.#counts.get(msg) ?? 0;
  }

  /** Kept log lines whose `msg` is `msg`. */
  find(msg: string): WorkerLog[] {
    return this.logs.filter((line) => line.msg === msg);
  }

  /** The exit, once the process ended. */
  get exit(): WorkerExit | undefined {
    return this.#exit;
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** The pid (for SIGSTOP tricks and messages). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /**
   * Waits until `condition` holds over the log (checked on every new line), failing if the worker exits
   * first or `timeoutMs` passes; resolves to the condition's value.
   */
  async waitFor<T>(
    condition: (logs: readonly WorkerLog[]) => T | undefined | false,
    what: string,
    timeoutMs = 60_000,
  ): Promise<T> {
    let wake: () => void = () => undefined;
    const check = (resolveWait: (value: T) => void, reject: (error: Error) => void) => {
      const value = condition(this.logs);
      if (value !== undefined && value !== false) resolveWait(value);
      else if (this.#exit) {
        reject(
          new Error(`${this.name} exited (${JSON.stringify(this.#exit)}) before ${what}\n${this.tail()}`),
        );
      }
    };
    try {
      return await withTimeout(
        new Promise<T>((resolveWait, reject) => {
          wake = () => check(resolveWait, reject);
          this.#waiters.add(wake);
          wake();
        }),
        timeoutMs,
        () => `${this.name}: waiting for ${what}\n${this.tail()}`,
      );
    } finally {
      this.#waiters.delete(wake);
    }
  }

  /** Waits for a log line with this `msg` (and whatever `match` adds) and returns it. */
  waitForLog(
    msg: string,
    timeoutMs = 60_000,
    match: (line: WorkerLog) => boolean = () => true,
  ): Promise<WorkerLog> {
    return this.waitFor(
      (logs) => logs.find((line) => line.msg === msg && match(line)),
      `log "${msg}"`,
      timeoutMs,
    );
  }

  /** Resolves when the worker logged `running` (connected, model loaded); rejects if it exits first. */
  async running(timeoutMs = 60_000): Promise<void> {
    await this.waitFor(() => this.count('running') > 0, 'running', timeoutMs);
  }

  /** Resolves as `work` does, but rejects at once if the worker exits first (a crash fails fast). */
  async whileAlive<T>(work: Promise<T>): Promise<T> {
    return Promise.race([
      work,
      this.exited.then((exit) => {
        throw new Error(`${this.name} exited unexpectedly (${JSON.stringify(exit)})\n${this.tail()}`);
      }),
    ]);
  }

  /** The partitions of this worker's latest group join (empty before the first). */
  assigned(): number[] {
    const joins = this.find('kafka group joined');
    const last = joins[joins.length - 1];
    return Array.isArray(last?.assigned) ? (last.assigned as number[]) : [];
  }

  /** Sends a signal (no-op once exited): SIGKILL is a crash, SIGSTOP and SIGCONT freeze and thaw. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#exit === undefined) this.child.kill(signal);
  }

  /**
   * Sends SIGTERM and waits for the exit: the worker drains, flushes, commits and exits 0. Rejects when
   * it exits otherwise or takes longer than `timeoutMs` (then it is killed). Resolves to the "done" stats.
   */
  async stop(timeoutMs = 45_000): Promise<WorkerStats> {
    this.kill('SIGTERM');
    let exit: WorkerExit;
    try {
      exit = await withTimeout(this.exited, timeoutMs, () => `${this.name}: SIGTERM drain\n${this.tail()}`);
    } catch (error) {
      this.kill('SIGKILL');
      throw error;
    }
    if (exit.code !== 0) {
      throw new Error(`${this.name} exited with ${JSON.stringify(exit)} after SIGTERM:\n${this.tail()}`);
    }
    return this.stats();
  }

  /** The counts of the worker's "done" log line (it logs one when it ends cleanly). */
  stats(): WorkerStats {
    const done = this.find('done')[0];
    if (!done) throw new Error(`${this.name} logged no "done" line:\n${this.tail()}`);
    return done as unknown as WorkerStats;
  }

  /** Stops the worker with SIGKILL if it still runs (for cleanup). */
  async dispose(): Promise<void> {
    this.kill('SIGKILL');
    await this.exited;
  }

  /** The last log lines and raw errors, for failure messages. */
  tail(lines = 15): string {
    const logs = this.logs.slice(-lines).map((l) => JSON.stringify(l).slice(0, 400));
    return [...logs, ...this.rawErrors.slice(-lines)].join('\n');
  }

  #onData(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#push(line);
    this.#wake();
  }

  #push(line: string): void {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {}
    if (typeof parsed !== 'object' || parsed === null) {
      this.rawErrors.push(line);
      if (this.rawErrors.length > 200) this.rawErrors.shift();
      return;
    }
    const log = parsed as WorkerLog;
    this.#counts.set(log.msg, (this.#counts.get(log.msg) ?? 0) + 1);
    this.logs.push(log);
    if (this.logs.length > MAX_KEPT_LOGS) this.logs.shift();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** Kills every worker still running: for `after` hooks of tests that may have failed half-way. */
export async function killWorkers(): Promise<void> {
  const running = [...live];
  for (const worker of running) worker.kill('SIGKILL');
  await Promise.all(running.map((worker) => worker.exited));
}

/** The resident set size of a process in bytes (Linux `/proc`), or 0 when it is gone. */
export async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
