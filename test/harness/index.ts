/**
 * The integration-test harness: where Kafka and Redis are, unique names, and helpers that always clean up.
 */

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
} from './kafka.js';
export { uniqueName } from './names.js';
export { DEFAULT_REDIS_CLIENT_OPTIONS, deleteKeys, type RedisClientOptions, redisClient } from './redis.js';
export {
  DEFAULT_GET_SERVICES_OPTIONS,
  type GetServicesOptions,
  getServices,
  type Services,
} from './services.js';
export { withTimeout } from './timeout.js';
