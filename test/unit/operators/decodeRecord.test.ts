import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import type { InputMessage, Routed, SourceRecord } from '../../../core/contracts.js';
import { ConfigError } from '../../../core/errors.js';
import {
  DEFAULT_DECODE_RECORD_OPTIONS,
  type DecodeRecordOptions,
  decodeOne,
  decodeRecord,
} from '../../../operators/decodeRecord.js';

function record(
  value: Buffer | string | null,
  key: Buffer | string | null = 'k1',
  offset = '0',
): SourceRecord {
  return {
    key: typeof key === 'string' ? Buffer.from(key) : key,
    value: typeof value === 'string' ? Buffer.from(value) : value,
    source: { topic: 'in', partition: 0, offset },
  };
}

function decode(rec: SourceRecord, options: DecodeRecordOptions = {}): Routed<InputMessage> {
  return decodeOne(rec, { ...DEFAULT_DECODE_RECORD_OPTIONS, ...options });
}

function reasonOf(routed: Routed<InputMessage>): string {
  assert.equal(routed.ok, false, 'expected a dead letter');
  if (routed.ok) throw new Error('unreachable');
  assert.equal(routed.dead.stage, 'decode');
  return routed.dead.reason;
}

function messageOf(routed: Routed<InputMessage>): InputMessage {
  if (!routed.ok) throw new Error(`expected a value, got dead letter ${routed.dead.reason}`);
  return routed.value;
}

describe('decodeRecord', () => {
  it('decodes a stream of records in order, dead letters inline (marbles)', () => {
    const good = record('{"text":"hi","id":"m1"}', 'k1', '1');
    const bad = record('{nope', 'k1', '2');
    const end = record('{"text":"","end":true}', 'k1', '3');
    new TestScheduler((a, e) => assert.deepStrictEqual(a, e)).run(({ cold, expectObservable }) => {
      const out$ = cold('a-b-c|', { a: good, b: bad, c: end }).pipe(decodeRecord());
      expectObservable(out$).toBe('a-b-c|', {
        a: { ok: true, value: { key: 'k1', text: 'hi', end: false, id: 'm1', record: good } },
        b: {
          ok: false,
          dead: { record: bad, reason: 'invalid-json', stage: 'decode', detail: reasonDetail(bad) },
        },
        c: { ok: true, value: { key: 'k1', text: '', end: true, record: end } },
      });
    });
  });

  it('propagates source errors', () => {
    new TestScheduler((a, e) => assert.deepStrictEqual(a, e)).run(({ cold, expectObservable }) => {
      expectObservable(cold<SourceRecord>('-#', {}, new Error('boom')).pipe(decodeRecord())).toBe(
        '-#',
        {},
        new Error('boom'),
      );
    });
  });

  it('json: ignores other fields, keeps text verbatim, takes a JSON key only when the record has none', () => {
    const m = messageOf(decode(record('{"text":"  Hello  ","extra":1,"key":"other"}', 'k1')));
    assert.equal(m.key, 'k1');
    assert.equal(m.text, '  Hello  ');
    assert.equal(m.end, false);
    assert.equal(m.id, undefined);
    assert.equal(messageOf(decode(record('{"text":"x","key":"from-json"}', null))).key, 'from-json');
    assert.equal(messageOf(decode(record('{"text":"x","key":"from-json"}', ''))).key, 'from-json');
  });

  it('text: the value is the text, the key must come from the record', () => {
    const m = messageOf(decode(record('{"text":"not parsed"}', 'k'), { format: 'text' }));
    assert.equal(m.text, '{"text":"not parsed"}');
    assert.equal(m.end, false);
    assert.equal(reasonOf(decode(record('hello', null), { format: 'text' })), 'missing-key');
  });

  const cases: [string, SourceRecord, DecodeRecordOptions, string][] = [
    ['invalid UTF-8 value', record(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), {}, 'invalid-utf8'],
    ['invalid UTF-8 value (text)', record(Buffer.from([0xc3, 0x28])), { format: 'text' }, 'invalid-utf8'],
    ['invalid UTF-8 key', record('{"text":"x"}', Buffer.from([0xff])), {}, 'invalid-utf8'],
    ['truncated JSON', record('{"text":"x"'), {}, 'invalid-json'],
    ['JSON array', record('["text"]'), {}, 'invalid-json'],
    ['JSON null', record('null'), {}, 'invalid-json'],
    ['null key', record('{"text":"x"}', null), {}, 'missing-key'],
    ['empty key', record('{"text":"x"}', ''), {}, 'missing-key'],
    ['empty JSON key', record('{"text":"x","key":""}', null), {}, 'missing-key'],
    ['key over the limit', record('{"text":"x"}', 'k'.repeat(11)), { maxKeyBytes: 10 }, 'key-too-large'],
    [
      'JSON key over the limit',
      record('{"text":"x","key":"ééééé!"}', null),
      { maxKeyBytes: 10 },
      'key-too-large',
    ],
    ['text missing', record('{"end":true}'), {}, 'text-not-string'],
    ['text a number', record('{"text":5}'), {}, 'text-not-string'],
    ['empty text', record('{"text":""}'), {}, 'empty-text'],
    ['whitespace text', record('{"text":" \\n\\t "}'), {}, 'empty-text'],
    ['empty text, end false', record('{"text":"","end":false}'), {}, 'empty-text'],
    ['empty raw text', record(''), { format: 'text' }, 'empty-text'],
    ['null value', record(null), { format: 'text' }, 'empty-text'],
    [
      'value over the limit',
      record(`{"text":"${'a'.repeat(100)}"}`),
      { maxValueBytes: 50 },
      'value-too-large',
    ],
    ['end not boolean', record('{"text":"x","end":"yes"}'), {}, 'invalid-field'],
    ['id not string', record('{"text":"x","id":7}'), {}, 'invalid-field'],
    ['JSON key not string', record('{"text":"x","key":7}', null), {}, 'invalid-field'],
  ];
  for (const [name, rec, options, reason] of cases) {
    it(`dead-letters ${name} as ${reason}`, () => {
      const routed = decode(rec, options);
      assert.equal(reasonOf(routed), reason);
      if (!routed.ok) {
        assert.equal(routed.dead.record, rec, 'the original record travels with the dead letter');
        assert.ok(routed.dead.detail, 'a detail says what was wrong');
      }
    });
  }

  it('accepts values and keys exactly at the limits', () => {
    const value = `{"text":"${'a'.repeat(40)}"}`;
    assert.equal(
      decode(record(value, 'k'.repeat(10)), { maxValueBytes: value.length, maxKeyBytes: 10 }).ok,
      true,
    );
  });

  it('accepts {"text":"","end":true} as an end-of-sequence marker', () => {
    const m = messageOf(decode(record('{"text":"","end":true,"id":"close"}')));
    assert.deepEqual([m.text, m.end, m.id], ['', true, 'close']);
  });

  it('never throws on arbitrary bytes', () => {
    for (let seed = 0; seed < 200; seed++) {
      const bytes = Buffer.from(Array.from({ length: seed % 17 }, (_, i) => (seed * 31 + i * 97) % 256));
      for (const format of ['json', 'text'] as const) {
        assert.doesNotThrow(() => decode(record(bytes, bytes), { format }));
      }
    }
  });

  it('refuses bad options with a message naming the option', () => {
    assert.throws(
      () => decodeRecord({ maxValueBytes: 0 }),
      (e: unknown) => e instanceof ConfigError && /maxValueBytes/.test(e.message),
    );
    assert.throws(() => decodeRecord({ format: 'xml' as 'json' }), /format/);
  });
});

function reasonDetail(rec: SourceRecord): string | undefined {
  const routed = decode(rec);
  return routed.ok ? undefined : routed.dead.detail;
}
