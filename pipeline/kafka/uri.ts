/**
 * Kafka endpoints as URIs (`kafka://host:9092/topic?group=g`) and the security settings that come from
 * the environment, never from the URI, so that passwords stay out of command lines and logs.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../../core/errors.js';

/** SASL mechanisms accepted in `RNNSTREAM_KAFKA_SASL_MECHANISM`. */
export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** SASL credentials (kafkajs' `sasl` option). */
export interface KafkaSasl {
  mechanism: KafkaSaslMechanism;
  username: string;
  password: string;
}

/** How to reach the brokers: what a kafkajs client is built from. */
export interface KafkaConnection {
  /** `host:port` seeds. */
  brokers: string[];
  /** @default 'rnnstream' */
  clientId: string;
  /** TLS: `true` for the system CAs, or Node TLS options (a private CA). @default false */
  ssl?: boolean | ConnectionOptions;
  sasl?: KafkaSasl;
}

/** A parsed `kafka://` or `kafkas://` URI. */
export interface KafkaUri {
  connection: KafkaConnection;
  topic: string;
  /** `group=`: the consumer group (sources and exactly-once sinks). */
  group?: string;
  /**
   * `offsetReset=earliest|latest`: where a partition without a committed offset starts (a new group).
   * `fromBeginning=true|false` is its older spelling (earliest|latest). @default 'earliest' (as Kafka Streams)
   */
  offsetReset: 'earliest' | 'latest';
  /** `partitions=N`: partition count used when the topic has to be created. */
  partitions?: number;
  /** `concurrency=N`: partitions consumed concurrently (kafkajs `partitionsConsumedConcurrently`). */
  concurrency?: number;
  /**
   * `transactionalIdPrefix=` (or its older name `transactionalId=`): prefix of the exactly-once
   * producers' per-input-partition transactional ids (`PREFIX.TOPIC.PARTITION`).
   */
  transactionalIdPrefix?: string;
  /** `sessionTimeout=MS`: the consumer group session timeout (how soon a crashed worker's partitions move). */
  sessionTimeout?: number;
}

/** Environment variables read by {@link kafkaSecurityFromEnv}. */
export const KAFKA_ENV = {
  saslMechanism: 'RNNSTREAM_KAFKA_SASL_MECHANISM',
  saslUsername: 'RNNSTREAM_KAFKA_SASL_USERNAME',
  saslPassword: 'RNNSTREAM_KAFKA_SASL_PASSWORD',
  tls: 'RNNSTREAM_KAFKA_TLS',
  tlsCaFile: 'RNNSTREAM_KAFKA_TLS_CA_FILE',
} as const;

const MECHANISMS: readonly KafkaSaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];
const QUERY_KEYS = [
  'group',
  'clientId',
  'offsetReset',
  'fromBeginning',
  'partitions',
  'concurrency',
  'transactionalIdPrefix',
  'transactionalId',
  'sessionTimeout',
];
/** Kafka's own rule for topic names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** A `host:port` seed; hosts may be names, IPv4 or bracketed IPv6. */
const BROKER = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9._-]+):(\d{1,5})$/;

/**
 * TLS and SASL settings from the environment (`RNNSTREAM_KAFKA_*`).
 *
 * @example
 * const { ssl, sasl } = kafkaSecurityFromEnv(process.env);
 */
export function kafkaSecurityFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<KafkaConnection, 'ssl' | 'sasl'> {
  const result: Pick<KafkaConnection, 'ssl' | 'sasl'> = {};
  const tls = env[KAFKA_ENV.tls]?.trim().toLowerCase();
  if (tls !== undefined && tls !== '') {
    if (!['true', 'false', '1', '0'].includes(tls)) {
      throw new ConfigError(`${KAFKA_ENV.tls} must be true or false, got '${env[KAFKA_ENV.tls]}'`);
    }
    if (tls === 'true' || tls === '1') result.ssl = true;
  }
  const caFile = env[KAFKA_ENV.tlsCaFile]?.trim();
  if (caFile) {
    let ca: Buffer;
    try {
      ca = readFileSync(caFile);
    } catch (cause) {
      throw new ConfigError(`${KAFKA_ENV.tlsCaFile}: cannot read '${caFile}'`, { cause });
    }
    result.ssl = { ca: [ca] };
  }
  const mechanism = env[KAFKA_ENV.saslMechanism]?.trim().toLowerCase();
  const username = env[KAFKA_ENV.saslUsername];
  const password = env[KAFKA_ENV.saslPassword];
  if (mechanism) {
    if (!MECHANISMS.includes(mechanism as KafkaSaslMechanism)) {
      throw new ConfigError(
        `${KAFKA_ENV.saslMechanism} must be one of ${MECHANISMS.join(', ')}, got '${env[KAFKA_ENV.saslMechanism]}'`,
      );
    }
    if (!username)
      throw new ConfigError(`${KAFKA_ENV.saslUsername} is required with ${KAFKA_ENV.saslMechanism}`);
    if (password === undefined) {
      throw new ConfigError(`${KAFKA_ENV.saslPassword} is required with ${KAFKA_ENV.saslMechanism}`);
    }
    result.sasl = { mechanism: mechanism as KafkaSaslMechanism, username, password };
  } else if (username || password) {
    throw new ConfigError(`${KAFKA_ENV.saslMechanism} must be set when SASL credentials are given`);
  }
  return result;
}

/**
 * Parses `kafka://HOST:PORT[,HOST:PORT]/TOPIC?group=G&clientId=C&offsetReset=earliest&partitions=N`
 * (`kafkas://` turns TLS on). Security settings come from `env` ({@link kafkaSecurityFromEnv});
 * credentials inside the URI are refused so that they never reach a command line or a log.
 *
 * @throws ConfigError naming what is wrong.
 * @example
 * parseKafkaUri('kafka://127.0.0.1:9092/texts?group=rnnstream&offsetReset=latest');
 */
export function parseKafkaUri(uri: string, env: NodeJS.ProcessEnv = process.env): KafkaUri {
  const match = /^(kafkas?):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/.exec(uri.trim());
  if (!match) {
    throw new ConfigError(`not a Kafka URI: '${redactUri(uri)}' (expected kafka://host:port/topic?group=…)`);
  }
  const [, scheme, authority, path = '', query = ''] = match;
  if (authority.includes('@')) {
    throw new ConfigError(
      `credentials in a Kafka URI are not accepted ('${redactUri(uri)}'): set ${KAFKA_ENV.saslMechanism}, ${KAFKA_ENV.saslUsername} and ${KAFKA_ENV.saslPassword}`,
    );
  }
  const brokers = authority.split(',').map((b) => b.trim());
  if (brokers.length === 0 || brokers.some((b) => b === '')) {
    throw new ConfigError(`Kafka URI '${uri}' names no broker (expected kafka://host:port/…)`);
  }
  for (const broker of brokers) {
    const m = BROKER.exec(broker);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ConfigError(`Kafka URI '${uri}': bad broker '${broker}' (expected host:port)`);
    }
  }
  const topic = decodeURIComponent(path.replace(/^\//, ''));
  if (topic === '')
    throw new ConfigError(`Kafka URI '${uri}' names no topic (expected kafka://host:port/TOPIC)`);
  if (!TOPIC_NAME.test(topic)) {
    throw new ConfigError(
      `Kafka URI '${uri}': bad topic name '${topic}' (letters, digits, '.', '_', '-'; at most 249)`,
    );
  }

  const params = new URLSearchParams(query.replace(/^\?/, ''));
  for (const key of params.keys()) {
    if (!QUERY_KEYS.includes(key)) {
      throw new ConfigError(
        `Kafka URI '${uri}': unknown parameter '${key}' (known: ${QUERY_KEYS.join(', ')})`,
      );
    }
  }
  const text = (key: string): string | undefined => {
    const value = params.get(key);
    if (value === null) return undefined;
    if (value.trim() === '') throw new ConfigError(`Kafka URI '${uri}': parameter '${key}' is empty`);
    return value.trim();
  };
  const positive = (key: string): number | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < 1) {
      throw new ConfigError(`Kafka URI '${uri}': '${key}' must be a positive integer, got '${value}'`);
    }
    return Number(value);
  };
  const offsetReset = parseOffsetReset(uri, text('offsetReset'), text('fromBeginning'));

  const security = kafkaSecurityFromEnv(env);
  const connection: KafkaConnection = {
    brokers,
    clientId: text('clientId') ?? 'rnnstream',
    ...security,
  };
  if (scheme === 'kafkas' && !connection.ssl) connection.ssl = true;

  const result: KafkaUri = { connection, topic, offsetReset };
  const group = text('group');
  if (group !== undefined) result.group = group;
  const partitions = positive('partitions');
  if (partitions !== undefined) result.partitions = partitions;
  const concurrency = positive('concurrency');
  if (concurrency !== undefined) result.concurrency = concurrency;
  const prefix = text('transactionalIdPrefix') ?? text('transactionalId');
  if (prefix !== undefined) result.transactionalIdPrefix = prefix;
  const sessionTimeout = positive('sessionTimeout');
  if (sessionTimeout !== undefined) {
    if (sessionTimeout < 6000) {
      throw new ConfigError(
        `Kafka URI '${uri}': 'sessionTimeout' must be at least 6000 ms (the broker's minimum), got ${sessionTimeout}`,
      );
    }
    result.sessionTimeout = sessionTimeout;
  }
  return result;
}

/**
 * `offsetReset=earliest|latest`, or the older `fromBeginning=true|false`; earliest when neither is given.
 * @throws ConfigError on another value, or when the two disagree.
 */
function parseOffsetReset(
  uri: string,
  offsetReset: string | undefined,
  fromBeginning: string | undefined,
): 'earliest' | 'latest' {
  if (offsetReset !== undefined && offsetReset !== 'earliest' && offsetReset !== 'latest') {
    throw new ConfigError(
      `Kafka URI '${redactUri(uri)}': 'offsetReset' must be earliest or latest, got '${offsetReset}'`,
    );
  }
  if (fromBeginning !== undefined && fromBeginning !== 'true' && fromBeginning !== 'false') {
    throw new ConfigError(
      `Kafka URI '${redactUri(uri)}': 'fromBeginning' must be true or false, got '${fromBeginning}' (or use offsetReset=earliest|latest)`,
    );
  }
  const alias = fromBeginning === undefined ? undefined : fromBeginning === 'true' ? 'earliest' : 'latest';
  if (offsetReset !== undefined && alias !== undefined && offsetReset !== alias) {
    throw new ConfigError(
      `Kafka URI '${redactUri(uri)}': 'fromBeginning=${fromBeginning}' contradicts 'offsetReset=${offsetReset}': keep offsetReset only`,
    );
  }
  return (offsetReset ?? alias ?? 'earliest') as 'earliest' | 'latest';
}

/** Replaces the password of a URI's user-info (`kafka://user:secret@host` → `kafka://user:***@host`). */
export function redactUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@?#:]*):([^/@?#]*)@/i, '$1$2:***@');
}

/**
 * Replaces every occurrence of each secret in `text` with `***`: for messages and log lines that may
 * quote a configuration value.
 *
 * @example
 * redact(`auth failed for ${password}`, [password]); // 'auth failed for ***'
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join('***');
  }
  return out;
}

/** The secrets of a connection: what {@link redact} must hide. */
export function connectionSecrets(connection: KafkaConnection): string[] {
  return connection.sasl?.password ? [connection.sasl.password] : [];
}

/**
 * A log-safe summary of a connection: brokers, client id, TLS on/off and the SASL mechanism and user,
 * never the password or the CA bytes.
 */
export function describeConnection(connection: KafkaConnection): Record<string, unknown> {
  return {
    brokers: connection.brokers,
    clientId: connection.clientId,
    tls: connection.ssl ? (typeof connection.ssl === 'object' ? 'custom-ca' : true) : false,
    sasl: connection.sasl
      ? { mechanism: connection.sasl.mechanism, username: connection.sasl.username }
      : undefined,
  };
}
