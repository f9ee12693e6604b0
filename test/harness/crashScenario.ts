/**
 * The crash scenario of the fault tests: a worker SIGKILLed again and again over a pre-produced feed,
 * compared at the end with an uninterrupted reference pass.
 */
import { seededRandom } from '../../model/verify.js';
import { makeFeed, produceMany } from './feeds.js';
import type { Fixture } from './fixture.js';
import type { StateComparison } from './states.js';
import { delay, waitFor, withTimeout } from './timeout.js';
import type { WorkerExit, WorkerProcess } from './worker.js';

/** Options of {@link crashScenario}. */
export interface CrashScenarioOptions {
  exactlyOnce: boolean;
  seed: number;
  /** @default 20000 */
  messages?: number;
  /** @default 1000 */
  keys?: number;
  /** SIGKILLs before the last, uninterrupted run. @default 5 */
  kills?: number;
  /**
   * Each kill happens after this many new inputs got an output since the (re)start: seeded in the range.
   * @default [200, 1000]
   */
  killAfter?: [number, number];
  /** Progress messages (test diagnostics). */
  note?: (text: string) => void;
}

/** Defaults of {@link CrashScenarioOptions}: 20 000 inputs over 1 000 keys, 5 kills. */
export const DEFAULT_CRASH_SCENARIO = {
  messages: 20_000,
  keys: 1_000,
  kills: 5,
  killAfter: [200, 1_000] as [number, number],
};

/** What a crash scenario measured. */
export interface CrashScenarioResult {
  inputs: number;
  keys: number;
  kills: number;
  /** Distinct inputs with an output at each kill. */
  killedAt: number[];
  outputs: number;
  lost: number;
  duplicates: number;
  /** Outputs marked `replayed` (recomputed from the stored state). */
  replayedOutputs: number;
  /** Exit of the last worker after SIGTERM. */
  finalExit: WorkerExit;
  states: StateComparison;
  seconds: number;
  /** Wall time of each restart until its first new output (the dead member's session expiring, mostly). */
  resumeSeconds: number[];
}

function withDefaults(asked: CrashScenarioOptions) {
  const { messages, keys, kills, killAfter } = DEFAULT_CRASH_SCENARIO;
  return {
    messages: asked.messages ?? messages,
    keys: asked.keys ?? keys,
    kills: asked.kills ?? kills,
    killAfter: asked.killAfter ?? killAfter,
  };
}

/**
 * Pre-produces a seeded feed, SIGKILLs the worker `kills` times at seeded output counts (restarting it
 * each time with the same worker id), lets a last worker finish, and compares outputs and final states
 * with an uninterrupted reference pass over the fixture's model (loaded with `loadModel`).
 */
export async function crashScenario(fx: Fixture, asked: CrashScenarioOptions): Promise<CrashScenarioResult> {
  const started = Date.now();
  const options = { ...asked, ...withDefaults(asked) };
  const note = options.note ?? (() => undefined);
  const scene = await fx.scene(options.exactlyOnce ? 'crash-eos' : 'crash').createTopics(4);
  const random = seededRandom(options.seed);
  const feed = makeFeed({ messages: options.messages, keys: options.keys, seed: options.seed });
  await produceMany(scene.brokers, scene.input, feed);
  const inputs = feed.length;
  note(`produced ${feed.length} inputs over ${options.keys} keys`);

  const w = await scene.watch({
    isolation: options.exactlyOnce ? 'read_committed' : 'read_uncommitted',
    keep: false,
  });
  const killedAt: number[] = [];
  const resumeSeconds: number[] = [];
  let last: WorkerProcess | undefined;
  for (let k = 0; k <= options.kills; k++) {
    const worker = scene.startWorker({
      exactlyOnce: options.exactlyOnce,
      // Small batches and a short read-ahead: many commit points, so a kill can land between any two.
      args: ['--max-batch-rows', '200', '--max-in-flight', '1000'],
      name: `worker ${k}`,
    });
    last = worker;
    const restartedAt = Date.now();
    await worker.running();
    const base = w.distinct;
    if (k > 0 && base < inputs) {
      await worker.whileAlive(
        waitFor(
          () => w.distinct > base,
          120_000,
          () => `${worker.name} made no progress\n${worker.tail()}`,
        ),
      );
      resumeSeconds.push((Date.now() - restartedAt) / 1000);
    }
    if (k === options.kills) {
      await worker.whileAlive(w.waitForDistinct(inputs, 180_000));
      worker.kill('SIGTERM');
      break;
    }
    const [lo, hi] = options.killAfter;
    const after = lo + Math.floor(random() * (hi - lo + 1));
    await worker.whileAlive(
      waitFor(
        () => w.distinct >= base + after,
        120_000,
        () =>
          `${worker.name}: ${w.distinct - base} of ${after} outputs before kill ${k + 1}\n${worker.tail()}`,
        5,
      ),
    );
    worker.kill('SIGKILL');
    killedAt.push(w.distinct);
    const exit = await worker.exited;
    if (exit.signal !== 'SIGKILL')
      throw new Error(`${worker.name} ended by itself: ${JSON.stringify(exit)}\n${worker.tail()}`);
    note(`kill ${k + 1} at ${w.distinct} of ${inputs} inputs`);
  }
  const finalExit = await withTimeout(
    last?.exited ?? Promise.reject(new Error('no worker started')),
    30_000,
    'the last worker draining after SIGTERM',
  );
  // Anything still on its way (a late duplicate) arrives within this.
  await delay(1_500);
  const { states, counts } = await scene.compareWithReference(fx.loaded, w, inputs);
  return {
    ...counts,
    kills: killedAt.length,
    killedAt,
    finalExit,
    states,
    seconds: (Date.now() - started) / 1000,
    resumeSeconds,
  };
}
