/** Kafka connectors: URI parsing, client, source, sinks and the in-flight budget. */
export { Budget, type BudgetOptions, DEFAULT_BUDGET_OPTIONS } from './budget.js';
export {
  createKafkaClient,
  DEFAULT_KAFKA_CLIENT_OPTIONS,
  isRetriableKafkaError,
  type KafkaClientOptions,
  type KafkaLogger,
  type KafkaLogLevel,
  kafkaLogCreator,
  SILENT_KAFKA_LOGGER,
  toKafkaError,
} from './client.js';
export {
  DEAD_LETTER_HEADERS,
  encodeDeadLetter,
  KafkaDeadLetterSink,
  type KafkaDeadLetterSinkOptions,
} from './deadLetterSink.js';
export { nextOffsets, PartitionTracker, partitionKey } from './offsetTracker.js';
export {
  type InputPartition,
  isFencedError,
  PartitionProducers,
  type PartitionProducersOptions,
  partitionTransactionalId,
} from './partitionProducers.js';
export {
  DEFAULT_KAFKA_EXACTLY_ONCE,
  defaultTransactionalIdPrefix,
  type KafkaExactlyOnceOptions,
  KafkaSink,
  type KafkaSinkOptions,
} from './sink.js';
export {
  DEFAULT_KAFKA_SOURCE_OPTIONS,
  KafkaSource,
  type KafkaSourceOptions,
  type PartitionLag,
  type TopicPartition,
  toSourceRecord,
} from './source.js';
export {
  connectionSecrets,
  describeConnection,
  KAFKA_ENV,
  type KafkaConnection,
  type KafkaSasl,
  type KafkaSaslMechanism,
  type KafkaUri,
  kafkaSecurityFromEnv,
  parseKafkaUri,
  redact,
  redactUri,
} from './uri.js';
