import { map, type OperatorFunction } from 'rxjs';
import type { DeadLetter, InputMessage, Routed, SourceRecord } from '../core/contracts.js';
import { ConfigError } from '../core/errors.js';

/** How a record's value is read. */
export type InputFormat = 'json' | 'text';

/** Options of {@link decodeRecord}. */
export interface DecodeRecordOptions {
  /**
   * `json`: the value is `{"text": string, "end"?: boolean, "id"?: string, "key"?: string}` (other fields
   * ignored; `key` is used only when the record has none, as file sources put it in the JSON).
   * `text`: the value is the raw UTF-8 text.
   * @default 'json'
   */
  format?: InputFormat;
  /** Largest accepted value, in bytes. @default 65536 */
  maxValueBytes?: number;
  /** Largest accepted key, in UTF-8 bytes. @default 1024 */
  maxKeyBytes?: number;
}

/** Defaults of {@link DecodeRecordOptions}. */
export const DEFAULT_DECODE_RECORD_OPTIONS: Required<DecodeRecordOptions> = {
  format: 'json',
  maxValueBytes: 64 * 1024,
  maxKeyBytes: 1024,
};

/** The reasons {@link decodeRecord} gives its dead letters. */
export type DecodeReason =
  | 'invalid-utf8'
  | 'invalid-json'
  | 'missing-key'
  | 'key-too-large'
  | 'text-not-string'
  | 'empty-text'
  | 'value-too-large'
  | 'invalid-field';

/**
 * Decodes and validates raw source records into input messages; bad input becomes a dead letter
 * (stage `decode`), never an error.
 *
 * @example
 * records$.pipe(decodeRecord({ format: 'json' }), routeDeadLetters(dlq.enqueue))
 */
export function decodeRecord(
  options: DecodeRecordOptions = {},
): OperatorFunction<SourceRecord, Routed<InputMessage>> {
  const config = { ...DEFAULT_DECODE_RECORD_OPTIONS, ...options };
  for (const name of ['maxValueBytes', 'maxKeyBytes'] as const) {
    if (!Number.isInteger(config[name]) || config[name] < 1) {
      throw new ConfigError(`${name} must be a positive integer (got ${config[name]})`);
    }
  }
  if (config.format !== 'json' && config.format !== 'text') {
    throw new ConfigError(`format must be 'json' or 'text' (got ${String(config.format)})`);
  }
  return map((record) => decodeOne(record, config));
}

/** Decodes one record (the pure function behind {@link decodeRecord}). */
export function decodeOne(
  record: SourceRecord,
  options: Required<DecodeRecordOptions>,
): Routed<InputMessage> {
  const dead = (reason: DecodeReason, detail: string): Routed<InputMessage> => ({
    ok: false,
    dead: { record, reason, stage: 'decode', detail } satisfies DeadLetter,
  });

  // Size first: a huge value is refused before any work is spent decoding it.
  const value = record.value;
  if (value !== null && value.length > options.maxValueBytes) {
    return dead('value-too-large', `value is ${value.length} bytes, limit ${options.maxValueBytes}`);
  }

  let key: string | undefined;
  if (record.key !== null && record.key.length > 0) {
    if (record.key.length > options.maxKeyBytes) {
      return dead('key-too-large', `key is ${record.key.length} bytes, limit ${options.maxKeyBytes}`);
    }
    const decodedKey = utf8(record.key);
    if (decodedKey === undefined) return dead('invalid-utf8', 'key is not valid UTF-8');
    key = decodedKey;
  }

  const raw = value === null ? '' : utf8(value);
  if (raw === undefined) return dead('invalid-utf8', 'value is not valid UTF-8');

  let text: string;
  let end = false;
  let id: string | undefined;
  if (options.format === 'text') {
    text = raw;
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      return dead('invalid-json', (error as Error).message);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return dead('invalid-json', 'value is not a JSON object');
    }
    const fields = parsed as Record<string, unknown>;
    if (typeof fields.text !== 'string') {
      return dead('text-not-string', `text is ${fields.text === undefined ? 'missing' : typeof fields.text}`);
    }
    text = fields.text;
    if (fields.end !== undefined) {
      if (typeof fields.end !== 'boolean') return dead('invalid-field', 'end must be a boolean');
      end = fields.end;
    }
    if (fields.id !== undefined) {
      if (typeof fields.id !== 'string') return dead('invalid-field', 'id must be a string');
      id = fields.id;
    }
    if (key === undefined && fields.key !== undefined) {
      if (typeof fields.key !== 'string') return dead('invalid-field', 'key must be a string');
      if (Buffer.byteLength(fields.key, 'utf8') > options.maxKeyBytes) {
        return dead('key-too-large', `key is over ${options.maxKeyBytes} bytes`);
      }
      if (fields.key.length > 0) key = fields.key;
    }
  }

  if (key === undefined) return dead('missing-key', 'the record has no key');
  // `{"text": "", "end": true}` is how a producer closes a sequence without adding text.
  if (text.trim().length === 0 && !end) return dead('empty-text', 'text is empty or whitespace');

  const message: InputMessage = { key, text, end, record };
  if (id !== undefined) message.id = id;
  return { ok: true, value: message };
}

// One decoder for every call: `fatal` makes malformed bytes an error instead of U+FFFD replacements.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}
