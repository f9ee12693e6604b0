/**
 * The integration-test harness: where Kafka and Redis are, unique names, helpers that always clean up,
 * and the worker-process fixture (workers, output watchers, offsets, metrics, states, scenes).
 */

export {
  type CrashScenarioOptions,
  type CrashScenarioResult,
  crashScenario,
  DEFAULT_CRASH_SCENARIO,
} from './crashScenario.js';
export * from './feeds.js';
export { Fixture, type FixtureOptions, type NamedWorkerOptions, useFixture } from './fixture.js';
export {
  type ConsumeAllOptions,
  type ConsumedMessage,
  consumeAll,
  createTopic,
  DEFAULT_CONSUME_ALL_OPTIONS,
  DEFAULT_KAFKA_HELPER_OPTIONS,
  deleteTopics,
  type KafkaHelperOptions,
  type ProduceMessage,
  produce,
  testKafka,
  toConsumedMessage,
  withAdmin,
} from './kafka.js';
export { LoadProducer } from './load.js';
export { scrapeMetric } from './metrics.js';
export { uniqueName } from './names.js';
export { committedOffsets, topicEnds } from './offsets.js';
export * from './outputs.js';
export { PrivateRedis } from './privateRedis.js';
export { DEFAULT_REDIS_CLIENT_OPTIONS, deleteKeys, type RedisClientOptions, redisClient } from './redis.js';
export {
  RESTART_INPUTS,
  type RestartOptions,
  type RestartRun,
  restartMidStream,
} from './restartMidStream.js';
export { Scene, type SceneWorkerOptions } from './scene.js';
export {
  DEFAULT_GET_SERVICES_OPTIONS,
  type GetServicesOptions,
  getServices,
  type Services,
} from './services.js';
export * from './states.js';
export { delay, waitFor, withTimeout } from './timeout.js';
export * from './worker.js';
