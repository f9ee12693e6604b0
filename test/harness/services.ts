/**
 * Where integration tests find Kafka and Redis: the `KAFKA_BROKERS` / `REDIS_URL` environment (set by
 * `make services` users and CI), else containers where a Docker engine answers, else a clear error.
 */
import { connect } from 'node:net';
import { ConfigError } from '../../core/errors.js';
import { withTimeout } from './timeout.js';

/** Running Kafka and Redis for one test file. */
export interface Services {
  /** `host:port` of the Kafka bootstrap brokers. */
  kafkaBrokers: string[];
  /** `redis://host:port` of a single-node Redis. */
  redisUrl: string;
  /** Where each service came from. */
  source: { kafka: 'env' | 'container'; redis: 'env' | 'container' };
  /** Releases this user's hold; containers stop when the last user of this process stops. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link getServices}. */
export interface GetServicesOptions {
  /**
   * The environment to read `KAFKA_BROKERS` and `REDIS_URL` from.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Tells whether a Docker engine answers.
   * @default a check with testcontainers' `getContainerRuntimeClient`
   */
  isDockerAvailable?: () => Promise<boolean>;
  /**
   * Kafka image for containers (`@testcontainers/kafka` runs Confluent's images; 7.9 is Kafka 3.9).
   * @default process.env.RNNSTREAM_TEST_KAFKA_IMAGE ?? 'confluentinc/cp-kafka:7.9.0'
   */
  kafkaImage?: string;
  /**
   * Redis image for containers.
   * @default process.env.RNNSTREAM_TEST_REDIS_IMAGE ?? 'redis:7'
   */
  redisImage?: string;
  /**
   * Deadline for a TCP connection to a service given in the environment, in ms.
   * @default 3000
   */
  probeTimeoutMs?: number;
}

/** Defaults of {@link GetServicesOptions} (`env` and `isDockerAvailable` are resolved at call time). */
export const DEFAULT_GET_SERVICES_OPTIONS = {
  kafkaImage: 'confluentinc/cp-kafka:7.9.0',
  redisImage: 'redis:7',
  probeTimeoutMs: 3_000,
} as const;

const HOW_TO_START =
  'run `make services` (deploy/services.sh up) and `export KAFKA_BROKERS=127.0.0.1:9092 REDIS_URL=redis://127.0.0.1:6379`';

/** A started container, reduced to what we need of it. */
interface Stoppable {
  stop(): Promise<unknown>;
}

/** The services of this process, shared by every `getServices()` caller until the last one stops. */
interface Shared {
  kafkaBrokers: string[];
  redisUrl: string;
  source: Services['source'];
  containers: Stoppable[];
}

let shared: Promise<Shared> | undefined;
let users = 0;

/**
 * Kafka and Redis for an integration test. Takes `KAFKA_BROKERS` (comma-separated `host:port`) and
 * `REDIS_URL` when set, after checking that something listens there; starts `@testcontainers/kafka` /
 * `@testcontainers/redis` for the missing ones where a Docker engine answers; otherwise rejects with a
 * {@link ConfigError} saying how to start them. Calls in one process share the same services.
 *
 * @example
 * let services: Services;
 * before(async () => { services = await getServices(); });
 * after(() => services?.stop());
 */
export async function getServices(options: GetServicesOptions = {}): Promise<Services> {
  users += 1;
  shared ??= startServices(options);
  let started: Shared;
  try {
    started = await shared;
  } catch (error) {
    users -= 1;
    shared = undefined;
    throw error;
  }
  let stopped = false;
  return {
    kafkaBrokers: [...started.kafkaBrokers],
    redisUrl: started.redisUrl,
    source: { ...started.source },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      users -= 1;
      if (users > 0) return;
      shared = undefined;
      await Promise.allSettled(started.containers.map((container) => container.stop()));
    },
  };
}

async function startServices(options: GetServicesOptions): Promise<Shared> {
  const env = options.env ?? process.env;
  const kafkaImage =
    options.kafkaImage ?? env.RNNSTREAM_TEST_KAFKA_IMAGE ?? DEFAULT_GET_SERVICES_OPTIONS.kafkaImage;
  const redisImage =
    options.redisImage ?? env.RNNSTREAM_TEST_REDIS_IMAGE ?? DEFAULT_GET_SERVICES_OPTIONS.redisImage;
  const probeTimeoutMs = options.probeTimeoutMs ?? DEFAULT_GET_SERVICES_OPTIONS.probeTimeoutMs;
  const isDockerAvailable = options.isDockerAvailable ?? dockerAnswers;

  const kafkaBrokers = parseBrokers(env.KAFKA_BROKERS);
  const redisUrl = parseRedisUrl(env.REDIS_URL);
  if (kafkaBrokers) await probe(kafkaBrokers[0], 'Kafka', 'KAFKA_BROKERS', probeTimeoutMs);
  if (redisUrl) {
    const { hostname, port } = new URL(redisUrl);
    await probe(`${hostname}:${port || '6379'}`, 'Redis', 'REDIS_URL', probeTimeoutMs);
  }
  if (kafkaBrokers && redisUrl) {
    return { kafkaBrokers, redisUrl, source: { kafka: 'env', redis: 'env' }, containers: [] };
  }

  const missing = [kafkaBrokers ? undefined : 'KAFKA_BROKERS', redisUrl ? undefined : 'REDIS_URL'].filter(
    Boolean,
  );
  if (!(await isDockerAvailable())) {
    throw new ConfigError(
      `integration tests need Kafka and Redis: ${missing.join(' and ')} not set and no Docker engine answers; ${HOW_TO_START}`,
    );
  }

  const [kafka, redis] = await Promise.allSettled([
    kafkaBrokers ? Promise.resolve(undefined) : startKafkaContainer(kafkaImage),
    redisUrl ? Promise.resolve(undefined) : startRedisContainer(redisImage),
  ]);
  const containers = [kafka, redis].flatMap((result) =>
    result.status === 'fulfilled' && result.value ? [result.value.container] : [],
  );
  const failure = [kafka, redis].find((result) => result.status === 'rejected');
  if (failure) {
    // Do not leave the one that started running.
    await Promise.allSettled(containers.map((container) => container.stop()));
    throw new ConfigError(`starting test containers failed; alternatively ${HOW_TO_START}`, {
      cause: failure.reason,
    });
  }
  const kafkaValue = kafka.status === 'fulfilled' ? kafka.value : undefined;
  const redisValue = redis.status === 'fulfilled' ? redis.value : undefined;
  return {
    kafkaBrokers: kafkaBrokers ?? [kafkaValue?.address ?? ''],
    redisUrl: redisUrl ?? redisValue?.address ?? '',
    source: { kafka: kafkaBrokers ? 'env' : 'container', redis: redisUrl ? 'env' : 'container' },
    containers,
  };
}

function parseBrokers(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const brokers = value
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d+$/.test(broker)) {
      throw new ConfigError(`KAFKA_BROKERS must be comma-separated host:port, got '${broker}' in '${value}'`);
    }
  }
  return brokers;
}

function parseRedisUrl(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const url = value.trim();
  if (!/^rediss?:\/\//.test(url) || !URL.canParse(url)) {
    throw new ConfigError(`REDIS_URL must look like redis://host:port, got '${value}'`);
  }
  return url;
}

/** Rejects with a ConfigError naming the variable when nothing accepts a TCP connection at `address`. */
async function probe(address: string, service: string, variable: string, timeoutMs: number): Promise<void> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(separator + 1));
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const fail = (reason: string) => {
      socket.destroy();
      reject(
        new ConfigError(
          `${variable} points at ${address}, but ${service} does not answer there (${reason}); ${HOW_TO_START}`,
        ),
      );
    };
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => fail(`no connection within ${timeoutMs} ms`));
    socket.once('error', (error) => fail(error.message));
  });
}

/** True when testcontainers finds a container runtime (DOCKER_HOST, the Docker socket, rootless Docker…). */
async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), 15_000, 'looking for a Docker engine');
    return true;
  } catch {
    return false;
  }
}

async function startKafkaContainer(image: string): Promise<{ address: string; container: Stoppable }> {
  // Imported only here: testcontainers is heavy and most runs take services from the environment.
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const container = await new KafkaContainer(image)
    .withKraft()
    .withEnvironment({
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_NUM_PARTITIONS: '4',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
    })
    .start();
  // 9093 is the container's listener for clients outside Docker (@testcontainers/kafka's KAFKA_PORT).
  return { address: `${container.getHost()}:${container.getMappedPort(9093)}`, container };
}

async function startRedisContainer(image: string): Promise<{ address: string; container: Stoppable }> {
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer(image).start();
  return { address: container.getConnectionUrl(), container };
}
