/**
 * What one test file of the worker needs: the services, a Redis client, a tiny model package (loaded
 * in-process too when asked), and unique names, workers, watchers and scenes that are cleaned up after
 * the file's tests.
 */
import { rm } from 'node:fs/promises';
import { after, before } from 'node:test';
import type { Redis } from 'ioredis';
import type { LoadedState } from '../../core/contracts.js';
import { rootLogger } from '../../pipeline/logger.js';
import { type LoadedStreamingModel, loadPipelineModel } from '../../pipeline/model.js';
import type { StateSchema } from '../../pipeline/state/record.js';
import { makeTinyModel, type TinyModelOptions } from '../fixtures/tinyModel.js';
import { type ConsumedMessage, createTopic, deleteTopics } from './kafka.js';
import { uniqueName } from './names.js';
import { OutputWatcher, type WatchOptions } from './outputs.js';
import { deleteKeys, redisClient } from './redis.js';
import { Scene } from './scene.js';
import { getServices, type Services } from './services.js';
import { readStates, stateSchemaOf } from './states.js';
import { inputUri, killWorkers, stateUri, topicUri, type WorkerOptions, WorkerProcess } from './worker.js';

/** Options of {@link useFixture}. */
export interface FixtureOptions {
  /** The tiny model to make. @default { cell: 'gru', layers: 2, hidden: 8 } */
  model?: TinyModelOptions;
  /** Also load the model in this process (on wasm), for reference passes. @default false */
  loadModel?: boolean;
  /** With `false` the hooks do nothing (for files whose tests are all skipped). @default true */
  enabled?: boolean;
}

/** A worker by topic, group and prefix names (the fixture's brokers, Redis and model unless given). */
export type NamedWorkerOptions = Omit<WorkerOptions, 'in' | 'out' | 'dlq' | 'state' | 'model'> & {
  input: string;
  group: string;
  output: string;
  /** Dead-letter topic; absent = dead letters go to stderr. */
  dlq?: string;
  /** Key prefix (namespace) of the states. */
  prefix: string;
  model?: string;
};

/**
 * Registers the `before`/`after` hooks of a test file and returns its fixture; read the fields inside
 * tests and hooks only (they are set by the `before` hook).
 *
 * @example
 * const fx = useFixture({ model: { cell: 'lstm', seed: 5 }, loadModel: true });
 * it('…', async () => { const scene = await fx.scene('crash').createTopics(4); … });
 */
export function useFixture(options: FixtureOptions = {}): Fixture {
  const fixture = new Fixture();
  if (options.enabled === false) return fixture;
  before(() => fixture.open(options));
  after(() => fixture.cleanup());
  return fixture;
}

/** See {@link useFixture}. */
export class Fixture {
  services!: Services;
  redis!: Redis;
  /** The tiny model package folder. */
  model!: string;
  schema!: StateSchema;
  /** The model loaded in this process (with `loadModel` only). */
  loaded!: LoadedStreamingModel;
  readonly #topics: string[] = [];
  readonly #prefixes: string[] = [];
  readonly #watchers: OutputWatcher[] = [];
  readonly #scenes: Scene[] = [];

  /** Gets the services, connects to Redis and writes (and maybe loads) the tiny model package. */
  async open(options: FixtureOptions): Promise<void> {
    this.services = await getServices();
    this.redis = await redisClient(this.services.redisUrl);
    this.model = await makeTinyModel(options.model ?? { cell: 'gru', layers: 2, hidden: 8 });
    this.schema = await stateSchemaOf(this.model);
    if (options.loadModel) {
      this.loaded = await loadPipelineModel({ dir: this.model, backend: 'wasm', log: rootLogger() });
    }
  }

  get brokers(): string[] {
    return this.services.kafkaBrokers;
  }

  /** Creates a topic with a unique name (deleted by cleanup). */
  async topic(name: string, partitions: number): Promise<string> {
    const topic = this.topicName(name);
    await createTopic(this.brokers, topic, partitions);
    return topic;
  }

  /** A unique name for a topic the code under test creates itself (deleted by cleanup). */
  topicName(name: string): string {
    const topic = uniqueName(name);
    this.#topics.push(topic);
    return topic;
  }

  /** A unique Redis key prefix (its keys deleted by cleanup). */
  prefix(name: string): string {
    const prefix = `${uniqueName(name)}:`;
    this.#prefixes.push(prefix);
    return prefix;
  }

  /**
   * The names of one run: `NAME-in` and `NAME-out` topics with `partitions` each (created), a state
   * prefix and a consumer group (all cleaned up).
   */
  async names(
    name: string,
    partitions: number,
  ): Promise<{ input: string; output: string; prefix: string; group: string }> {
    const input = await this.topic(`${name}-in`, partitions);
    const output = await this.topic(`${name}-out`, partitions);
    return { input, output, prefix: this.prefix(`${name}-state`), group: this.group(name) };
  }

  /** A unique consumer group id. */
  group(name: string): string {
    return uniqueName(name);
  }

  /** Starts a worker over the fixture's services and model (killed by cleanup). */
  worker(options: NamedWorkerOptions): WorkerProcess {
    const { input, group, output, dlq, prefix, model, ...rest } = options;
    return WorkerProcess.start({
      in: inputUri(this.brokers, input, group),
      out: topicUri(this.brokers, output),
      ...(dlq === undefined ? {} : { dlq: topicUri(this.brokers, dlq) }),
      state: stateUri(this.services.redisUrl, prefix),
      model: model ?? this.model,
      ...rest,
    });
  }

  /** Watches a topic (stopped by cleanup). */
  async watch(topic: string, options: WatchOptions = {}): Promise<OutputWatcher> {
    const watcher = await OutputWatcher.start(this.brokers, topic, options);
    this.#watchers.push(watcher);
    return watcher;
  }

  /**
   * One worker, one pass over `input` (another group, output and namespace), stopped once every one of
   * `inputs` has an output: the reference a run's states are compared with. Resolves to its state prefix.
   */
  async referenceRun(name: string, input: string, inputs: readonly ConsumedMessage[]): Promise<string> {
    const output = await this.topic(`${name}-out`, 4);
    const prefix = this.prefix(name);
    const watcher = await this.watch(output);
    const reference = this.worker({ input, group: this.group(name), output, prefix, name: 'reference' });
    await watcher.waitForInputs(inputs, 90_000);
    await reference.stop();
    return prefix;
  }

  /** The decoded stored state of each key under `prefix` (on the fixture's Redis and model). */
  states(prefix: string, keys: readonly string[]): Promise<Map<string, LoadedState>> {
    return readStates(this.redis, prefix, keys, this.schema);
  }

  /**
   * Names a scene on the fixture's services and model (disposed by cleanup); `brokers` and `redisUrl`
   * put it on others (a broker or Redis of the test's own).
   */
  scene(name: string, where: { brokers?: string[]; redisUrl?: string } = {}): Scene {
    const scene = new Scene(
      where.brokers ?? this.brokers,
      where.redisUrl ?? this.services.redisUrl,
      name,
      this.model,
    );
    this.#scenes.push(scene);
    return scene;
  }

  /** Kills workers, closes watchers, drops scenes, topics and keys, frees the model, closes clients. */
  async cleanup(): Promise<void> {
    await killWorkers();
    for (const scene of this.#scenes) await scene.dispose();
    await Promise.all(this.#watchers.map((w) => w.stop()));
    if (this.services) await deleteTopics(this.brokers, this.#topics).catch(() => undefined);
    for (const prefix of this.#prefixes) await deleteKeys(this.redis, prefix).catch(() => undefined);
    await this.redis?.quit().catch(() => undefined);
    this.loaded?.model.engine.dispose();
    if (this.model) await rm(this.model, { recursive: true, force: true });
    await this.services?.stop();
  }
}
