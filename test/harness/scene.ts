/**
 * One run's names on Kafka and Redis, the workers, watcher and load started on them, and their cleanup.
 */
import type { LoadedStreamingModel } from '../../pipeline/model.js';
import type { FeedMessage } from './feeds.js';
import { toSourceRecords } from './feeds.js';
import { type ConsumedMessage, consumeAll, createTopic, deleteTopics } from './kafka.js';
import { LoadProducer } from './load.js';
import { uniqueName } from './names.js';
import { lostInputs, OutputWatcher, positionsOf, type WatchOptions } from './outputs.js';
import { deleteKeys, redisClient } from './redis.js';
import { compareStates, referencePass, type StateComparison } from './states.js';
import { stateUri, topicUri, type WorkerOptions, WorkerProcess } from './worker.js';

/** What {@link Scene.compareWithReference} found. */
export interface ReferenceComparison {
  input: ConsumedMessage[];
  /** `partition:offset` of every input. */
  positions: string[];
  keys: string[];
  states: StateComparison;
  /** Inputs without any output. */
  lost: number;
  counts: {
    inputs: number;
    keys: number;
    outputs: number;
    lost: number;
    duplicates: number;
    replayedOutputs: number;
  };
}

/** Options of {@link Scene.startWorker}: the scene's URIs and model unless given. */
export type SceneWorkerOptions = Omit<WorkerOptions, 'in' | 'out' | 'state' | 'model'> &
  Partial<Pick<WorkerOptions, 'state' | 'model'>>;

/**
 * A Kafka + Redis scene for one run: its own input, output and DLQ topics, group, state prefix and
 * reference prefix (unique names, created only when asked), and whatever was started on them. The input
 * URI has a 6 s session timeout, so a killed member's partitions move on quickly.
 *
 * @example
 * const scene = await new Scene(brokers, redisUrl, 'shutdown', model).createTopics(4);
 * const worker = scene.startWorker({ name: 'first' });
 * const watcher = await scene.watch({ keep: false });
 * …
 * await scene.dispose();
 */
export class Scene {
  /** `host:port` of the first broker. */
  readonly broker: string;
  readonly input: string;
  readonly output: string;
  readonly dlq: string;
  readonly group: string;
  /** Prefix of the run's states. */
  readonly prefix: string;
  /** Prefix of the uninterrupted reference pass. */
  readonly referencePrefix: string;
  /** `kafka://…` URIs and `redis://…` state URIs of this scene. */
  readonly uris: { in: string; out: string; dlq: string; state: string; reference: string };
  /** Every worker started on the scene, in order. */
  readonly workers: WorkerProcess[] = [];
  readonly #watchers: OutputWatcher[] = [];
  readonly #loads: LoadProducer[] = [];

  /** Names a fresh scene (creates nothing). `redisUrl` may differ from the shared one (a private Redis). */
  constructor(
    readonly brokers: string[],
    readonly redisUrl: string,
    name: string,
    /** The model package folder workers run by default. */
    readonly model = '',
  ) {
    this.broker = brokers[0];
    this.input = uniqueName(`${name}-in`);
    this.output = uniqueName(`${name}-out`);
    this.dlq = uniqueName(`${name}-dlq`);
    this.group = uniqueName(`${name}-group`);
    this.prefix = `${uniqueName(name)}:`;
    this.referencePrefix = `${uniqueName(`${name}-ref`)}:`;
    this.uris = {
      in: `${topicUri([this.broker], this.input)}?group=${this.group}&fromBeginning=true&sessionTimeout=6000`,
      out: topicUri([this.broker], this.output),
      dlq: topicUri([this.broker], this.dlq),
      state: stateUri(redisUrl, this.prefix),
      reference: stateUri(redisUrl, this.referencePrefix),
    };
  }

  /** Creates the input and output topics with `partitions` each (and the DLQ's with `dlq`). */
  async createTopics(partitions: number, options: { dlq?: boolean } = {}): Promise<this> {
    await createTopic(this.brokers, this.input, partitions);
    await createTopic(this.brokers, this.output, partitions);
    if (options.dlq) await createTopic(this.brokers, this.dlq, partitions);
    return this;
  }

  /** Starts a worker on the scene's input, output and state (and model), stopped by {@link dispose}. */
  startWorker(options: SceneWorkerOptions = {}): WorkerProcess {
    const worker = WorkerProcess.start({
      in: this.uris.in,
      out: this.uris.out,
      state: this.uris.state,
      model: this.model,
      ...options,
    });
    this.workers.push(worker);
    return worker;
  }

  /** Watches the output topic (stopped by {@link dispose}). */
  async watch(options: WatchOptions = {}): Promise<OutputWatcher> {
    const watcher = await OutputWatcher.start(this.brokers, this.output, options);
    this.#watchers.push(watcher);
    return watcher;
  }

  /** Produces `feed` to the input topic at `perSecond` in the background (stopped by {@link dispose}). */
  async startLoad(feed: readonly FeedMessage[], perSecond: number, batch?: number): Promise<LoadProducer> {
    const load = await LoadProducer.start(this.brokers, this.input, feed, perSecond, batch);
    this.#loads.push(load);
    return load;
  }

  /**
   * Reads the `count` inputs back, runs the uninterrupted reference pass over them, and compares every
   * key's final state with it; `lost` counts the inputs `watcher` saw no output of, and `counts` gathers
   * the figures every fault test reports.
   */
  async compareWithReference(
    loaded: LoadedStreamingModel,
    watcher: OutputWatcher,
    count: number,
  ): Promise<ReferenceComparison> {
    const input = await consumeAll(this.brokers, this.input, { count, timeoutMs: 60_000 });
    await referencePass(loaded, toSourceRecords(input), this.uris.reference);
    const keys = [...new Set(input.map((m) => m.key ?? ''))];
    const states = await compareStates(loaded, this.uris.state, this.uris.reference, keys);
    const positions = positionsOf(input);
    const lost = lostInputs(watcher, positions).length;
    const counts = {
      inputs: positions.length,
      keys: keys.length,
      outputs: watcher.total,
      lost,
      duplicates: watcher.duplicates,
      replayedOutputs: watcher.replayed,
    };
    return { input, positions, keys, states, lost, counts };
  }

  /** Stops the load, the workers and the watchers, and drops the scene's topics and prefixes. */
  async dispose(): Promise<void> {
    await Promise.all(this.#loads.map((load) => load.stop().catch(() => undefined)));
    await Promise.all(this.workers.map((worker) => worker.dispose()));
    await Promise.all(this.#watchers.map((watcher) => watcher.stop()));
    await deleteTopics(this.brokers, [this.input, this.output, this.dlq]).catch(() => undefined);
    const redis = await redisClient(this.redisUrl).catch(() => undefined);
    if (!redis) return;
    await deleteKeys(redis, this.prefix).catch(() => undefined);
    await deleteKeys(redis, this.referencePrefix).catch(() => undefined);
    await redis.quit().catch(() => undefined);
  }
}
