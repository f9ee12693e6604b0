/**
 * A worker stopped (or killed) while its input is still arriving, and a successor in the same group that
 * finishes the input: the set-up of the restart tests.
 */
import type { TestContext } from 'node:test';
import { feedWhile, jsonMessages, keyedInputs } from './feeds.js';
import type { Fixture } from './fixture.js';
import { type ConsumedMessage, consumeAll, produce } from './kafka.js';
import type { OutputWatcher } from './outputs.js';
import type { WorkerProcess, WorkerStats } from './worker.js';

/** Options of {@link restartMidStream}. */
export interface RestartOptions<T> {
  /** Names of the run's topics, prefix and group. */
  name: string;
  /** Seed of the keyed inputs (30 keys × 10 messages). */
  seed: number;
  /** Inputs kept back for the second worker. */
  reserve: number;
  /** @default false */
  exactlyOnce?: boolean;
  /** Stops the first worker mid-stream (SIGTERM, SIGKILL, …); its value is returned as `stopped`. */
  stop: (first: WorkerProcess) => Promise<T>;
  /** How long the second worker may take to give every input an output. @default 90000 */
  timeoutMs?: number;
}

/** What {@link restartMidStream} leaves for the test to check. */
export interface RestartRun<T> {
  input: string;
  output: string;
  prefix: string;
  /** Every input, as the broker stored it. */
  inputs: ConsumedMessage[];
  /** The outputs of both workers (read `read_committed` with `exactlyOnce`). */
  watcher: OutputWatcher;
  stopped: T;
  /** The "done" stats of the second worker (stopped with SIGTERM). */
  second: WorkerStats;
}

/** Keys and messages per key of the inputs: 300 in all. */
export const RESTART_INPUTS = { keys: 30, perKey: 10 };

/**
 * Half the inputs before the first worker; then small requests for as long as it runs, so that the stop
 * lands while input is arriving; the rest (at least `reserve`) after it stopped, for a second worker in
 * the same group, which runs until every input has an output and is then stopped with SIGTERM.
 */
export async function restartMidStream<T>(
  ctx: Fixture,
  t: TestContext,
  options: RestartOptions<T>,
): Promise<RestartRun<T>> {
  const n = RESTART_INPUTS.keys * RESTART_INPUTS.perKey;
  const { input, output, prefix, group } = await ctx.names(options.name, 4);
  const messages = jsonMessages(keyedInputs({ ...RESTART_INPUTS, seed: options.seed }));
  const rest = messages.slice(n / 2);
  await produce(ctx.brokers, input, messages.slice(0, n / 2));
  const isolation = options.exactlyOnce ? 'read_committed' : 'read_uncommitted';
  const watcher = await ctx.watch(output, { isolation });
  const run = { input, group, output, prefix, exactlyOnce: options.exactlyOnce };

  const first = ctx.worker({ ...run, name: 'first' });
  await watcher.waitForCount(n / 2, 90_000);
  const feeding = feedWhile(ctx.brokers, input, rest, () => first.alive, {
    chunk: 2,
    reserve: options.reserve,
  });
  feeding.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  await watcher.waitForCount(n / 2 + 1, 60_000);
  const stopped = await options.stop(first);
  const fed = await feeding;
  t.diagnostic(`${fed} messages fed while the first worker ran`);
  await produce(ctx.brokers, input, rest.slice(fed));

  const second = ctx.worker({ ...run, name: 'second' });
  const inputs = await consumeAll(ctx.brokers, input, { count: n });
  await watcher.waitForInputs(inputs, options.timeoutMs ?? 90_000);
  return { input, output, prefix, inputs, watcher, stopped, second: await second.stop() };
}
