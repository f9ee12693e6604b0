import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { DeadLetter } from '../../../core/contracts.js';
import { RnnstreamError, TransientError } from '../../../core/errors.js';
import { createLogger, deadLetterFields, errorLine } from '../../../pipeline/logger.js';

/** A logger writing its JSON lines into an array. */
function capture(): { lines: Record<string, unknown>[]; log: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: createLogger('info', stream) };
}

const context = { topic: 'in', partition: 2, offset: '41', key: 'session-7' };

describe('logger', () => {
  it("an error's record context is logged as top-level fields, not nested in err", () => {
    const { lines, log } = capture();
    log.child({ ns: 'run' }).error({ err: new TransientError('state-load failed', { context }) }, 'failed');
    const [line] = lines;
    assert.equal(line.topic, 'in');
    assert.equal(line.partition, 2);
    assert.equal(line.offset, '41');
    assert.equal(line.key, 'session-7');
    const err = line.err as Record<string, unknown>;
    assert.equal(err.message, 'state-load failed');
    assert.equal(err.type, 'TransientError');
    assert.equal(err.retriable, true);
    assert.equal('context' in err, false);
  });

  it("fields the call gives win over the error's context; errors without context log as before", () => {
    const { lines, log } = capture();
    log.warn({ err: new RnnstreamError('m', { context }), topic: 'out' }, 'x');
    log.warn({ err: new Error('plain') }, 'y');
    assert.equal(lines[0].topic, 'out');
    assert.equal(lines[0].key, 'session-7');
    assert.equal('topic' in lines[1], false);
    assert.equal((lines[1].err as { message: string }).message, 'plain');
  });

  it('deadLetterFields: reason, stage, detail and the record as fields', () => {
    const dead: DeadLetter = {
      record: {
        key: Buffer.from('session-7'),
        value: null,
        source: { topic: 'in', partition: 2, offset: '41' },
      },
      reason: 'invalid-json',
      stage: 'decode',
      detail: 'Unexpected token',
    };
    assert.deepStrictEqual(deadLetterFields(dead), {
      reason: 'invalid-json',
      stage: 'decode',
      ...context,
      detail: 'Unexpected token',
    });
  });

  it('errorLine: the message, then the record it is about', () => {
    assert.equal(
      errorLine(new RnnstreamError('stored state is unusable (truncated)', { context })),
      'stored state is unusable (truncated) (topic in, partition 2, offset 41, key "session-7")',
    );
    assert.equal(errorLine(new RnnstreamError('no context')), 'no context');
    assert.equal(errorLine(new RnnstreamError('partly', { context: { topic: 'in' } })), 'partly (topic in)');
  });
});
