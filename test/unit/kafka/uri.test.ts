import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../core/errors.js';
import {
  describeConnection,
  kafkaSecurityFromEnv,
  parseKafkaUri,
  redact,
  redactUri,
} from '../../../pipeline/kafka/uri.js';

describe('parseKafkaUri', () => {
  it('parses brokers, topic and every parameter', () => {
    const uri = parseKafkaUri(
      'kafka://a:9092,b.example:19092/texts.in?group=g1&clientId=c1&fromBeginning=true&partitions=12&concurrency=4&transactionalId=tx-1',
      {},
    );
    assert.deepEqual(uri, {
      connection: { brokers: ['a:9092', 'b.example:19092'], clientId: 'c1' },
      topic: 'texts.in',
      group: 'g1',
      offsetReset: 'earliest',
      partitions: 12,
      concurrency: 4,
      transactionalIdPrefix: 'tx-1',
    });
  });

  it('defaults clientId and offsetReset (earliest, as Kafka Streams), leaves the rest unset', () => {
    const uri = parseKafkaUri('kafka://127.0.0.1:9092/t', {});
    assert.equal(uri.connection.clientId, 'rnnstream');
    assert.equal(uri.offsetReset, 'earliest');
    assert.equal(uri.group, undefined);
    assert.equal(uri.connection.ssl, undefined);
    assert.equal(uri.connection.sasl, undefined);
  });

  it('reads offsetReset, and fromBeginning as its older spelling', () => {
    const reset = (query: string) => parseKafkaUri(`kafka://h:9092/t?${query}`, {}).offsetReset;
    assert.equal(reset('offsetReset=latest'), 'latest');
    assert.equal(reset('offsetReset=earliest'), 'earliest');
    assert.equal(reset('fromBeginning=false'), 'latest');
    assert.equal(reset('fromBeginning=true'), 'earliest');
    assert.equal(reset('fromBeginning=true&offsetReset=earliest'), 'earliest');
    assert.equal(
      parseKafkaUri('kafka://h:9092/t?transactionalIdPrefix=app', {}).transactionalIdPrefix,
      'app',
    );
  });

  it('turns TLS on for kafkas://', () => {
    assert.equal(parseKafkaUri('kafkas://h:9093/t', {}).connection.ssl, true);
  });

  it('accepts a bracketed IPv6 broker', () => {
    assert.deepEqual(parseKafkaUri('kafka://[::1]:9092/t', {}).connection.brokers, ['[::1]:9092']);
  });

  const bad: [string, RegExp][] = [
    ['http://h:9092/t', /not a Kafka URI/],
    ['kafka:///t', /names no broker/],
    ['kafka://h/t', /bad broker 'h'/],
    ['kafka://h:99999/t', /bad broker/],
    ['kafka://h:9092,/t', /names no broker/],
    ['kafka://h:9092', /names no topic/],
    ['kafka://h:9092/', /names no topic/],
    ['kafka://h:9092/bad topic', /bad topic name/],
    ['kafka://h:9092/t?grop=x', /unknown parameter 'grop'/],
    ['kafka://h:9092/t?partitions=0', /'partitions' must be a positive integer/],
    ['kafka://h:9092/t?partitions=abc', /'partitions' must be a positive integer/],
    ['kafka://h:9092/t?fromBeginning=yes', /'fromBeginning' must be true or false/],
    ['kafka://h:9092/t?offsetReset=beginning', /'offsetReset' must be earliest or latest/],
    ['kafka://h:9092/t?offsetReset=latest&fromBeginning=true', /contradicts 'offsetReset=latest'/],
    ['kafka://h:9092/t?group=', /'group' is empty/],
  ];
  for (const [uri, message] of bad) {
    it(`refuses ${uri}`, () => {
      assert.throws(
        () => parseKafkaUri(uri, {}),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    });
  }

  it('refuses credentials in the URI without echoing the password', () => {
    assert.throws(
      () => parseKafkaUri('kafka://alice:s3cret@h:9092/t', {}),
      (e: unknown) =>
        e instanceof ConfigError &&
        !e.message.includes('s3cret') &&
        e.message.includes('RNNSTREAM_KAFKA_SASL_PASSWORD'),
    );
  });

  it('takes SASL and TLS from the environment', () => {
    const uri = parseKafkaUri('kafka://h:9092/t', {
      RNNSTREAM_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      RNNSTREAM_KAFKA_SASL_USERNAME: 'alice',
      RNNSTREAM_KAFKA_SASL_PASSWORD: 'pw',
      RNNSTREAM_KAFKA_TLS: 'true',
    });
    assert.deepEqual(uri.connection.sasl, { mechanism: 'scram-sha-512', username: 'alice', password: 'pw' });
    assert.equal(uri.connection.ssl, true);
  });
});

describe('kafkaSecurityFromEnv', () => {
  it('is empty with no variables', () => {
    assert.deepEqual(kafkaSecurityFromEnv({}), {});
  });

  it('reads a CA file into the TLS options', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnnstream-ca-'));
    const file = join(dir, 'ca.pem');
    writeFileSync(file, 'CA BYTES');
    const { ssl } = kafkaSecurityFromEnv({ RNNSTREAM_KAFKA_TLS_CA_FILE: file });
    assert.ok(typeof ssl === 'object');
    assert.deepEqual(ssl.ca, [Buffer.from('CA BYTES')]);
  });

  it('names the variable when the CA file is missing', () => {
    assert.throws(
      () => kafkaSecurityFromEnv({ RNNSTREAM_KAFKA_TLS_CA_FILE: '/nonexistent/ca.pem' }),
      (e: unknown) => e instanceof ConfigError && /RNNSTREAM_KAFKA_TLS_CA_FILE/.test(e.message),
    );
  });

  it('refuses an unknown mechanism, a bad TLS flag and half-given credentials', () => {
    assert.throws(
      () => kafkaSecurityFromEnv({ RNNSTREAM_KAFKA_SASL_MECHANISM: 'gssapi' }),
      /RNNSTREAM_KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512/,
    );
    assert.throws(
      () => kafkaSecurityFromEnv({ RNNSTREAM_KAFKA_TLS: 'maybe' }),
      /RNNSTREAM_KAFKA_TLS must be true or false/,
    );
    assert.throws(
      () =>
        kafkaSecurityFromEnv({ RNNSTREAM_KAFKA_SASL_MECHANISM: 'plain', RNNSTREAM_KAFKA_SASL_PASSWORD: 'x' }),
      /RNNSTREAM_KAFKA_SASL_USERNAME is required/,
    );
    assert.throws(
      () =>
        kafkaSecurityFromEnv({ RNNSTREAM_KAFKA_SASL_MECHANISM: 'plain', RNNSTREAM_KAFKA_SASL_USERNAME: 'u' }),
      /RNNSTREAM_KAFKA_SASL_PASSWORD is required/,
    );
    assert.throws(
      () => kafkaSecurityFromEnv({ RNNSTREAM_KAFKA_SASL_USERNAME: 'u', RNNSTREAM_KAFKA_SASL_PASSWORD: 'p' }),
      /RNNSTREAM_KAFKA_SASL_MECHANISM must be set/,
    );
  });

  it('keeps the password out of error messages', () => {
    try {
      kafkaSecurityFromEnv({
        RNNSTREAM_KAFKA_SASL_MECHANISM: 'nope',
        RNNSTREAM_KAFKA_SASL_PASSWORD: 'hunter2',
      });
      assert.fail('should throw');
    } catch (e) {
      assert.ok(!(e as Error).message.includes('hunter2'));
    }
  });
});

describe('redaction', () => {
  it('redact replaces every occurrence of each secret', () => {
    assert.equal(
      redact('pw=abc; again abc; other xyz', ['abc', 'xyz', undefined, '']),
      'pw=***; again ***; other ***',
    );
  });

  it('redactUri hides the user-info password only', () => {
    assert.equal(redactUri('kafka://alice:s3cret@h:9092/t'), 'kafka://alice:***@h:9092/t');
    assert.equal(redactUri('kafka://h:9092/t?group=g'), 'kafka://h:9092/t?group=g');
  });

  it('describeConnection never shows the password', () => {
    const described = describeConnection({
      brokers: ['h:9092'],
      clientId: 'c',
      ssl: true,
      sasl: { mechanism: 'plain', username: 'alice', password: 'hunter2' },
    });
    assert.ok(!JSON.stringify(described).includes('hunter2'));
    assert.deepEqual(described.sasl, { mechanism: 'plain', username: 'alice' });
  });
});
