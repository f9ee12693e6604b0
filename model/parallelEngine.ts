/**
 * Runs N engines in worker threads over disjoint rows of each batch. TF.js `wasm` is single-threaded in
 * Node, so on a multi-core CPU one engine uses one core; splitting a batch's rows across N workers (each
 * its own backend) uses N. Rows are dealt to workers by token count (longest first, to the least loaded),
 * so the workers finish together; results come back in the caller's row order.
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendName } from './backend.js';
import type { RnnWeights } from './cells.js';
import type { StepEngineOptions } from './stepEngine.js';
import type { RnnConfig, StepEngine, StepOptions, StepResult, StepRow } from './types.js';

/** Options of {@link createParallelEngine}. */
export interface ParallelEngineOptions {
  /** Worker threads. @default os.availableParallelism() */
  workers?: number;
  /** Backend of every worker. @default 'wasm' */
  backend?: BackendName;
  /** Below this many rows a batch goes to one worker (splitting tiny batches costs more than it saves). @default 16 */
  minRowsToSplit?: number;
  engine?: StepEngineOptions;
}

interface Pending {
  resolve: (results: StepResult[]) => void;
  reject: (error: Error) => void;
}

/**
 * The worker's entry: the compiled `.js` file as it is; under tsx (tests, `node --import tsx`) a tiny
 * module that registers tsx in the worker first, since loader hooks do not follow into worker threads.
 */
function workerEntry(url: URL): URL {
  if (!url.pathname.endsWith('.ts')) return url;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(url.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/** A worker thread running one engine. */
class EngineThread {
  readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  readonly ready: Promise<void>;

  constructor(
    url: URL,
    weights: RnnWeights,
    config: RnnConfig,
    backend: BackendName,
    options: StepEngineOptions,
  ) {
    this.worker = new Worker(workerEntry(url));
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (message: { ready?: boolean; error?: string }) => {
        if (message.ready === undefined) return;
        this.worker.off('message', onMessage);
        if (message.ready) resolve();
        else reject(new Error(`engine worker failed to start: ${message.error}`));
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', reject);
    });
    this.worker.on(
      'message',
      (message: { id?: number; results?: StepResult[]; error?: string; kind?: string }) => {
        if (message.id === undefined) return;
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        if (message.error !== undefined) {
          const error =
            message.kind === 'RangeError'
              ? new RangeError(message.error)
              : message.kind === 'TypeError'
                ? new TypeError(message.error)
                : new Error(message.error);
          pending.reject(error);
        } else {
          pending.resolve(message.results!);
        }
      },
    );
    this.worker.on('error', (error) => {
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
    this.worker.postMessage({ init: { weights, config, backend, options } });
    // An idle engine must not keep the process alive: ref'd only while a start or a step is pending.
    void this.ready.then(
      () => this.idle(),
      () => {},
    );
  }

  private idle(): void {
    if (this.pending.size === 0) this.worker.unref();
  }

  step(rows: StepRow[], stepOptions?: StepOptions): Promise<StepResult[]> {
    const id = this.nextId++;
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, rows, stepOptions });
    });
  }
}

/**
 * Starts `workers` engine threads with the same weights and returns one {@link StepEngine} over them.
 * @example const engine = await createParallelEngine(pkg.weights, pkg.config, { workers: 2 });
 */
export async function createParallelEngine(
  weights: RnnWeights,
  config: RnnConfig,
  options: ParallelEngineOptions = {},
): Promise<StepEngine> {
  const count = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  const minRowsToSplit = options.minRowsToSplit ?? 16;
  const here = fileURLToPath(import.meta.url);
  const url = new URL(`./engineWorker${extname(here)}`, import.meta.url);
  const threads = Array.from(
    { length: count },
    () => new EngineThread(url, weights, config, options.backend ?? 'wasm', options.engine ?? {}),
  );
  try {
    await Promise.all(threads.map((t) => t.ready));
  } catch (error) {
    await Promise.all(threads.map((t) => t.worker.terminate()));
    throw error;
  }
  let roundRobin = 0;
  return {
    config,
    async step(rows: StepRow[], stepOptions?: StepOptions): Promise<StepResult[]> {
      if (rows.length < minRowsToSplit || count === 1) {
        const thread = threads[roundRobin++ % count];
        return thread.step(rows, stepOptions);
      }
      // Longest rows first, each to the least-loaded worker (greedy balancing by steps).
      const length = (row: StepRow) =>
        row.tokens?.length ?? (row.inputs ? row.inputs.length / config.inputSize : 0);
      const order = rows.map((_, i) => i).sort((a, b) => length(rows[b]) - length(rows[a]));
      const shares: number[][] = threads.map(() => []);
      const load = threads.map(() => 0);
      for (const i of order) {
        let best = 0;
        for (let w = 1; w < count; w++) if (load[w] < load[best]) best = w;
        shares[best].push(i);
        load[best] += length(rows[i]) + 1;
      }
      const parts = await Promise.all(
        shares.map((share, w) =>
          share.length === 0
            ? Promise.resolve([])
            : threads[w].step(
                share.map((i) => rows[i]),
                stepOptions,
              ),
        ),
      );
      const results = new Array<StepResult>(rows.length);
      for (const [w, share] of shares.entries()) {
        for (const [k, i] of share.entries()) results[i] = parts[w][k];
      }
      return results;
    },
    dispose() {
      for (const t of threads) void t.worker.terminate();
    },
  };
}
