import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs, { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { RnnstreamError, TransientError } from '../../../core/errors.js';
import {
  type KafkaLogger,
  kafkaLogCreator,
  kafkaLogger,
  toKafkaError,
} from '../../../pipeline/kafka/client.js';

// kafkajs is CommonJS and spreads its error classes into module.exports: Node sees them on the default export only.
const { KafkaJSError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded } = kafkajs;

function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  const logger: KafkaLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

describe('kafkaLogCreator', () => {
  it('maps kafkajs levels, namespaces and fields onto the logger', () => {
    const { logger, lines } = recordingLogger();
    const log = kafkaLogCreator(logger)();
    log({
      namespace: 'Consumer',
      level: logLevel.WARN,
      label: 'WARN',
      log: { timestamp: 't', message: 'slow', groupId: 'g' },
    });
    log({ namespace: '', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'down' } });
    log({ namespace: 'X', level: logLevel.DEBUG, label: 'DEBUG', log: { timestamp: 't', message: 'dbg' } });
    assert.deepEqual(lines, [
      { level: 'warn', obj: { component: 'kafkajs.Consumer', groupId: 'g' }, msg: 'slow' },
      { level: 'error', obj: { component: 'kafkajs' }, msg: 'down' },
      { level: 'debug', obj: { component: 'kafkajs.X' }, msg: 'dbg' },
    ]);
  });

  it('never logs a secret', () => {
    const { logger, lines } = recordingLogger();
    const log = kafkaLogCreator(logger, ['hunter2'])();
    log({
      namespace: 'SASL',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: 't', message: 'auth hunter2 failed', detail: 'pw=hunter2' },
    });
    assert.ok(!JSON.stringify(lines).includes('hunter2'));
    assert.equal(lines[0].msg, 'auth *** failed');
  });
});

describe('kafkaLogger', () => {
  it('tags connector and kafkajs lines once each: one "ns" (the command\'s), one "component"', () => {
    const lines: string[] = [];
    const root = pino({ base: { app: 'rnnstream' } }, { write: (line: string) => lines.push(line) });
    const log = kafkaLogger(root.child({ ns: 'run' }));
    log.info({ topic: 't' }, 'kafka source started');
    kafkaLogCreator(log)()({
      namespace: 'Consumer',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: 't', message: 'crash', groupId: 'g' },
    });
    assert.equal(lines.length, 2);
    const count = (line: string, key: string) => line.split(`"${key}":`).length - 1;
    for (const line of lines) {
      // Counted in the raw line: JSON.parse keeps the last of two equal keys and would hide a repeat.
      assert.equal(count(line, 'ns'), 1, line);
      assert.equal(count(line, 'component'), 1, line);
    }
    assert.deepEqual(
      lines.map((line) => {
        const { ns, component, msg } = JSON.parse(line);
        return [ns, component, msg];
      }),
      [
        ['run', 'kafka', 'kafka source started'],
        ['run', 'kafkajs.Consumer', 'crash'],
      ],
    );
  });
});

describe('toKafkaError', () => {
  it('retriable kafkajs errors become TransientError, with the cause kept', () => {
    const cause = new KafkaJSError('leader not available', { retriable: true });
    const error = toKafkaError(cause, 'send');
    assert.ok(error instanceof TransientError);
    assert.equal(error.cause, cause);
    assert.match(error.message, /^send: KafkaJSError: leader not available/);
  });

  it('retries exhausted on a retriable cause stay transient', () => {
    const inner = new KafkaJSError('connection refused', { retriable: true });
    const error = toKafkaError(
      new KafkaJSNumberOfRetriesExceeded(inner, { retryCount: 5, retryTime: 100 }),
      'x',
    );
    assert.ok(error instanceof TransientError);
  });

  it('non-retriable kafkajs errors are fatal; programmer errors pass through', () => {
    const fatal = toKafkaError(new KafkaJSNonRetriableError('fenced'), 'commit');
    assert.ok(fatal instanceof RnnstreamError);
    assert.equal(fatal.retriable, false);
    const bug = new TypeError('oops');
    assert.equal(toKafkaError(bug, 'x'), bug);
  });
});
