import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SourceRecord } from '../../../core/contracts.js';
import {
  CONTEXT_KEY_CHARS,
  ConfigError,
  PoisonInputError,
  RnnstreamError,
  recordContext,
  TransientError,
} from '../../../core/errors.js';

const record = (key: Buffer | null): SourceRecord => ({
  key,
  value: Buffer.from('{}'),
  source: { topic: 'in', partition: 3, offset: '9007199254740993' },
});

describe('error context', () => {
  it('recordContext: the source coordinates and the decoded key, the offset kept exact as a string', () => {
    assert.deepStrictEqual(recordContext(record(Buffer.from('raw')), 'decoded'), {
      topic: 'in',
      partition: 3,
      offset: '9007199254740993',
      key: 'decoded',
    });
    assert.equal(recordContext(record(Buffer.from('raw'))).key, 'raw');
    assert.equal('key' in recordContext(record(null)), false, 'no key: no key field');
  });

  it('recordContext: a long key is cut to CONTEXT_KEY_CHARS characters and marked', () => {
    const key = recordContext(record(Buffer.from('k'.repeat(CONTEXT_KEY_CHARS + 50)))).key;
    assert.equal(key, `${'k'.repeat(CONTEXT_KEY_CHARS)}…`);
    assert.equal(
      recordContext(record(null), 'k'.repeat(CONTEXT_KEY_CHARS)).key,
      'k'.repeat(CONTEXT_KEY_CHARS),
    );
  });

  it('every error class carries the context it was given, and none when given none', () => {
    const context = { topic: 'in', partition: 0, offset: '5', key: 'a' };
    const errors = [
      new RnnstreamError('m', { context }),
      new PoisonInputError('bad', 'm', { context }),
      new TransientError('m', { context }),
      new ConfigError('m', { context }),
    ];
    for (const error of errors) {
      assert.deepStrictEqual(error.context, context, error.name);
      assert.equal(error.message, 'm', 'the coordinates stay out of the message');
    }
    assert.equal(new TransientError('m').retriable, true);
    assert.equal(new PoisonInputError('bad', 'm', { context }).retriable, false);
    assert.equal('context' in new RnnstreamError('m'), false);
  });
});
